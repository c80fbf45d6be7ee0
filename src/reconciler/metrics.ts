/**
 * Reconciler metrics, once for every reconciler: `attach` subscribes to a `Controller`'s runs, so
 * sync, image automation and Helm (and any reconciler added later) export the same series with no
 * code of their own. Names (stable; alerts rely on them):
 *
 * - `gitops_reconcile_duration_seconds{reconciler}`: histogram of each run's `reconcile` time;
 * - `gitops_reconcile_total{reconciler,result}`: runs by the condition they ended in
 *   (`ready`, `progressing`, `failed`, `stalled`);
 * - `gitops_reconcile_last_success_timestamp_seconds{reconciler}`: when a run last ended `ready`;
 * - `gitops_reconcile_items{reconciler,status,reason}`: keys by their current condition (read at scrape).
 */
import type { Metrics } from "../core/metrics.js";
import type { Controller } from "./controller.js";

/** Reconciles take from milliseconds (an unchanged image scan) to minutes (a Helm upgrade that waits). */
export const RECONCILE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

type Observed = Pick<Controller<unknown>, "name" | "observe" | "conditions">;

export class ReconcilerMetrics {
  private readonly controllers: Observed[] = [];
  private readonly duration;
  private readonly total;
  private readonly lastSuccess;

  constructor(metrics: Metrics) {
    this.duration = metrics.histogram(
      "gitops_reconcile_duration_seconds",
      "Time one reconcile took, by reconciler.",
      ["reconciler"],
      RECONCILE_BUCKETS,
    );
    this.total = metrics.counter(
      "gitops_reconcile_total",
      "Reconcile runs by reconciler and the condition they ended in (ready, progressing, failed, stalled).",
      ["reconciler", "result"],
    );
    this.lastSuccess = metrics.gauge(
      "gitops_reconcile_last_success_timestamp_seconds",
      "Unix time of the reconciler's last run that ended ready.",
      ["reconciler"],
    );
    metrics.collect(
      "gitops_reconcile_items",
      "Objects (keys) by the reconciler and their current condition status and reason.",
      "gauge",
      ["reconciler", "status", "reason"],
      () => this.items(),
    );
  }

  /** Exports `controller`'s runs; call once per controller. */
  attach(controller: Observed): void {
    const reconciler = controller.name;
    this.controllers.push(controller);
    controller.observe((run) => {
      this.duration.observe({ reconciler }, run.seconds);
      this.total.inc({ reconciler, result: run.status });
      if (run.status === "ready") this.lastSuccess.set({ reconciler }, run.time.getTime() / 1000);
    });
  }

  private items(): { labels: Record<string, string>; value: number }[] {
    const counts = new Map<string, { labels: Record<string, string>; value: number }>();
    for (const c of this.controllers) {
      for (const k of c.conditions()) {
        const labels = { reconciler: c.name, status: k.status, reason: k.reason ?? "" };
        const id = JSON.stringify(labels);
        const found = counts.get(id);
        if (found) found.value++;
        else counts.set(id, { labels, value: 1 });
      }
    }
    return [...counts.values()];
  }
}
