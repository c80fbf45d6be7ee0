import { setMaxListeners } from "node:events";
import { correlationId, StalledError, TransientError } from "../core/errors.js";
import type { EventSink, GitopsEvent, ReconcilerEvent } from "../core/events.js";
import { type Clock, type Logger, nullLogger, systemClock } from "../core/ports.js";
import { type Condition, newFindings, sameCondition, transitionOf } from "./conditions.js";

/**
 * The outcome of one reconcile: a condition (status, reason, message, findings) plus what the run
 * changed. Expected failures are returned like this, not thrown. The reconciler does not decide
 * whether anything is announced: the controller compares this condition with the previous one.
 */
export interface ReconcileResult<P = unknown> extends Condition {
  /** Reconcile again after this long (e.g. `progressing` waiting on something); default: the interval. */
  requeueAfterMs?: number;
  /** The run changed something (objects applied, a tag committed): always announced. */
  changed?: boolean;
  /** Extra transition payload for the reconciler's `describe` (e.g. the changed objects, the drift list). */
  payload?: P;
  /** Correlation id for the controller's transition events (e.g. the revision). */
  correlationId?: string;
}

/** What the controller hands to `Reconciler.describe` when it decided to announce a run. */
export interface Notice<T, P = unknown> {
  key: string;
  obj: T;
  /** The condition before this run (in memory, or restored from the status record). */
  previous?: Condition;
  result: ReconcileResult<P>;
  /** The transition, when the condition crossed into or out of failure. */
  transition?: ReconcilerEvent["state"];
  /** Finding kinds that are new (see `newFindings`). */
  newFindings: ReadonlySet<string>;
}

/** How a reconciler tells a notice: its own events, and whether they already tell the transition. */
export interface Description {
  events: GitopsEvent[];
  /** True: the events tell the transition too, so the controller adds no generic `reconciler` event. */
  coversTransition: boolean;
}

/** What a reconcile gets from the controller. */
export interface ReconcileContext {
  /** Aborted when the controller stops (or leadership is lost): stop writing. */
  signal: AbortSignal;
  /** 1 for the first try of a request, 2+ for backoff retries. */
  attempt: number;
  logger: Logger;
}

/** A reconciler (DESIGN.md `Reconciler<T>`): sync, image automation and Helm implement it. */
export interface Reconciler<T, P = unknown> {
  readonly name: ReconcilerEvent["reconciler"];
  /** Objects with the same key are reconciled one at a time, latest request wins. */
  key(obj: T): string;
  reconcile(obj: T, ctx: ReconcileContext): Promise<ReconcileResult<P>>;
  /** Combines a request arriving while another waits for the same key (default: the newest wins),
   * e.g. two webhooks naming different repositories. */
  merge?(queued: T, incoming: T): T;
  /** Identifies the input; a stalled key is not retried until a request with a different fingerprint. */
  fingerprint?(obj: T): string;
  /** `failed` reasons that wait for new input or the interval instead of a backoff retry
   * (a bad manifest needs a new commit: retrying it sooner changes nothing). */
  readonly noBackoff?: ReadonlySet<string>;
  /** The condition recorded before this process took over (the status record), so a restarted
   * replica does not announce again what was announced already. Called at a key's first run after `start()`. */
  restore?(obj: T, ctx: ReconcileContext): Promise<Condition | undefined>;
  /** Forget cached state (a peer may have written it meanwhile); called when this replica starts leading. */
  reset?(): void;
  /** Turns a notice the controller decided on into events. Without it (or when it returns undefined)
   * the controller emits its generic `reconciler` event for a transition, and nothing for a change. */
  describe?(notice: Notice<T, P>): Promise<Description | undefined>;
}

export interface ControllerOptions<T = unknown> {
  sink: EventSink;
  clusterName: string;
  logger?: Logger;
  clock?: Clock;
  /** First backoff delay (default 1 s), doubled per failure up to `maxBackoffMs` (default 5 min). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Reconcile every key again this long after its last run (the interval); none when undefined. */
  requeueAfterMs?: number;
  /** The object a timer re-enqueues (default: the last one as it is), e.g. to mark it an interval run. */
  requeueObject?: (obj: T, why: "interval" | "retry") => T;
}

/** One finished run, as `Controller.observe` listeners see it (the metrics, src/reconciler/metrics.ts). */
export interface RunRecord {
  key: string;
  /** The condition the run ended in (a throw is `failed`, a `StalledError` `stalled`). */
  status: Condition["status"];
  reason?: string;
  /** Wall time of `reconcile`, seconds. */
  seconds: number;
  /** When the run ended. */
  time: Date;
}

/** Listens to every run of a controller. Must not throw (a throwing listener is ignored). */
export type RunObserver = (run: RunRecord) => void;

interface KeyState<T, P> {
  running: boolean;
  /** The newest request that arrived while running. */
  next?: { obj: T; waiters: ((r: ReconcileResult<P>) => void)[] };
  timer?: NodeJS.Timeout;
  failures: number;
  last?: Condition;
  /** Ask the reconciler for the recorded condition before the next run (set by `start()`). */
  restore: boolean;
  stalledFingerprint?: string;
  since?: string;
}

/** A key's current condition, for status pages. */
export interface KeyStatus {
  status: ReconcileResult["status"] | "unknown";
  reason?: string;
  message?: string;
  since?: string;
  failures: number;
}

/**
 * The generic controller loop: a serial queue per key (requests arriving during a reconcile
 * collapse into one follow-up run with the newest object), exponential backoff with jitter for
 * failures (TransientError's `retryAfterMs` is honoured), no retry for stalled keys until the input
 * changes, a requeue of every key after `requeueAfterMs` (the interval), and events only on a
 * transition (failed / stalled / recovered), new findings or a new change: the controller is the one
 * place that compares the previous condition with the new one (Flux's `notify(old, new)`).
 */
export class Controller<T, P = unknown> {
  private readonly keys = new Map<string, KeyState<T, P>>();
  private abort = new AbortController();
  private stopped = true;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly observers: RunObserver[] = [];

  constructor(
    private readonly reconciler: Reconciler<T, P>,
    private readonly opts: ControllerOptions<T>,
  ) {
    this.logger = (opts.logger ?? nullLogger).child({ reconciler: reconciler.name });
    this.clock = opts.clock ?? systemClock;
  }

  /** Starts accepting work; `signal` (e.g. leadership) stops the controller when aborted. */
  start(signal?: AbortSignal): void {
    this.abort = new AbortController();
    // Every in-flight API request listens on this signal.
    setMaxListeners(0, this.abort.signal);
    this.stopped = false;
    for (const st of this.keys.values()) st.restore = true;
    signal?.addEventListener("abort", () => this.stop(), { once: true });
  }

  /** Stops: aborts running reconciles, cancels retries; pending `enqueue` promises resolve as failed. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort(new Error("controller stopped"));
    for (const st of this.keys.values()) {
      if (st.timer) clearTimeout(st.timer);
      st.timer = undefined;
      for (const w of st.next?.waiters ?? []) w({ status: "failed", message: "controller stopped" });
      st.next = undefined;
      st.failures = 0;
    }
  }

  /** The reconciler's name (`sync`, `image`, `helm`). */
  get name(): string {
    return this.reconciler.name;
  }

  /** Calls `fn` after every run (metrics); the reconcilers themselves need no code for it. */
  observe(fn: RunObserver): void {
    this.observers.push(fn);
  }

  /** The current condition of every key the controller has run (for the items-by-condition gauge). */
  *conditions(): Iterable<{ key: string; status: Condition["status"]; reason?: string }> {
    for (const [key, st] of this.keys) {
      if (st.last)
        yield { key, status: st.last.status, ...(st.last.reason ? { reason: st.last.reason } : {}) };
    }
  }

  get running(): boolean {
    return !this.stopped;
  }

  /** Condition of a key. */
  status(key: string): KeyStatus {
    const st = this.keys.get(key);
    return {
      status: st?.last?.status ?? "unknown",
      reason: st?.last?.reason,
      message: st?.last?.message,
      since: st?.since,
      failures: st?.failures ?? 0,
    };
  }

  /** Requests a reconcile; resolves with the result of the run that covered this request. */
  enqueue(obj: T): Promise<ReconcileResult<P>> {
    if (this.stopped) return Promise.resolve({ status: "failed", message: "controller is not running" });
    const key = this.reconciler.key(obj);
    let st = this.keys.get(key);
    if (!st) {
      st = { running: false, failures: 0, restore: true };
      this.keys.set(key, st);
    }
    const fp = this.reconciler.fingerprint?.(obj);
    if (st.last?.status === "stalled" && fp !== undefined && fp === st.stalledFingerprint) {
      return Promise.resolve(st.last);
    }
    const state = st;
    return new Promise((resolve) => {
      if (state.next) {
        state.next.obj = this.reconciler.merge ? this.reconciler.merge(state.next.obj, obj) : obj;
        state.next.waiters.push(resolve);
      } else {
        state.next = { obj, waiters: [resolve] };
      }
      if (state.timer) {
        // An explicit request supersedes a scheduled retry.
        clearTimeout(state.timer);
        state.timer = undefined;
      }
      if (!state.running) void this.drain(key, state);
    });
  }

  private async drain(key: string, st: KeyState<T, P>): Promise<void> {
    st.running = true;
    try {
      while (st.next && !this.stopped) {
        const { obj, waiters } = st.next;
        st.next = undefined;
        const result = await this.runOnce(key, obj, st);
        for (const w of waiters) w(result);
        if (this.stopped) break;
        if (!st.next) this.schedule(key, obj, st, result);
      }
    } finally {
      st.running = false;
    }
  }

  private async runOnce(key: string, obj: T, st: KeyState<T, P>): Promise<ReconcileResult<P>> {
    const ctx: ReconcileContext = {
      signal: this.abort.signal,
      attempt: st.failures + 1,
      logger: this.logger,
    };
    let prev: Condition | undefined = st.last;
    if (st.restore && this.reconciler.restore) {
      prev = await this.reconciler.restore(obj, ctx).then(
        (c) => c ?? st.last,
        (err) => {
          this.logger.debug({ err, key }, "could not restore the recorded condition");
          return st.last;
        },
      );
    }
    let result: ReconcileResult<P>;
    let retryAfter: number | undefined;
    const started = process.hrtime.bigint();
    try {
      result = await this.reconciler.reconcile(obj, ctx);
      st.restore = false;
    } catch (err) {
      if (err instanceof StalledError) {
        result = { status: "stalled", message: err.message };
      } else if (err instanceof TransientError) {
        result = { status: "failed", message: err.message };
        retryAfter = err.retryAfterMs;
      } else {
        const ref = correlationId();
        this.logger.error({ err, key, ref }, "reconcile threw");
        result = { status: "failed", message: `internal error (ref ${ref})` };
      }
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (this.stopped && result.status === "failed") return result;
    await this.notify(key, obj, st, prev, result);
    this.record({
      key,
      status: result.status,
      seconds,
      time: this.clock.now(),
      ...(result.reason ? { reason: result.reason } : {}),
    });
    if (retryAfter !== undefined) result.requeueAfterMs = Math.max(result.requeueAfterMs ?? 0, retryAfter);
    return result;
  }

  /** Flux's `notify(old, new)`: the one place that compares conditions and decides what is announced. */
  private async notify(
    key: string,
    obj: T,
    st: KeyState<T, P>,
    prev: Condition | undefined,
    result: ReconcileResult<P>,
  ): Promise<void> {
    // A run that could not look (git unreachable) keeps what the previous one saw.
    if (result.findings === undefined && prev?.findings) result.findings = prev.findings;
    const state = transitionOf(prev, result);
    const now = this.clock.now().toISOString();
    if (prev?.status !== result.status) st.since = now;
    result.lastTransitionTime = st.since ?? now;
    st.failures = result.status === "failed" ? st.failures + 1 : 0;
    st.stalledFingerprint = result.status === "stalled" ? this.reconciler.fingerprint?.(obj) : undefined;
    st.last = result;
    const fresh = newFindings(prev, result);
    let described: Description | undefined;
    if (result.changed || state || fresh.size > 0 || !sameCondition(prev, result)) {
      const notice: Notice<T, P> = { key, obj, result, newFindings: fresh };
      if (prev) notice.previous = prev;
      if (state) notice.transition = state;
      described = await this.reconciler.describe?.(notice).catch((err) => {
        this.logger.warn({ err, key }, "could not describe the reconcile");
        return undefined;
      });
    }
    for (const ev of described?.events ?? []) this.opts.sink.emit(ev);
    if (state && !described?.coversTransition) {
      this.opts.sink.emit({
        kind: "reconciler",
        id: correlationId(),
        time: now,
        cluster: this.opts.clusterName,
        correlationId: result.correlationId ?? key,
        reconciler: this.reconciler.name,
        state,
        message:
          state === "recovered"
            ? `${key}: recovered (${result.message ?? result.status})`
            : `${key}: ${result.message ?? state}`,
      });
    }
    // A failure is a warning when it is new; while it repeats (every interval) it is only debug.
    const level = result.status === "failed" && !sameCondition(prev, result) ? "warn" : "debug";
    this.logger[level](
      { key, status: result.status, reason: result.reason, message: result.message },
      "reconciled",
    );
  }

  private record(run: RunRecord): void {
    for (const fn of this.observers) {
      try {
        fn(run);
      } catch (err) {
        this.logger.debug({ err }, "a run observer threw");
      }
    }
  }

  private schedule(key: string, obj: T, st: KeyState<T, P>, result: ReconcileResult<P>): void {
    let delay: number | undefined;
    let why: "interval" | "retry" = "interval";
    if (result.status === "failed" && !this.reconciler.noBackoff?.has(result.reason ?? "")) {
      const base = this.opts.baseBackoffMs ?? 1_000;
      const max = this.opts.maxBackoffMs ?? 300_000;
      const exp = Math.min(max, base * 2 ** Math.min(st.failures - 1, 20));
      // Full jitter in the upper half: replicas and keys do not retry in lockstep.
      delay = Math.max(result.requeueAfterMs ?? 0, exp / 2 + Math.random() * (exp / 2));
      why = "retry";
    } else if (result.status !== "stalled") {
      // The interval is a requeue like any other: an explicit request in between resets it.
      delay = result.requeueAfterMs ?? this.opts.requeueAfterMs;
    }
    if (delay === undefined) return;
    const next = this.opts.requeueObject?.(obj, why) ?? obj;
    st.timer = setTimeout(() => {
      st.timer = undefined;
      if (this.stopped || st.next) return;
      st.next = { obj: next, waiters: [] };
      if (!st.running) void this.drain(key, st);
    }, delay);
    st.timer.unref?.();
  }
}
