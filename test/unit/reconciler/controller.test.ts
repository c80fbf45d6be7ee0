import { describe, expect, it } from "vitest";
import { StalledError, TransientError } from "../../../src/core/errors.js";
import type { GitopsEvent, ReconcilerEvent } from "../../../src/core/events.js";
import {
  Controller,
  type Notice,
  type ReconcileContext,
  type ReconcileResult,
  type Reconciler,
} from "../../../src/reconciler/controller.js";
import { RecordingLogger } from "../../helpers/recording-logger.js";

interface Obj {
  key: string;
  input: string;
}

/** A scripted reconciler: `script` answers each run in turn (a result, or an error to throw). */
class ScriptedReconciler implements Reconciler<Obj, GitopsEvent> {
  readonly name = "image" as const;
  /** Reasons that need new input: no backoff runs. */
  readonly noBackoff = new Set(["BadValues", "ChartMissing"]);
  runs: { obj: Obj; attempt: number }[] = [];
  active = 0;
  maxActive = 0;
  constructor(
    private readonly script: (ReconcileResult<GitopsEvent> | Error)[],
    private readonly delayMs = 0,
  ) {}
  key(o: Obj) {
    return o.key;
  }
  fingerprint(o: Obj) {
    return o.input;
  }
  /** A result's payload is the reconciler's own event for it. */
  async describe(n: Notice<Obj, GitopsEvent>) {
    return n.result.payload ? { events: [n.result.payload], coversTransition: true } : undefined;
  }
  async reconcile(obj: Obj, ctx: ReconcileContext): Promise<ReconcileResult<GitopsEvent>> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.runs.push({ obj, attempt: ctx.attempt });
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      const next = this.script.shift() ?? { status: "ready" };
      if (next instanceof Error) throw next;
      return next;
    } finally {
      this.active--;
    }
  }
}

function make(r: ScriptedReconciler) {
  const events: GitopsEvent[] = [];
  const c = new Controller(r, {
    sink: { emit: (e) => events.push(e) },
    clusterName: "c1",
    baseBackoffMs: 10,
    maxBackoffMs: 40,
  });
  c.start();
  return { c, events, states: () => (events as ReconcilerEvent[]).map((e) => e.state) };
}

const until = async (cond: () => boolean) => {
  const end = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timeout");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("Controller", () => {
  it("runs one reconcile per key at a time and collapses requests that arrive meanwhile into one run of the newest", async () => {
    const r = new ScriptedReconciler([], 30);
    const { c } = make(r);
    const p1 = c.enqueue({ key: "a", input: "1" });
    const p2 = c.enqueue({ key: "a", input: "2" });
    const p3 = c.enqueue({ key: "a", input: "3" });
    const p4 = c.enqueue({ key: "b", input: "1" });
    await Promise.all([p1, p2, p3, p4]);
    expect(r.runs.filter((x) => x.obj.key === "a").map((x) => x.obj.input)).toEqual(["1", "3"]);
    expect(r.maxActive).toBe(2); // a and b ran in parallel, never two a's
  });

  it("retries a TransientError with backoff, emitting one failed and one recovered event", async () => {
    const r = new ScriptedReconciler([
      new TransientError("api down"),
      new TransientError("api down"),
      { status: "ready" },
    ]);
    const { c, events, states } = make(r);
    const first = await c.enqueue({ key: "a", input: "1" });
    expect(first).toMatchObject({ status: "failed", message: "api down" });
    await until(() => r.runs.length === 3);
    await until(() => c.status("a").status === "ready");
    expect(r.runs.map((x) => x.attempt)).toEqual([1, 2, 3]);
    expect(states()).toEqual(["failed", "recovered"]);
    expect(events[0]).toMatchObject({
      kind: "reconciler",
      reconciler: "image",
      cluster: "c1",
      message: "a: api down",
    });
  });

  it("does not retry a stalled key until its input changes", async () => {
    const r = new ScriptedReconciler([new StalledError("no such chart"), { status: "ready" }]);
    const { c, states } = make(r);
    expect((await c.enqueue({ key: "a", input: "1" })).status).toBe("stalled");
    await new Promise((r2) => setTimeout(r2, 60));
    expect(r.runs).toHaveLength(1);
    expect((await c.enqueue({ key: "a", input: "1" })).status).toBe("stalled"); // same input: skipped
    expect(r.runs).toHaveLength(1);
    expect((await c.enqueue({ key: "a", input: "2" })).status).toBe("ready");
    expect(states()).toEqual(["stalled", "recovered"]);
  });

  it("emits nothing for a repeated identical failure, and lets a reconciler report its own events", async () => {
    const own: GitopsEvent = {
      kind: "helm",
      id: "x",
      time: "t",
      cluster: "c1",
      correlationId: "sha",
      release: "podinfo",
      namespace: "dev",
      phase: "failed",
    };
    const r = new ScriptedReconciler([
      { status: "failed", reason: "BadValues", message: "bad values" },
      { status: "failed", reason: "BadValues", message: "bad values" },
      { status: "failed", reason: "ChartMissing", message: "chart missing", payload: own },
    ]);
    const { c, events } = make(r);
    await c.enqueue({ key: "a", input: "1" });
    await c.enqueue({ key: "a", input: "1" });
    expect(events).toHaveLength(1);
    await c.enqueue({ key: "a", input: "1" });
    expect(events).toHaveLength(2);
    expect(events[1]).toBe(own);
    expect(r.runs).toHaveLength(3); // retry: false -> no backoff runs
  });

  it("logs a failure as a warning when it is new, not again on every run while it repeats", async () => {
    const r = new ScriptedReconciler([
      { status: "failed", reason: "BadValues", message: "bad values" },
      { status: "failed", reason: "BadValues", message: "bad values" },
      { status: "failed", reason: "BadValues", message: "bad values" },
      { status: "failed", reason: "ChartMissing", message: "chart missing" },
    ]);
    const logger = new RecordingLogger();
    const c = new Controller(r, { sink: { emit: () => {} }, clusterName: "c1", logger });
    c.start();
    for (let i = 0; i < 4; i++) await c.enqueue({ key: "a", input: "1" });
    c.stop();
    const warned = logger.records.filter((l) => l.level === "warn" && l.msg === "reconciled");
    expect(warned.map((l) => (l.obj as { message?: string }).message)).toEqual([
      "bad values",
      "chart missing",
    ]);
  });

  it("stop() aborts the running reconcile and cancels retries", async () => {
    let seen: AbortSignal | undefined;
    const r: Reconciler<Obj> = {
      name: "sync",
      key: (o) => o.key,
      reconcile: async (_o, ctx) => {
        seen = ctx.signal;
        await new Promise((res) => ctx.signal.addEventListener("abort", res));
        throw new TransientError("aborted");
      },
    };
    const events: GitopsEvent[] = [];
    const c = new Controller(r, {
      sink: { emit: (e) => events.push(e) },
      clusterName: "c1",
      baseBackoffMs: 1,
    });
    c.start();
    const p = c.enqueue({ key: "a", input: "1" });
    await until(() => seen !== undefined);
    c.stop();
    expect((await p).status).toBe("failed");
    expect(seen?.aborted).toBe(true);
    expect(c.running).toBe(false);
    expect((await c.enqueue({ key: "a", input: "1" })).message).toMatch(/not running/);
    expect(events).toEqual([]);
  });

  it("requeues every key after requeueAfterMs (the interval), with the object requeueObject gives", async () => {
    const r = new ScriptedReconciler([]);
    const c = new Controller(r, {
      sink: { emit: () => {} },
      clusterName: "c1",
      requeueAfterMs: 20,
      requeueObject: (o) => ({ ...o, input: "interval" }),
    });
    c.start();
    await c.enqueue({ key: "a", input: "1" });
    await until(() => r.runs.length >= 3);
    expect(r.runs.slice(1).every((x) => x.obj.input === "interval")).toBe(true);
    c.stop();
    const n = r.runs.length;
    await new Promise((res) => setTimeout(res, 60));
    expect(r.runs.length).toBe(n); // stop() leaves no timer behind
  });

  it("announces a new set of findings under the same failed condition once, and not again", async () => {
    const failed = (items: string[]) => ({
      status: "failed" as const,
      reason: "BadValues",
      message: "2 objects failed",
      findings: { failed: items },
    });
    const r = new ScriptedReconciler([
      failed(["a|x", "b|y"]),
      failed(["b|y", "a|x"]),
      failed(["a|x", "c|z"]),
    ]);
    const { c, states } = make(r);
    for (let i = 0; i < 3; i++) await c.enqueue({ key: "k", input: "1" });
    expect(states()).toEqual(["failed", "failed"]); // first and third; the order of items does not matter
  });
});
