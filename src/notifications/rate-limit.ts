/**
 * Sliding-window rate limiter for one destination, plus a server-imposed pause (`Retry-After`).
 * Every window must allow a send; `delay()` says how long to wait until all do.
 */
import type { RateWindow } from "./notifier.js";

export class RateLimiter {
  private readonly sent: number[] = [];
  private pausedUntil = 0;
  private readonly longest: number;

  constructor(private readonly windows: RateWindow[]) {
    this.longest = Math.max(0, ...windows.map((w) => w.windowMs));
  }

  /** Milliseconds to wait before the next send is allowed (0: now). */
  delay(now: number): number {
    while (this.sent.length > 0 && (this.sent[0] as number) <= now - this.longest) this.sent.shift();
    let wait = Math.max(0, this.pausedUntil - now);
    for (const w of this.windows) {
      const inWindow = this.sent.filter((t) => t > now - w.windowMs);
      if (inWindow.length >= w.limit) {
        // The oldest send that must leave the window before one more fits.
        const oldest = inWindow[inWindow.length - w.limit] as number;
        wait = Math.max(wait, oldest + w.windowMs - now);
      }
    }
    return wait;
  }

  /** Records a send at `now`. */
  record(now: number): void {
    this.sent.push(now);
  }

  /** Honors a server's `Retry-After`: no send before `now + ms`. */
  pause(now: number, ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, now + ms);
  }
}
