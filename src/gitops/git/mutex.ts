/**
 * A FIFO async mutex: `run(fn)` calls run one at a time, in call order. A failing `fn` does not
 * break the chain. Used to serialize writes (and fetches) to one working clone in this process.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** Runs `fn` after every earlier `run` has settled; resolves or rejects with `fn`'s outcome. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.waiting++;
    const next = this.tail.then(
      () => fn(),
      () => fn(),
    );
    const settled = next.finally(() => {
      this.waiting--;
    });
    this.tail = settled.catch(() => undefined);
    return next;
  }

  /** Calls queued or running (for metrics and tests). */
  get pending(): number {
    return this.waiting;
  }
}
