/**
 * Idempotency for redelivered requests: a retried Slack request (`X-Slack-Retry-Num`), a replayed
 * signed request, a double-clicked button or a re-delivered Teams activity carries the same
 * `Invocation.id` and must have one effect. `once(key, fn)` runs `fn` for the first delivery only;
 * a delivery that arrives while the first is running waits for it, and one that arrives later gets
 * the cached outcome. Entries live for `ttlMs` (default 15 min, longer than Slack's retry window)
 * and the cache is bounded (oldest evicted first).
 *
 * With a `shared` record (the cluster's ConfigMap, or a file without a cluster: `app/state.ts`)
 * the first delivery also claims its key there, so a delivery replayed after a restart or to
 * another replica is recognised as a duplicate too (issue #11); that duplicate has no cached
 * outcome to show. A record that cannot be written does not stop the command (it runs, as it
 * would without the record), and the record's own deadline keeps the claim from waiting on an
 * unreachable cluster.
 */
import { createHash } from "node:crypto";
import { type Clock, type Logger, nullLogger, systemClock } from "../core/ports.js";
import type { KeyValueRecord } from "../core/record.js";

/** What `once` tells the caller. */
export type OnceResult<T> = { first: true; value: T } | { first: false; value: T | undefined };

/** `ran: false`: the shared record says another process handled this key. */
type Outcome<T> = { ran: true; value: T } | { ran: false };

interface Entry<T> {
  promise: Promise<Outcome<T>>;
  expires: number;
}

export interface IdempotencyOptions {
  ttlMs?: number;
  maxEntries?: number;
  clock?: Clock;
  /** Keys claimed by every replica and across restarts (see the file comment). */
  shared?: KeyValueRecord;
  /** Most keys kept in the shared record (default 2000: a ConfigMap holds about 1 MiB). */
  maxShared?: number;
  logger?: Logger;
}

/** A TTL cache of in-flight and finished runs, keyed by invocation id. */
export class IdempotencyCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly clock: Clock;

  constructor(private readonly opts: IdempotencyOptions = {}) {
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
      const o = await seen.promise.catch(() => undefined);
      return { first: false, value: o?.ran ? o.value : undefined };
    }
    this.evict(now);
    // Set before the first await, so a concurrent delivery in this process waits for this one.
    const promise = this.run(key, fn, now);
    this.entries.set(key, { promise, expires: now + this.ttlMs });
    const o = await promise;
    return o.ran ? { first: true, value: o.value } : { first: false, value: undefined };
  }

  /** Number of remembered keys (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private async run(key: string, fn: () => Promise<T>, now: number): Promise<Outcome<T>> {
    if (this.opts.shared && !(await this.claim(this.opts.shared, key, now))) return { ran: false };
    return { ran: true, value: await fn() };
  }

  /** True when this process is the first to claim `key` in the shared record (or it cannot tell). */
  private async claim(shared: KeyValueRecord, key: string, now: number): Promise<boolean> {
    const k = `i-${createHash("sha256").update(key).digest("hex").slice(0, 40)}`;
    const max = this.opts.maxShared ?? 2000;
    let fresh = true;
    try {
      await shared.modify((d) => {
        fresh = true; // the edit may run again after a conflict
        for (const [kk, v] of Object.entries(d)) if (kk.startsWith("i-") && Number(v) <= now) delete d[kk];
        if (d[k] !== undefined) {
          fresh = false;
          return true; // write the evictions
        }
        d[k] = String(now + this.ttlMs);
        const keys = Object.keys(d)
          .filter((kk) => kk.startsWith("i-"))
          .sort((a, b) => Number(d[a]) - Number(d[b]));
        for (const kk of keys.slice(0, Math.max(0, keys.length - max))) delete d[kk];
        return true;
      });
    } catch (err) {
      (this.opts.logger ?? nullLogger).warn(
        { err, record: shared.name },
        "could not record the request in the shared idempotency record; running it",
      );
      return true;
    }
    return fresh;
  }

  private evict(now: number): void {
    for (const [k, e] of this.entries) {
      // Map iteration is insertion order, so expired entries cluster at the front.
      if (e.expires <= now || this.entries.size >= this.maxEntries) this.entries.delete(k);
      else break;
    }
  }
}
