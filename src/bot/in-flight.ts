/**
 * Counts work that is running (commands between their start and their reply), so a graceful stop
 * can wait for it before closing what it uses (the config repo, the notification pipeline).
 */
export class InFlight {
  private running = 0;
  private waiters: (() => void)[] = [];

  /** How many tracked tasks are running. */
  get size(): number {
    return this.running;
  }

  /** Runs `task`, counted until it settles; its result or error passes through. */
  async track<T>(task: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      if (this.running === 0) for (const w of this.waiters.splice(0)) w();
    }
  }

  /** Waits until nothing runs, or at most `graceMs`; resolves with how many tasks still run. */
  async drain(graceMs: number): Promise<number> {
    if (this.running === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.waiters.push(resolve)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    return this.running;
  }
}
