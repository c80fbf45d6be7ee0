import { setMaxListeners } from "node:events";
import { correlationId, StalledError, TransientError } from "../core/errors.js";
import type { EventSink, GitopsEvent, ReconcilerEvent } from "../core/events.js";
import { type Clock, type Logger, nullLogger, systemClock } from "../core/ports.js";

/** The outcome of one reconcile. Expected failures are returned like this, not thrown. */
export interface ReconcileResult {
  status: "ready" | "progressing" | "stalled" | "failed";
  /** What happened, or why it failed (shown in events and status). */
  message?: string;
  /** Reconcile again after this long (e.g. `progressing` waiting on something). */
  requeueAfterMs?: number;
  /** A `failed` result is retried with backoff unless this is false. */
  retry?: boolean;
  /** Events describing a new change; the controller emits them as they are. */
  events?: GitopsEvent[];
  /** The events already tell the failure or recovery: the controller adds no transition event. */
  reported?: boolean;
  /** Correlation id for the controller's transition events (e.g. the revision). */
  correlationId?: string;
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
export interface Reconciler<T> {
  readonly name: ReconcilerEvent["reconciler"];
  /** Objects with the same key are reconciled one at a time, latest request wins. */
  key(obj: T): string;
  reconcile(obj: T, ctx: ReconcileContext): Promise<ReconcileResult>;
  /** Identifies the input; a stalled key is not retried until a request with a different fingerprint. */
  fingerprint?(obj: T): string;
}

export interface ControllerOptions {
  sink: EventSink;
  clusterName: string;
  logger?: Logger;
  clock?: Clock;
  /** First backoff delay (default 1 s), doubled per failure up to `maxBackoffMs` (default 5 min). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

interface KeyState<T> {
  running: boolean;
  /** The newest request that arrived while running. */
  next?: { obj: T; waiters: ((r: ReconcileResult) => void)[] };
  timer?: NodeJS.Timeout;
  failures: number;
  last?: ReconcileResult;
  stalledFingerprint?: string;
  since?: string;
}

/** A key's current condition, for status pages. */
export interface KeyStatus {
  status: ReconcileResult["status"] | "unknown";
  message?: string;
  since?: string;
  failures: number;
}

/**
 * The generic controller loop: a serial queue per key (requests arriving during a reconcile
 * collapse into one follow-up run with the newest object), exponential backoff with jitter for
 * failures (TransientError's `retryAfterMs` is honoured), no retry for stalled keys until the input
 * changes, and events only on a transition (failed / stalled / recovered) or a new change.
 */
export class Controller<T> {
  private readonly keys = new Map<string, KeyState<T>>();
  private abort = new AbortController();
  private stopped = true;
  private readonly logger: Logger;
  private readonly clock: Clock;

  constructor(
    private readonly reconciler: Reconciler<T>,
    private readonly opts: ControllerOptions,
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
      for (const w of st.next?.waiters ?? [])
        w({ status: "failed", message: "controller stopped", retry: false });
      st.next = undefined;
      st.failures = 0;
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
      message: st?.last?.message,
      since: st?.since,
      failures: st?.failures ?? 0,
    };
  }

  /** Requests a reconcile; resolves with the result of the run that covered this request. */
  enqueue(obj: T): Promise<ReconcileResult> {
    if (this.stopped)
      return Promise.resolve({ status: "failed", message: "controller is not running", retry: false });
    const key = this.reconciler.key(obj);
    let st = this.keys.get(key);
    if (!st) {
      st = { running: false, failures: 0 };
      this.keys.set(key, st);
    }
    const fp = this.reconciler.fingerprint?.(obj);
    if (st.last?.status === "stalled" && fp !== undefined && fp === st.stalledFingerprint) {
      return Promise.resolve(st.last);
    }
    const state = st;
    return new Promise((resolve) => {
      if (state.next) {
        state.next.obj = obj;
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

  private async drain(key: string, st: KeyState<T>): Promise<void> {
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

  private async runOnce(key: string, obj: T, st: KeyState<T>): Promise<ReconcileResult> {
    const ctx: ReconcileContext = {
      signal: this.abort.signal,
      attempt: st.failures + 1,
      logger: this.logger,
    };
    let result: ReconcileResult;
    let retryAfter: number | undefined;
    try {
      result = await this.reconciler.reconcile(obj, ctx);
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
    if (this.stopped && result.status === "failed") return result;
    this.transition(key, obj, st, result);
    if (retryAfter !== undefined) result.requeueAfterMs = Math.max(result.requeueAfterMs ?? 0, retryAfter);
    return result;
  }

  private transition(key: string, obj: T, st: KeyState<T>, result: ReconcileResult): void {
    const prev = st.last;
    const failedish = (r?: ReconcileResult) => r?.status === "failed" || r?.status === "stalled";
    let state: ReconcilerEvent["state"] | undefined;
    if (result.status === "failed" && (prev?.status !== "failed" || prev.message !== result.message))
      state = "failed";
    if (result.status === "stalled" && (prev?.status !== "stalled" || prev.message !== result.message))
      state = "stalled";
    if ((result.status === "ready" || result.status === "progressing") && failedish(prev))
      state = "recovered";
    if (prev?.status !== result.status) st.since = this.clock.now().toISOString();
    st.failures = result.status === "failed" ? st.failures + 1 : 0;
    st.stalledFingerprint = result.status === "stalled" ? this.reconciler.fingerprint?.(obj) : undefined;
    st.last = result;
    for (const ev of result.events ?? []) this.opts.sink.emit(ev);
    if (state && !result.reported) {
      this.opts.sink.emit({
        kind: "reconciler",
        id: correlationId(),
        time: this.clock.now().toISOString(),
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
    const level = result.status === "failed" ? "warn" : "debug";
    this.logger[level]({ key, status: result.status, message: result.message }, "reconciled");
  }

  private schedule(key: string, obj: T, st: KeyState<T>, result: ReconcileResult): void {
    let delay: number | undefined;
    if (result.status === "failed" && result.retry !== false) {
      const base = this.opts.baseBackoffMs ?? 1_000;
      const max = this.opts.maxBackoffMs ?? 300_000;
      const exp = Math.min(max, base * 2 ** Math.min(st.failures - 1, 20));
      // Full jitter in the upper half: replicas and keys do not retry in lockstep.
      delay = Math.max(result.requeueAfterMs ?? 0, exp / 2 + Math.random() * (exp / 2));
    } else if (result.requeueAfterMs !== undefined && result.status !== "stalled") {
      delay = result.requeueAfterMs;
    }
    if (delay === undefined) return;
    st.timer = setTimeout(() => {
      st.timer = undefined;
      if (this.stopped || st.next) return;
      st.next = { obj, waiters: [] };
      if (!st.running) void this.drain(key, st);
    }, delay);
    st.timer.unref?.();
  }
}
