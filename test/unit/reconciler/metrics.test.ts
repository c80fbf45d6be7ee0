import { describe, expect, it } from "vitest";
import { TransientError } from "../../../src/core/errors.js";
import { MetricsRegistry } from "../../../src/http/metrics.js";
import { Controller, type ReconcileResult, type Reconciler } from "../../../src/reconciler/controller.js";
import { ReconcilerMetrics } from "../../../src/reconciler/metrics.js";

interface Obj {
  key: string;
}

/** Answers each run from `script` in turn: a result, or an error to throw. */
function scripted(script: (ReconcileResult | Error)[]): Reconciler<Obj> {
  let i = 0;
  return {
    name: "sync",
    key: (o) => o.key,
    reconcile: async () => {
      const next = script[i++] ?? { status: "ready", reason: "Synced" };
      if (next instanceof Error) throw next;
      return next;
    },
  };
}

/** The sample lines of `name` in the exposition text, without HELP/TYPE. */
function samples(text: string, name: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe("reconciler metrics", () => {
  it("counts a failed then a recovering run, and sets the last success time only on success", async () => {
    const metrics = new MetricsRegistry();
    const rm = new ReconcilerMetrics(metrics);
    let now = new Date("2026-12-07T01:00:00Z");
    const controller = new Controller(
      scripted([new TransientError("git server unreachable"), { status: "ready", reason: "Synced" }]),
      {
        sink: { emit: () => {} },
        clusterName: "test",
        clock: { now: () => now },
        baseBackoffMs: 3_600_000,
      },
    );
    rm.attach(controller);
    controller.start();

    expect((await controller.enqueue({ key: "main" })).status).toBe("failed");
    let text = await metrics.render();
    expect(samples(text, "gitops_reconcile_total")).toEqual([
      'gitops_reconcile_total{reconciler="sync",result="failed"} 1',
    ]);
    expect(samples(text, "gitops_reconcile_last_success_timestamp_seconds")).toEqual([]);
    expect(samples(text, "gitops_reconcile_items")).toEqual([
      'gitops_reconcile_items{reconciler="sync",status="failed",reason=""} 1',
    ]);

    now = new Date("2026-12-07T01:05:00Z");
    expect((await controller.enqueue({ key: "main" })).status).toBe("ready");
    text = await metrics.render();
    expect(samples(text, "gitops_reconcile_total")).toEqual([
      'gitops_reconcile_total{reconciler="sync",result="failed"} 1',
      'gitops_reconcile_total{reconciler="sync",result="ready"} 1',
    ]);
    expect(samples(text, "gitops_reconcile_last_success_timestamp_seconds")).toEqual([
      `gitops_reconcile_last_success_timestamp_seconds{reconciler="sync"} ${now.getTime() / 1000}`,
    ]);
    expect(samples(text, "gitops_reconcile_items")).toEqual([
      'gitops_reconcile_items{reconciler="sync",status="ready",reason="Synced"} 1',
    ]);
    expect(samples(text, "gitops_reconcile_duration_seconds_count")).toEqual([
      'gitops_reconcile_duration_seconds_count{reconciler="sync"} 2',
    ]);
    controller.stop();
  });

  it("counts a run that threw an internal error as failed", async () => {
    const metrics = new MetricsRegistry();
    const rm = new ReconcilerMetrics(metrics);
    const controller = new Controller(scripted([new Error("boom")]), {
      sink: { emit: () => {} },
      clusterName: "test",
      baseBackoffMs: 3_600_000,
    });
    rm.attach(controller);
    controller.start();
    await controller.enqueue({ key: "a" });
    expect(samples(await metrics.render(), "gitops_reconcile_total")).toEqual([
      'gitops_reconcile_total{reconciler="sync",result="failed"} 1',
    ]);
    controller.stop();
  });
});
