/**
 * One registry host's request budget: at most `maxConcurrency` requests in flight, at most
 * `requestsPerMinute` started per rolling minute, and a pause when the registry says so
 * (`Retry-After` on a 429/503, or `ratelimit-remaining: 0` with its window). Waiting is the budget's
 * job, so a rate-limited registry slows the scan instead of failing it or being hammered.
 */

export interface BudgetOptions {
  maxConcurrency?: number;
  requestsPerMinute?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    t.unref?.();
  });

export class RequestBudget {
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly started: number[] = [];
  private pausedUntil = 0;
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
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + Math.min(ms, 15 * 60_000));
  }

  /** Reads `Retry-After` and `ratelimit-remaining`/`ratelimit-reset`-style headers of a response. */
  observe(status: number, headers: Headers): number | undefined {
    const retry = retryAfterMs(headers.get("retry-after"), this.now());
    if ((status === 429 || status === 503) && retry !== undefined) {
      this.pause(retry);
      return retry;
    }
    if (status === 429) {
      this.pause(1000);
      return 1000;
    }
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
        await this.sleep(this.pausedUntil - now);
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
