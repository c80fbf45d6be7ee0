/**
 * Idempotency for redelivered requests: a retried Slack request (`X-Slack-Retry-Num`), a
 * double-clicked button or a re-delivered Teams activity carries the same `Invocation.id` and must
 * have one effect. `once(key, fn)` runs `fn` for the first delivery only; a delivery that arrives
 * while the first is running waits for it, and one that arrives later gets the cached outcome.
 * Entries live for `ttlMs` (default 15 min, longer than Slack's retry window) and the cache is
 * bounded (oldest evicted first).
 */
import { type Clock, systemClock } from "../core/ports.js";

/** What `once` tells the caller. */
export type OnceResult<T> = { first: true; value: T } | { first: false; value: T | undefined };

interface Entry<T> {
  promise: Promise<T>;
  expires: number;
}

/** A TTL cache of in-flight and finished runs, keyed by invocation id. In-process only. */
export class IdempotencyCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly clock: Clock;

  constructor(opts: { ttlMs?: number; maxEntries?: number; clock?: Clock } = {}) {
    this.ttlMs = opts.ttlMs ?? 15 * 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.clock = opts.clock ?? systemClock;
  }

  /** Runs `fn` unless `key` was seen within the TTL; never runs it twice for one key. */
  async once(key: string, fn: () => Promise<T>): Promise<OnceResult<T>> {
    const now = this.clock.now().getTime();
    const seen = this.entries.get(key);
    if (seen && seen.expires > now) {
      // Wait for the first delivery, but never fail the duplicate with the first one's error.
      const value = await seen.promise.catch(() => undefined);
      return { first: false, value };
    }
    this.evict(now);
    const promise = fn();
    this.entries.set(key, { promise, expires: now + this.ttlMs });
    return { first: true, value: await promise };
  }

  /** Number of remembered keys (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private evict(now: number): void {
    for (const [k, e] of this.entries) {
      // Map iteration is insertion order, so expired entries cluster at the front.
      if (e.expires <= now || this.entries.size >= this.maxEntries) this.entries.delete(k);
      else break;
    }
  }
}
