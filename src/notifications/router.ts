/**
 * The notification router (issue #5): the `EventSink` every component emits into.
 *
 * - `emit(event)` never throws and never waits: it folds the event into a view (one per release,
 *   see state.ts), matches the routes and marks the view's message dirty in each matching
 *   destination's lane.
 * - Each destination has one lane: an ordered set of dirty message keys, drained by one worker
 *   under that destination's rate limits. A message is rendered from the view when it is sent,
 *   so a burst of events for one release becomes one message with the latest state (coalescing);
 *   an already-sent message is updated in place or threaded under its root.
 * - Failures: 429 waits for `Retry-After`; 5xx and network errors retry with exponential backoff
 *   up to `maxAttempts`; a permanent failure or the last attempt is logged once and counted as
 *   undeliverable. One destination's failures never delay another (separate lanes).
 * - Everything that leaves (message and events) goes through the `Redactor` first.
 */
import type { Config } from "../config/schema.js";
import type { EventSink, GitopsEvent } from "../core/events.js";
import type { Message } from "../core/message.js";
import { type Logger, nullLogger } from "../core/ports.js";
import type { Redactor } from "../core/redact.js";
import type { Lock } from "../core/release.js";
import type { RouteConfig } from "./config.js";
import { fluxcloudMessage } from "./format/fluxcloud.js";
import { CommitLinker } from "./format/links.js";
import { detailMessage, digestDetailsMessage, digestMessage, richMessage } from "./format/rich.js";
import type { FetchLike } from "./http.js";
import type { MessageLedger } from "./ledger.js";
import { DeliveryError, type NotificationProvider, type Notifier } from "./notifier.js";
import { createProvider } from "./providers/index.js";
import type { TeamsConversationSender } from "./providers/teams.js";
import { RateLimiter } from "./rate-limit.js";
import {
  type DetailKind,
  eventNamespaces,
  eventSeverity,
  isEmptySync,
  type View,
  ViewStore,
} from "./state.js";

/** Time source and sleep, injectable so tests do not wait in real time. */
export interface Timer {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realTimer: Timer = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        // Remove the listener: the stop signal lives as long as the router.
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/** One configured destination: its transport plus how to format for it. */
export interface RouterDestination {
  provider: NotificationProvider;
  format: "rich" | "fluxcloud";
  templates?: { title?: string; body?: string; commitLink?: string };
}

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

/** Counters, per destination and in total (exported on /metrics). */
export interface NotificationCounters {
  /** Messages (posts, updates, replies) accepted by the platform. */
  sent: number;
  /** Event -> message-key marks that joined an already pending message. */
  coalesced: number;
  /** 429 answers received. */
  rateLimited: number;
  /** Retries after a transient failure. */
  retries: number;
  /** Messages given up on (permanent failure or attempts exhausted). */
  undeliverable: number;
}

export interface NotificationMetrics {
  /** Events received. */
  events: number;
  /** Events not posted anywhere (empty sync, no matching route). */
  skipped: number;
  total: NotificationCounters;
  destinations: Record<string, NotificationCounters>;
}

interface Item {
  key: string;
  /** `root`/`detail`: one view's message or thread reply; `digest`/`digest-details`: a burst of views
   * in one message; `message`: a message built elsewhere (a scheduled report). */
  kind: "root" | "detail" | "digest" | "digest-details" | "message";
  /** The message of a `message` item. */
  message?: Message;
  /** View key, or for digests the digest key. */
  view: string;
  detail?: DetailKind;
  /** Bumped on every new mark, so a change that arrives during a send is not lost. */
  version: number;
  events: GitopsEvent[];
  attempts: number;
  notBefore: number;
  /** Held back (post-only destinations) until the sync that applies the commit arrives. */
  held?: boolean;
}

const zero = (): NotificationCounters => ({
  sent: 0,
  coalesced: 0,
  rateLimited: 0,
  retries: 0,
  undeliverable: 0,
});

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

/** Glob (only `*`) to an anchored regex. */
function glob(p: string): RegExp {
  return new RegExp(
    `^${p
      .split("*")
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
}

function matches(route: RouteConfig, e: GitopsEvent): boolean {
  const m = route.match;
  const any = (pats: string[] | undefined, values: (string | undefined)[]) =>
    !pats || values.some((v) => v !== undefined && pats.some((p) => glob(p).test(v)));
  if (m.kind && !m.kind.includes(e.kind)) return false;
  if (m.severity && !m.severity.includes(eventSeverity(e))) return false;
  if (!any(m.env, [e.env])) return false;
  if (!any(m.app, [e.app])) return false;
  if (!any(m.namespace, eventNamespaces(e))) return false;
  return true;
}

/** One destination's queue and worker. */
class Lane {
  readonly items = new Map<string, Item>();
  /** Keys delivered at least once (thread roots for replies), bounded. */
  readonly delivered = new Set<string>();
  /** View key -> digest key, for views that went out in a digest (their updates go there). */
  readonly alias = new Map<string, string>();
  /** Digest key -> its view keys. */
  readonly digests = new Map<string, string[]>();
  digestSeq = 0;
  readonly counters = zero();
  readonly limiter: RateLimiter;
  worker: Promise<void> | undefined;
  /** Set while the worker sleeps: cuts the sleep short. */
  wake: (() => void) | undefined;

  constructor(
    readonly dest: RouterDestination,
    readonly linker: CommitLinker,
  ) {
    this.limiter = new RateLimiter(dest.provider.rateLimits);
  }

  mark(key: string, view: string, detail: DetailKind | undefined, e: GitopsEvent, now: number): void {
    const digest = this.alias.get(view);
    if (digest) {
      // The view went out in a digest: update the digest (or its details reply) instead.
      if (detail) this.markKey(`${digest}:details`, "digest-details", digest, undefined, e, now);
      else this.markKey(digest, "digest", digest, undefined, e, now);
      return;
    }
    this.markKey(key, detail ? "detail" : "root", view, detail, e, now);
  }

  markKey(
    key: string,
    kind: Item["kind"],
    view: string,
    detail: DetailKind | undefined,
    e: GitopsEvent,
    now: number,
  ): void {
    const item = this.items.get(key);
    if (item) {
      item.version++;
      if (item.events.length < 100) item.events.push(e);
      this.counters.coalesced++;
      return;
    }
    const fresh: Item = { key, kind, view, version: 0, events: [e], attempts: 0, notBefore: now };
    if (detail) fresh.detail = detail;
    this.items.set(key, fresh);
  }

  /**
   * On a destination that cannot edit messages, a release commit is held until its sync (or Helm
   * result) arrives, at most `settleMs`, so the commit and the sync that applies it are one
   * message there too (on updatable destinations the message is posted at once and edited).
   */
  settle(v: View, now: number, settleMs: number): void {
    const item = this.items.get(v.key);
    if (item?.kind !== "root" || this.delivered.has(v.key)) return;
    const waiting = v.origin !== undefined && v.sync === undefined && v.helm === undefined;
    if (waiting && !item.held && item.version === 0) {
      item.held = true;
      item.notBefore = now + settleMs;
    } else if (!waiting && item.held) {
      item.held = false;
      item.notBefore = now;
    }
  }

  /** True when this destination already shows (or is about to show) the message of view `key`. */
  follows(key: string): boolean {
    return this.items.has(key) || this.delivered.has(key) || this.alias.has(key);
  }

  noteDelivered(key: string): void {
    this.delivered.add(key);
    if (this.delivered.size > 10_000) this.delivered.delete(this.delivered.values().next().value as string);
  }
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
    this.lanes = opts.destinations.map(
      (d) => new Lane(d, new CommitLinker(opts.repoUrl, d.templates?.commitLink)),
    );
  }

  /**
   * Builds the router from the `notifications` config section. Secrets of every destination
   * (tokens, webhook secrets and URLs) are added to the redactor.
   */
  static fromConfig(
    cfg: Pick<Config, "notifications" | "repo">,
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
        this.start(lane);
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
      this.start(lane);
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
   * `timeoutMs`, then drops the rest (a destination that is down) and says how many.
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
      if (released) this.start(lane);
    }
    const deadline = new AbortController();
    const timeout = this.timer.sleep(timeoutMs, deadline.signal).then(() => "timeout" as const);
    const done = await Promise.race([this.idle().then(() => "idle" as const), timeout]);
    deadline.abort();
    this.stopping.abort();
    if (done === "timeout") {
      const left = this.lanes.reduce((n, l) => n + l.items.size, 0);
      for (const l of this.lanes) l.items.clear();
      this.logger.warn({ dropped: left }, "notifications still queued at shutdown were dropped");
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

  private start(lane: Lane): void {
    lane.wake?.();
    if (lane.worker) return;
    lane.worker = this.drain(lane).finally(() => {
      lane.worker = undefined;
      // A mark that raced with the worker's exit.
      if (lane.items.size > 0 && !this.stopping.signal.aborted) this.start(lane);
    });
  }

  /** Next sendable item: the oldest whose backoff is over and whose thread root (if any) is out. */
  private pick(lane: Lane, now: number): { item?: Item; wait: number } {
    let wait = Number.POSITIVE_INFINITY;
    for (const item of lane.items.values()) {
      const replyTo = item.kind === "detail" || item.kind === "digest-details" ? item.view : undefined;
      if (replyTo && lane.items.has(replyTo) && !lane.delivered.has(replyTo)) continue;
      if (item.notBefore > now) {
        wait = Math.min(wait, item.notBefore - now);
        continue;
      }
      if (item.kind === "root" && !lane.delivered.has(item.key))
        return { item: this.maybeDigest(lane, item, now), wait: 0 };
      return { item, wait: 0 };
    }
    return { wait };
  }

  /**
   * Overload valve: when more new releases wait for this destination than its rate limit can post
   * one by one (`digestAfter`), the waiting ones go out together in one digest message, which is
   * then updated in place as they progress (their details go in one reply under it). Without this
   * a burst of 100 releases at Slack's 1 message/s would take minutes to show.
   */
  private maybeDigest(lane: Lane, first: Item, now: number): Item {
    const fresh = [...lane.items.values()].filter(
      (i) => i.kind === "root" && !lane.delivered.has(i.key) && i.notBefore <= now,
    );
    if (fresh.length < this.digestAfter) return first;
    const members = fresh.slice(0, this.digestSize);
    const key = `digest:${++lane.digestSeq}`;
    const digest: Item = {
      key,
      kind: "digest",
      view: key,
      version: 0,
      events: [],
      attempts: 0,
      notBefore: now,
    };
    lane.items.set(key, digest);
    lane.digests.set(
      key,
      members.map((m) => m.view),
    );
    for (const m of members) {
      lane.items.delete(m.key);
      lane.alias.set(m.view, key);
      digest.events.push(...m.events);
      for (const d of ["sync-errors", "helm-error"] as const) {
        const pending = lane.items.get(`${m.view}:${d}`);
        if (!pending) continue;
        lane.items.delete(pending.key);
        for (const e of pending.events)
          lane.markKey(`${key}:details`, "digest-details", key, undefined, e, now);
      }
    }
    // Bound the alias map: the oldest digests' views start new messages again.
    while (lane.digests.size > 200) {
      const [oldest, views] = lane.digests.entries().next().value as [string, string[]];
      lane.digests.delete(oldest);
      for (const v of views) lane.alias.delete(v);
    }
    return digest;
  }

  private async drain(lane: Lane): Promise<void> {
    const signal = this.stopping.signal;
    // Let the rest of a synchronous burst arrive first: it then goes out as one message.
    await new Promise((r) => setImmediate(r));
    while (lane.items.size > 0 && !signal.aborted) {
      const now = this.timer.now();
      const { item, wait } = this.pick(lane, now);
      const limit = lane.limiter.delay(now);
      if (!item || limit > 0) {
        const ms = Math.max(limit, item ? 0 : wait);
        // A new mark wakes the worker early (a held commit whose sync arrived, a new message while
        // another waits for its backoff). Infinite: nothing sendable yet; should not happen, poll.
        const wake = new AbortController();
        lane.wake = () => wake.abort();
        const onStop = () => wake.abort();
        signal.addEventListener("abort", onStop, { once: true });
        await this.timer.sleep(Number.isFinite(ms) ? ms : 1000, wake.signal);
        signal.removeEventListener("abort", onStop);
        lane.wake = undefined;
        continue; // re-pick: newer state may have arrived while waiting
      }
      await this.send(lane, item);
    }
  }

  private message(lane: Lane, item: Item): Message | undefined {
    if (item.kind === "message") return item.message;
    if (item.kind === "digest" || item.kind === "digest-details") {
      const views = (lane.digests.get(item.view) ?? [])
        .map((k) => this.store.get(k))
        .filter((v): v is View => v !== undefined);
      if (views.length === 0) return undefined;
      return item.kind === "digest"
        ? digestMessage(item.view, views, lane.linker)
        : digestDetailsMessage(item.view, views);
    }
    const view = this.store.get(item.view);
    if (!view) return undefined;
    if (item.detail) return detailMessage(view, item.detail);
    if (lane.dest.format === "fluxcloud")
      return fluxcloudMessage(view, lane.linker, lane.dest.templates ?? {});
    const rich: Parameters<typeof richMessage>[1] = { linker: lane.linker };
    if (this.opts.envOrder) rich.envOrder = this.opts.envOrder;
    if (this.opts.lockOf) rich.lockOf = this.opts.lockOf;
    return richMessage(view, rich);
  }

  private async send(lane: Lane, item: Item): Promise<void> {
    const provider = lane.dest.provider;
    const built = this.message(lane, item);
    if (!built) {
      lane.items.delete(item.key); // evicted from the store: nothing left to show
      return;
    }
    const version = item.version;
    const events = item.events;
    item.events = [];
    try {
      const message = this.redactor.value(built);
      const delivery = { key: item.key, message, events: this.redactor.value(events) };
      // A reply whose root never made it (given up, or routed elsewhere) is posted on its own.
      const isReply = item.kind === "detail" || item.kind === "digest-details";
      const threadKey = isReply && lane.delivered.has(item.view) ? item.view : undefined;
      await provider.deliver(threadKey ? { ...delivery, threadKey } : delivery);
      lane.counters.sent++;
      lane.noteDelivered(item.key);
      item.attempts = 0;
      if (item.version === version) lane.items.delete(item.key);
    } catch (e) {
      item.events = [...events, ...item.events].slice(-100);
      const err =
        e instanceof DeliveryError ? e : new DeliveryError(String((e as Error)?.message ?? e), "transient");
      const now = this.timer.now();
      if (err.kind === "rate-limited") {
        lane.counters.rateLimited++;
        lane.limiter.pause(now, err.retryAfterMs ?? 1000);
        return;
      }
      item.attempts++;
      if (err.kind === "permanent" || item.attempts >= this.maxAttempts) {
        lane.counters.undeliverable++;
        lane.items.delete(item.key);
        this.logger.warn(
          this.redactor.value({
            destination: provider.name,
            key: item.key,
            attempts: item.attempts,
            error: err.message,
          }),
          "notification undeliverable, dropped",
        );
        return;
      }
      lane.counters.retries++;
      const backoff = Math.min(60_000, this.backoffMs * 2 ** (item.attempts - 1));
      item.notBefore = now + Math.max(backoff, err.retryAfterMs ?? 0);
    } finally {
      // Counted when the answer is in, not when the request left: the platform counts arrivals,
      // and the first request on a cold connection can take long enough to arrive that the next
      // one, sent a window after the first *left*, would land less than a window after it.
      lane.limiter.record(this.timer.now());
    }
  }
}
