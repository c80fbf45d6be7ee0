/**
 * Work that runs after an HTTP request was answered (Slack and Teams ack first, then run the
 * command). A bounded number of jobs run at once; the rest wait in FIFO order. Why: the acks and the
 * work share one event loop, and hundreds of concurrently runnable jobs would queue their callbacks
 * ahead of the next request's, pushing acks past Slack's 3 s. Waiting jobs cost nothing.
 *
 * The limit adapts to the event loop: it starts at one job, grows by one after `calmSamples`
 * consecutive `sampleMs` periods in which the loop was mostly idle (utilisation under
 * `busyThreshold`) and drops back to one after any busy period. CPU-bound work (e.g. a config repo on local disk) then runs one job at a time, which is as
 * fast overall and keeps acks quick; I/O-bound work (pushes to a remote) leaves the loop idle and
 * runs up to `concurrency` jobs at once.
 */
import { type EventLoopUtilization, performance } from "node:perf_hooks";
import type { Logger } from "../core/ports.js";
import type { Gauge } from "./metrics.js";

export interface WorkQueueOptions {
  /** Jobs running at once (default 8). */
  concurrency?: number;
  /** Jobs waiting at most; beyond that `push` refuses (returns false) and logs (default 10 000). */
  maxQueued?: number;
  logger: Logger;
  /** Optional gauge of waiting + running jobs. */
  depth?: Gauge;
  /** Label value for `depth` (e.g. `slack`). */
  name?: string;
  /** Event-loop utilisation (0..1) above which only one job runs (default 0.3; 1 disables). */
  busyThreshold?: number;
  /** Calm periods in a row before one more job may run (default 5). */
  calmSamples?: number;
  /** How often utilisation is sampled while jobs exist (ms, default 100). */
  sampleMs?: number;
}

/** A FIFO queue of async jobs with bounded concurrency. Jobs never throw out of the queue: failures are logged. */
export class WorkQueue {
  private readonly waiting: (() => Promise<void>)[] = [];
  private running = 0;
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private idleWaiters: (() => void)[] = [];
  private limit = 1;
  private calm = 0;
  private sampler: NodeJS.Timeout | undefined;
  private lastElu: EventLoopUtilization | undefined;

  constructor(private readonly o: WorkQueueOptions) {
    this.concurrency = Math.max(1, o.concurrency ?? 8);
    this.maxQueued = o.maxQueued ?? 10_000;
  }

  /** Jobs waiting plus running. */
  get size(): number {
    return this.waiting.length + this.running;
  }

  /** Queues `job`; false when the queue is full (the job is dropped). */
  push(job: () => Promise<void>): boolean {
    if (this.waiting.length >= this.maxQueued) {
      this.o.logger.error(
        { queue: this.o.name, waiting: this.waiting.length },
        "work queue full; job dropped",
      );
      return false;
    }
    this.waiting.push(job);
    this.report();
    this.next();
    return true;
  }

  /** Resolves when no job is waiting or running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits until idle, or at most `graceMs`; resolves with how much work is still queued or running. */
  async drain(graceMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    return this.size;
  }

  private next(): void {
    this.sample();
    while (this.running < this.limit && this.waiting.length > 0) {
      const job = this.waiting.shift() as () => Promise<void>;
      this.running++;
      // Start on a later turn, so the ack that queued the job is written first.
      setImmediate(() => {
        job()
          .catch((e: unknown) => this.o.logger.error({ err: e, queue: this.o.name }, "background job failed"))
          .finally(() => {
            this.running--;
            this.report();
            this.next();
            if (this.size === 0) {
              clearInterval(this.sampler);
              this.sampler = undefined;
              this.limit = 1;
              this.calm = 0;
              for (const w of this.idleWaiters.splice(0)) w();
            }
          });
      });
    }
  }

  /** Keeps `busy` current while there is work; the timer also starts jobs when the loop calms down. */
  private sample(): void {
    const threshold = this.o.busyThreshold ?? 0.3;
    if (threshold >= 1) {
      this.limit = this.concurrency;
      return;
    }
    if (this.sampler) return;
    this.lastElu = performance.eventLoopUtilization();
    this.sampler = setInterval(() => {
      const now = performance.eventLoopUtilization();
      const delta = performance.eventLoopUtilization(now, this.lastElu);
      this.lastElu = now;
      if (delta.utilization > threshold) {
        this.limit = 1;
        this.calm = 0;
      } else if (
        ++this.calm >= (this.o.calmSamples ?? 5) &&
        this.limit < this.concurrency &&
        this.running >= this.limit
      ) {
        this.limit++;
        this.calm = 0;
      }
      if (this.waiting.length > 0) this.next();
    }, this.o.sampleMs ?? 100);
    this.sampler.unref();
  }

  private report(): void {
    this.o.depth?.set({ queue: this.o.name ?? "default" }, this.size);
  }
}
