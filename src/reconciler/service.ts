import type { EventSink } from "../core/events.js";
import type { Clock, Logger } from "../core/ports.js";
import { Controller, type ReconcileResult, type Reconciler } from "./controller.js";

export interface ReconcilerServiceOptions<T> {
  /** What the replies call it: `sync` -> "sync started", "sync is not running on this replica". */
  noun: string;
  /** What the leader does, for "this replica is not the leader; <leader> <verb>" (e.g. `syncs`). */
  verb: string;
  /** Every key is reconciled again this long after its last run (through the controller's requeue). */
  intervalMs: number;
  /** The longest backoff after failures (default: the controller's, 5 min). */
  maxBackoffMs?: number;
  /** The objects reconciled at once when this replica starts leading. */
  initial: () => T[];
  /** The object an interval or retry run reconciles (default: the last one as it was). */
  requeueObject?: (obj: T, why: "interval" | "retry") => T;
  sink: EventSink;
  clusterName: string;
  logger: Logger;
  clock?: Clock;
  /** Who leads, for "not the leader" replies (LeaderElector.leader). */
  leader?: () => string | undefined;
}

/** What `trigger` resolves with. */
export interface ReconcilerTriggerResult<P> {
  /** False when this replica is not the leader (or the service is stopped). */
  accepted: boolean;
  /** One line for a chat reply. */
  message: string;
  result?: ReconcileResult<P>;
}

/**
 * The shared service around one reconciler (DESIGN.md `ReconcilerService<T>`): it owns the
 * `Controller`, leadership (`lead`/`pause`, the `Leadable` of the leader elector), the interval
 * (the controller's `requeueAfterMs`, so an explicit run resets it and a stopped controller has
 * no timer left) and `trigger()`. Reconciler folders configure it in their `service.ts`.
 */
export class ReconcilerService<T, P = unknown> {
  readonly controller: Controller<T, P>;

  constructor(
    readonly reconciler: Reconciler<T, P>,
    private readonly opts: ReconcilerServiceOptions<T>,
  ) {
    const controllerOpts: ConstructorParameters<typeof Controller<T, P>>[1] = {
      sink: opts.sink,
      clusterName: opts.clusterName,
      logger: opts.logger,
      requeueAfterMs: opts.intervalMs,
    };
    if (opts.clock) controllerOpts.clock = opts.clock;
    if (opts.maxBackoffMs !== undefined) controllerOpts.maxBackoffMs = opts.maxBackoffMs;
    if (opts.requeueObject) controllerOpts.requeueObject = opts.requeueObject;
    this.controller = new Controller(reconciler, controllerOpts);
  }

  /** Starts reconciling: the initial objects now, then every interval, until `signal` aborts or `pause()`. */
  lead(signal?: AbortSignal): void {
    if (signal?.aborted) return;
    this.pause();
    this.reconciler.reset?.(); // another replica may have written the state meanwhile
    this.controller.start(signal);
    for (const obj of this.opts.initial()) void this.controller.enqueue(obj);
    signal?.addEventListener("abort", () => this.pause(), { once: true });
    this.opts.logger.info({ intervalMs: this.opts.intervalMs }, `${this.opts.noun} started`);
  }

  /** Stops reconciling (leadership lost or shutdown); a running reconcile is aborted before its next write. */
  pause(): void {
    this.controller.stop();
  }

  /** Reconciles `obj` now (or joins the run in progress); with `wait: false` resolves once queued. */
  async trigger(obj: T, opts: { wait?: boolean } = {}): Promise<ReconcilerTriggerResult<P>> {
    const { noun, verb } = this.opts;
    if (!this.controller.running) {
      const leader = this.opts.leader?.();
      return {
        accepted: false,
        message: leader
          ? `this replica is not the leader; ${leader} ${verb}`
          : `${noun} is not running on this replica`,
      };
    }
    const running = this.controller.enqueue(obj);
    // Not waiting: the run goes on (or joins the running one, whose follow-up sees the newest input).
    if (opts.wait === false) return { accepted: true, message: `${noun} started` };
    const result = await running;
    return { accepted: true, message: result.message ?? result.status, result };
  }
}
