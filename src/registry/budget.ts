/**
 * One registry host's request budget: at most `maxConcurrency` requests in flight, at most
 * `requestsPerMinute` started per rolling minute, and a pause when the registry says so
 * (`Retry-After` on a 429/503, or `ratelimit-remaining: 0` with its window). A 429 without
 * `Retry-After` backs off exponentially (1 s, 2 s, 4 s … 5 min), reset by the next success. Short waits
 * are the budget's job, so a rate-limited registry slows the scan instead of being hammered; a wait
 * longer than `maxWaitMs` is not slept through: `run` fails at once with `BudgetExhausted` (the
 * pause stays, so every request to that host fails fast until it is over).
 */

export interface BudgetOptions {
  /** Requests in flight at once (default 4). */
  maxConcurrency?: number;
  /** Requests started per rolling minute (default: no limit). */
  requestsPerMinute?: number;
  /** Longest pause `run` waits out (default 30 s); longer ones fail fast. */
  maxWaitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    t.unref?.();
  });

/** Thrown by `RequestBudget.run` when the host is paused for longer than `maxWaitMs`. */
export class BudgetExhausted extends Error {
  override readonly name = "BudgetExhausted";
  constructor(readonly retryAfterMs: number) {
    super(`rate limited for another ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

export class RequestBudget {
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly started: number[] = [];
  private pausedUntil = 0;
  /** Consecutive 429s without `Retry-After` (exponential backoff). */
  private strikes = 0;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Total ms callers waited (budget, pauses). */
  waitedMs = 0;

  constructor(private readonly opts: BudgetOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? realSleep;
  }

  /** Runs `fn` within the budget. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = this.now();
    await this.acquire();
    try {
      await this.waitForRate();
      this.waitedMs += this.now() - t0;
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Stops starting requests until `ms` from now (a `Retry-After` or an exhausted rate-limit window). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + Math.min(ms, 6 * 3600_000));
  }

  /** Ms until requests may start again (0 when not paused). */
  pausedForMs(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  /** Reads `Retry-After` and `ratelimit-remaining`/`ratelimit-reset`-style headers of a response;
   * returns the pause it imposed, if any. */
  observe(status: number, headers: Headers): number | undefined {
    const retry = retryAfterMs(headers.get("retry-after"), this.now());
    if ((status === 429 || status === 503) && retry !== undefined) {
      this.pause(retry);
      return retry;
    }
    if (status === 429) {
      const ms = Math.min(1000 * 2 ** this.strikes, 5 * 60_000);
      this.strikes++;
      this.pause(ms);
      return ms;
    }
    if (status < 400) this.strikes = 0;
    const remaining = headers.get("ratelimit-remaining");
    if (remaining !== null && Number.parseInt(remaining, 10) === 0) {
      // `ratelimit-remaining: 0;w=21600` (Docker Hub) or a bare 0 with `ratelimit-reset` seconds.
      const reset = Number.parseInt(headers.get("ratelimit-reset") ?? "", 10);
      const w = /;\s*w=(\d+)/.exec(remaining)?.[1];
      const ms = Number.isFinite(reset) ? reset * 1000 : w ? Number(w) * 1000 : 60_000;
      this.pause(ms);
    }
    return undefined;
  }

  private async acquire(): Promise<void> {
    const max = this.opts.maxConcurrency ?? 4;
    if (this.inFlight < max) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.inFlight--;
  }

  private async waitForRate(): Promise<void> {
    for (;;) {
      const now = this.now();
      if (this.pausedUntil > now) {
        const ms = this.pausedUntil - now;
        if (ms > (this.opts.maxWaitMs ?? 30_000)) throw new BudgetExhausted(ms);
        await this.sleep(ms);
        continue;
      }
      const rpm = this.opts.requestsPerMinute;
      if (!rpm) return;
      while (this.started.length > 0 && (this.started[0] ?? 0) <= now - 60_000) this.started.shift();
      if (this.started.length < rpm) {
        this.started.push(now);
        return;
      }
      await this.sleep((this.started[0] ?? now) + 60_000 - now);
    }
  }
}

/** `Retry-After` in seconds or as an HTTP date, as ms from `now`. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
