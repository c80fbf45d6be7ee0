/**
 * One destination's lane (issue #5, cut out of router.ts for issue #10): an ordered set of dirty
 * message keys, drained by one worker under that destination's rate limits. A message is rendered
 * when it is sent (the router's `render`), so a burst of marks becomes one message. Failures: 429
 * waits for `Retry-After`; 5xx and network errors retry with exponential backoff up to
 * `maxAttempts`; a permanent failure or the last attempt is logged once and counted as
 * undeliverable.
 */
import type { GitopsEvent } from "../core/events.js";
import type { Message } from "../core/message.js";
import type { Logger } from "../core/ports.js";
import type { Redactor } from "../core/redact.js";
import type { CommitLinker } from "./format/links.js";
import { DeliveryError, type NotificationProvider } from "./notifier.js";
import { RateLimiter } from "./rate-limit.js";
import type { DetailKind, View } from "./state.js";

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

export interface Item {
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

export const zero = (): NotificationCounters => ({
  sent: 0,
  coalesced: 0,
  rateLimited: 0,
  retries: 0,
  undeliverable: 0,
});

/** What a lane's worker takes from the router: clock, stop signal, retry policy, rendering, digests. */
export interface LaneContext {
  timer: Timer;
  /** Aborted when the router stops: the worker ends. */
  signal: AbortSignal;
  maxAttempts: number;
  backoffMs: number;
  redactor: Redactor;
  logger: Logger;
  /** The message of an item, rendered from the latest state; undefined: nothing left to show. */
  render(lane: Lane, item: Item): Message | undefined;
  /** A new release about to go out alone: what to send instead (a digest of the waiting ones), or itself. */
  digest(lane: Lane, first: Item, now: number): Item;
}

/** One destination's queue and worker. */
export class Lane {
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
    private readonly ctx: LaneContext,
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

  /** Wakes the worker, or starts one. */
  start(): void {
    this.wake?.();
    if (this.worker) return;
    this.worker = this.drain().finally(() => {
      this.worker = undefined;
      // A mark that raced with the worker's exit.
      if (this.items.size > 0 && !this.ctx.signal.aborted) this.start();
    });
  }

  /** Next sendable item: the oldest whose backoff is over and whose thread root (if any) is out. */
  private pick(now: number): { item?: Item; wait: number } {
    let wait = Number.POSITIVE_INFINITY;
    for (const item of this.items.values()) {
      const replyTo = item.kind === "detail" || item.kind === "digest-details" ? item.view : undefined;
      if (replyTo && this.items.has(replyTo) && !this.delivered.has(replyTo)) continue;
      if (item.notBefore > now) {
        wait = Math.min(wait, item.notBefore - now);
        continue;
      }
      if (item.kind === "root" && !this.delivered.has(item.key))
        return { item: this.ctx.digest(this, item, now), wait: 0 };
      return { item, wait: 0 };
    }
    return { wait };
  }

  private async drain(): Promise<void> {
    const signal = this.ctx.signal;
    // Let the rest of a synchronous burst arrive first: it then goes out as one message.
    await new Promise((r) => setImmediate(r));
    while (this.items.size > 0 && !signal.aborted) {
      const now = this.ctx.timer.now();
      const { item, wait } = this.pick(now);
      const limit = this.limiter.delay(now);
      if (!item || limit > 0) {
        const ms = Math.max(limit, item ? 0 : wait);
        // A new mark wakes the worker early (a held commit whose sync arrived, a new message while
        // another waits for its backoff). Infinite: nothing sendable yet; should not happen, poll.
        const wake = new AbortController();
        this.wake = () => wake.abort();
        const onStop = () => wake.abort();
        signal.addEventListener("abort", onStop, { once: true });
        await this.ctx.timer.sleep(Number.isFinite(ms) ? ms : 1000, wake.signal);
        signal.removeEventListener("abort", onStop);
        this.wake = undefined;
        continue; // re-pick: newer state may have arrived while waiting
      }
      await this.send(item);
    }
  }

  private async send(item: Item): Promise<void> {
    const provider = this.dest.provider;
    const built = this.ctx.render(this, item);
    if (!built) {
      this.items.delete(item.key); // evicted from the store: nothing left to show
      return;
    }
    const version = item.version;
    const events = item.events;
    item.events = [];
    try {
      const message = this.ctx.redactor.value(built);
      const delivery = { key: item.key, message, events: this.ctx.redactor.value(events) };
      // A reply whose root never made it (given up, or routed elsewhere) is posted on its own.
      const isReply = item.kind === "detail" || item.kind === "digest-details";
      const threadKey = isReply && this.delivered.has(item.view) ? item.view : undefined;
      await provider.deliver(threadKey ? { ...delivery, threadKey } : delivery);
      this.counters.sent++;
      this.noteDelivered(item.key);
      item.attempts = 0;
      if (item.version === version) this.items.delete(item.key);
    } catch (e) {
      item.events = [...events, ...item.events].slice(-100);
      const err =
        e instanceof DeliveryError ? e : new DeliveryError(String((e as Error)?.message ?? e), "transient");
      const now = this.ctx.timer.now();
      if (err.kind === "rate-limited") {
        this.counters.rateLimited++;
        this.limiter.pause(now, err.retryAfterMs ?? 1000);
        return;
      }
      item.attempts++;
      if (err.kind === "permanent" || item.attempts >= this.ctx.maxAttempts) {
        this.counters.undeliverable++;
        this.items.delete(item.key);
        this.ctx.logger.warn(
          this.ctx.redactor.value({
            destination: provider.name,
            key: item.key,
            attempts: item.attempts,
            error: err.message,
          }),
          "notification undeliverable, dropped",
        );
        return;
      }
      this.counters.retries++;
      const backoff = Math.min(60_000, this.ctx.backoffMs * 2 ** (item.attempts - 1));
      item.notBefore = now + Math.max(backoff, err.retryAfterMs ?? 0);
    } finally {
      // Counted when the answer is in, not when the request left: the platform counts arrivals,
      // and the first request on a cold connection can take long enough to arrive that the next
      // one, sent a window after the first *left*, would land less than a window after it.
      this.limiter.record(this.ctx.timer.now());
    }
  }
}
