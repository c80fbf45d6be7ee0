/**
 * The notification router (issue #5): the `EventSink` every component emits into.
 *
 * - `emit(event)` never throws and never waits: it folds the event into a view (one per release,
 *   see state.ts), matches the routes and marks the view's message dirty in each matching
 *   destination's lane.
 * - Each destination has one lane (lane.ts): an ordered set of dirty message keys, drained by one
 *   worker under that destination's rate limits. A message is rendered from the view when it is
 *   sent, so a burst of events for one release becomes one message with the latest state
 *   (coalescing); an already-sent message is updated in place or threaded under its root; a burst
 *   of new releases becomes one digest (digest.ts). Routing rules are in routes.ts.
 * - Failures are retried in the lane; one destination's failures never delay another.
 * - Everything that leaves (message and events) goes through the `Redactor` first.
 */

import type { NotificationsConfig, RouteConfig } from "../config/notifications.js";
import type { EventSink, GitopsEvent } from "../core/events.js";
import type { Message } from "../core/message.js";
import { type Logger, nullLogger } from "../core/ports.js";
import type { Redactor } from "../core/redact.js";
import type { Lock } from "../core/release.js";
import { digestItemMessage, maybeDigest } from "./digest.js";
import { fluxcloudMessage } from "./format/fluxcloud.js";
import { CommitLinker } from "./format/links.js";
import { detailMessage, richMessage } from "./format/rich.js";
import type { FetchLike } from "./http.js";
import {
  type Item,
  Lane,
  type NotificationCounters,
  type RouterDestination,
  realTimer,
  type Timer,
  zero,
} from "./lane.js";
import type { HandedOver, MessageLedger } from "./ledger.js";
import type { Notifier } from "./notifier.js";
import { createProvider } from "./providers/index.js";
import type { TeamsConversationSender } from "./providers/teams.js";
import { matches } from "./routes.js";
import { isEmptySync, ViewStore } from "./state.js";

export type { NotificationCounters, RouterDestination, Timer } from "./lane.js";
export { realTimer } from "./lane.js";

export interface RouterOptions {
  destinations: RouterDestination[];
  /** Routing rules; empty: every event to every destination. */
  routes?: RouteConfig[];
  redactor: Redactor;
  logger?: Logger;
  /** Repo URL for commit links (credentials are stripped). */
  repoUrl?: string;
  envOrder?: string[];
  lockOf?: (env: string, app: string) => Lock | undefined;
  /** Shares release origins and message refs with other replicas and across restarts (ledger.ts). */
  ledger?: MessageLedger;
  /** Tries per message for transient failures. Default 6. */
  maxAttempts?: number;
  /** First retry delay (doubles each time, capped at 60 s). Default 1000 ms. */
  backoffMs?: number;
  /** New releases waiting for one destination before they go out together as a digest. Default 4. */
  digestAfter?: number;
  /** Most releases in one digest. Default 15. */
  digestSize?: number;
  /** How long a post-only destination waits for a commit's sync before posting the commit alone. Default 60 s. */
  settleMs?: number;
  /**
   * Whether a reconciler reports on commits (a sync runs): only then does a post-only destination
   * hold a commit for its sync (issue #11). Default true; the composition root passes false when
   * no cluster reconciler runs, so the commit is posted at once.
   */
  holdForSync?: boolean;
  timer?: Timer;
}

export interface NotificationMetrics {
  /** Events received. */
  events: number;
  /** Events not posted anywhere (empty sync, no matching route). */
  skipped: number;
  total: NotificationCounters;
  destinations: Record<string, NotificationCounters>;
}

/**
 * The secret parts of a webhook URL: the whole URL, its last path segment (Slack's
 * `/services/T/B/<secret>`, Workflows ids), query values (`sig=`) and userinfo. A server that
 * echoes only the path in an error must not leak it either.
 */
export function urlSecrets(url: string | undefined): string[] {
  if (!url) return [];
  const out = [url];
  try {
    const u = new URL(url);
    const last = u.pathname.split("/").filter(Boolean).at(-1);
    if (last && last.length >= 8) out.push(last, decodeURIComponent(last));
    for (const v of u.searchParams.values()) if (v.length >= 8) out.push(v);
    if (u.password) out.push(decodeURIComponent(u.password));
  } catch {
    // Not a URL: the whole string is already in the list.
  }
  return out;
}

export class NotificationRouter implements EventSink, Notifier {
  private readonly store = new ViewStore();
  private readonly lanes: Lane[];
  private readonly routes: RouteConfig[];
  private readonly redactor: Redactor;
  private readonly logger: Logger;
  private readonly timer: Timer;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly digestAfter: number;
  private readonly digestSize: number;
  private readonly settleMs: number;
  private readonly stopping = new AbortController();
  /** Set by `stop`: nothing is held for a sync any more. */
  private draining = false;
  private events = 0;
  private skipped = 0;
  /** With a ledger, events pass through here in order (a lookup may precede routing). */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RouterOptions) {
    this.routes = opts.routes ?? [];
    this.redactor = opts.redactor;
    this.logger = (opts.logger ?? nullLogger).child({ component: "notifications" });
    this.timer = opts.timer ?? realTimer;
    this.maxAttempts = opts.maxAttempts ?? 6;
    this.backoffMs = opts.backoffMs ?? 1000;
    this.digestAfter = Math.max(2, opts.digestAfter ?? 4);
    this.digestSize = Math.max(2, opts.digestSize ?? 15);
    this.settleMs = opts.settleMs ?? 60_000;
    const ctx = {
      timer: this.timer,
      signal: this.stopping.signal,
      maxAttempts: this.maxAttempts,
      backoffMs: this.backoffMs,
      redactor: this.redactor,
      logger: this.logger,
      render: (lane: Lane, item: Item) => this.message(lane, item),
      digest: (lane: Lane, first: Item, now: number) =>
        maybeDigest(lane, first, now, { digestAfter: this.digestAfter, digestSize: this.digestSize }),
    };
    this.lanes = opts.destinations.map(
      (d) => new Lane(d, new CommitLinker(opts.repoUrl, d.templates?.commitLink), ctx),
    );
  }

  /**
   * Builds the router from the `notifications` config section. Secrets of every destination
   * (tokens, webhook secrets and URLs) are added to the redactor.
   */
  static fromConfig(
    cfg: { notifications: NotificationsConfig; repo: { url: string } },
    deps: {
      redactor: Redactor;
      logger?: Logger;
      fetch?: FetchLike;
      slackToken?: string;
      /** The Slack platform's API URL (`slack.apiUrl`), for destinations without their own. */
      slackApiUrl?: string | undefined;
      teamsSender?: TeamsConversationSender;
      ledger?: MessageLedger;
      lockOf?: (env: string, app: string) => Lock | undefined;
      timer?: Timer;
      backoffMs?: number;
      settleMs?: number;
      holdForSync?: boolean;
    },
  ): NotificationRouter {
    const n = cfg.notifications;
    const secrets: (string | undefined)[] = [deps.slackToken];
    const destinations: RouterDestination[] = n.destinations.map((d) => {
      if (d.type === "slack") secrets.push(d.token, ...urlSecrets(d.webhookUrl));
      if (d.type === "teams") secrets.push(...urlSecrets(d.url));
      if (d.type === "webhook") secrets.push(d.secret, ...urlSecrets(d.url));
      const templates = { ...n.templates, ...d.templates };
      const provider = createProvider(d, {
        fetch: deps.fetch ?? ((url, init) => fetch(url, init)),
        ...(deps.slackToken === undefined ? {} : { slackToken: deps.slackToken }),
        ...(deps.slackApiUrl === undefined ? {} : { slackApiUrl: deps.slackApiUrl }),
        ...(deps.teamsSender === undefined ? {} : { teamsSender: deps.teamsSender }),
        ...(deps.ledger === undefined ? {} : { ledger: deps.ledger }),
      });
      return { provider, format: d.format ?? n.format, templates };
    });
    const opts: RouterOptions = {
      destinations,
      routes: n.routes,
      redactor: deps.redactor.with(secrets),
      maxAttempts: n.maxAttempts,
    };
    const repoUrl = n.repoUrl ?? cfg.repo.url;
    if (repoUrl) opts.repoUrl = repoUrl;
    if (n.envOrder) opts.envOrder = n.envOrder;
    if (deps.logger) opts.logger = deps.logger;
    if (deps.lockOf) opts.lockOf = deps.lockOf;
    if (deps.ledger) opts.ledger = deps.ledger;
    if (deps.timer) opts.timer = deps.timer;
    if (deps.backoffMs !== undefined) opts.backoffMs = deps.backoffMs;
    if (deps.settleMs !== undefined) opts.settleMs = deps.settleMs;
    if (deps.holdForSync !== undefined) opts.holdForSync = deps.holdForSync;
    return new NotificationRouter(opts);
  }

  /** Accepts an event; never throws, never waits for delivery. */
  emit(event: GitopsEvent): void {
    const ledger = this.opts.ledger;
    if (!ledger) {
      this.route(event);
      return;
    }
    this.chain = this.chain
      .then(() => this.rehydrate(ledger, event))
      .catch((err: unknown) =>
        this.logger.warn({ err: this.redactor.value(err) }, "could not look up the release in the ledger"),
      )
      .then(() => this.route(event));
  }

  /**
   * With a ledger: records the origin of a release, and before routing a sync or Helm result of a
   * release this process has not seen, folds in its origin as recorded by the replica that made
   * the commit, so the result updates that release's message with the full story.
   */
  private async rehydrate(ledger: MessageLedger, e: GitopsEvent): Promise<void> {
    if (e.kind === "command-commit" || e.kind === "auto-release") {
      ledger.saveOrigin(`release:${e.correlationId}`, this.redactor.value(e));
      return;
    }
    let ids: string[];
    if (e.kind === "sync") {
      if (isEmptySync(e)) return;
      ids = [...new Set([e.correlationId, e.toRevision, ...e.commits.map((c) => c.sha)])].filter(Boolean);
    } else if (e.kind === "helm") ids = [e.correlationId];
    else return;
    if (ids.some((id) => this.store.get(`release:${id}`))) return;
    for (const id of ids.slice(0, 20)) {
      const origin = await ledger.origin(`release:${id}`);
      if (origin && !this.store.get(`release:${id}`)) this.store.fold(origin);
    }
  }

  private route(event: GitopsEvent): void {
    try {
      this.events++;
      if (this.stopping.signal.aborted) return;
      const routed = new Set(
        this.routes.length === 0
          ? this.lanes
          : this.lanes.filter((l) =>
              this.routes.some((r) => r.to.includes(l.dest.provider.name) && matches(r, event)),
            ),
      );
      const fold = this.store.fold(event);
      const now = this.timer.now();
      let marked = false;
      for (const lane of this.lanes) {
        // A release already shown in a destination keeps being updated there, even by events its
        // routes do not match (an `error`-only channel also sees the rollback that followed).
        const views = fold.views.filter((v) => routed.has(lane) || lane.follows(v.key));
        if (views.length === 0) continue;
        for (const v of views) {
          lane.mark(v.key, v.key, undefined, event, now);
          if (!lane.dest.provider.canUpdate && this.opts.holdForSync !== false && !this.draining)
            lane.settle(v, now, this.settleMs);
        }
        for (const d of fold.details) {
          if (views.includes(d.view))
            lane.mark(`${d.view.key}:${d.detail}`, d.view.key, d.detail, event, now);
        }
        marked = true;
        lane.start();
      }
      if (!marked) this.skipped++;
    } catch (e) {
      this.logger.error(
        { err: this.redactor.value(e), event: (event as { id?: unknown } | null)?.id },
        "notification routing failed",
      );
    }
  }

  /**
   * Queues a ready-made message (a scheduled report) for the named destinations, under their rate
   * limits and retries like any other; `key` makes it a new message (or edits one posted under it).
   */
  postMessage(to: string[], key: string, message: Message): void {
    if (this.stopping.signal.aborted) return;
    const now = this.timer.now();
    for (const lane of this.lanes) {
      if (!to.includes(lane.dest.provider.name)) continue;
      lane.items.set(key, {
        key,
        kind: "message",
        view: key,
        version: 0,
        events: [],
        attempts: 0,
        notBefore: now,
        message,
      });
      lane.start();
    }
  }

  /** Emits and resolves once every destination has handled its queue (sent or given up). */
  async post(event: GitopsEvent): Promise<void> {
    this.emit(event);
    await this.idle();
  }

  /** Resolves when all lanes are empty. */
  async idle(): Promise<void> {
    for (;;) {
      const chain = this.chain;
      await chain;
      const running = this.lanes.map((l) => l.worker).filter((w): w is Promise<void> => w !== undefined);
      if (running.length === 0 && chain === this.chain) {
        await this.opts.ledger?.flush();
        return;
      }
      await Promise.all(running);
    }
  }

  /**
   * Stops accepting events; delivers what is queued at once (commits held for their sync on
   * post-only destinations included: no sync will come to this process now), waiting up to
   * `timeoutMs`. What is left (a destination that is down) is handed over to the replica that
   * starts next through the ledger (`resume`), or without a ledger dropped; either is logged with
   * how many.
   */
  async stop(timeoutMs = 5000): Promise<void> {
    this.draining = true;
    await this.chain;
    const now = this.timer.now();
    for (const lane of this.lanes) {
      let released = false;
      for (const item of lane.items.values()) {
        if (!item.held) continue;
        item.held = false;
        item.notBefore = now;
        released = true;
      }
      if (released) lane.start();
    }
    const deadline = new AbortController();
    const timeout = this.timer.sleep(timeoutMs, deadline.signal).then(() => "timeout" as const);
    const done = await Promise.race([this.idle().then(() => "idle" as const), timeout]);
    deadline.abort();
    this.stopping.abort();
    if (done === "timeout") {
      const left = this.lanes.reduce((n, l) => n + l.items.size, 0);
      const handed = await this.handOver();
      for (const l of this.lanes) l.items.clear();
      if (handed > 0)
        this.logger.warn(
          { handedOver: handed, dropped: left - handed },
          "notifications still queued at shutdown were handed over to the next replica that starts",
        );
      if (left > handed)
        this.logger.warn({ dropped: left - handed }, "notifications still queued at shutdown were dropped");
    }
  }

  /** At stop: the messages still queued, rendered now, into the ledger; how many were kept. */
  private async handOver(): Promise<number> {
    const ledger = this.opts.ledger;
    if (!ledger) return 0;
    let kept = 0;
    for (const lane of this.lanes) {
      const messages = [...lane.items.values()]
        .map((item) => ({ key: item.key, message: this.message(lane, item) }))
        .filter((m): m is HandedOver => m.message !== undefined)
        .map((m) => ({ key: m.key, message: this.redactor.value(m.message) }));
      if (messages.length === 0) continue;
      try {
        await ledger.handOver(lane.dest.provider.name, messages);
        kept += messages.length;
      } catch (err) {
        this.logger.warn({ err: this.redactor.value(err) }, "could not hand notifications over");
      }
    }
    return kept;
  }

  /**
   * At start: posts what a replica that stopped could not deliver (see `stop`), under the usual
   * rate limits and retries. Of two replicas starting at once, one takes them.
   */
  async resume(): Promise<void> {
    const ledger = this.opts.ledger;
    if (!ledger) return;
    for (const lane of this.lanes) {
      const name = lane.dest.provider.name;
      try {
        for (const m of await ledger.takeOver(name)) this.postMessage([name], m.key, m.message);
      } catch (err) {
        this.logger.warn({ err: this.redactor.value(err) }, "could not take over notifications");
      }
    }
  }

  /** A snapshot of the counters. */
  metrics(): NotificationMetrics {
    const total = zero();
    const destinations: Record<string, NotificationCounters> = {};
    for (const l of this.lanes) {
      destinations[l.dest.provider.name] = { ...l.counters };
      for (const k of Object.keys(total) as (keyof NotificationCounters)[]) total[k] += l.counters[k];
    }
    return { events: this.events, skipped: this.skipped, total, destinations };
  }

  private message(lane: Lane, item: Item): Message | undefined {
    if (item.kind === "message") return item.message;
    if (item.kind === "digest" || item.kind === "digest-details")
      return digestItemMessage(lane, item, this.store);
    const view = this.store.get(item.view);
    if (!view) return undefined;
    if (item.detail) return detailMessage(view, item.detail);
    if (lane.dest.format === "fluxcloud")
      return fluxcloudMessage(view, lane.linker, lane.dest.templates ?? {});
    const rich: Parameters<typeof richMessage>[1] = { linker: lane.linker };
    if (this.opts.envOrder) rich.envOrder = this.opts.envOrder;
    if (this.opts.lockOf) rich.lockOf = this.opts.lockOf;
    if (this.opts.holdForSync === false) rich.awaitsSync = false;
    return richMessage(view, rich);
  }
}
