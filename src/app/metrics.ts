/**
 * The metrics serve wires from outside the components that keep them: the leader gauge (read from
 * the elector at scrape time), the registry client's request counters and the reconcilers' series
 * (`ReconcilerMetrics`, once for all of them); the Helm CLI is wrapped where the Helm service builds
 * it (`wrapHelm`). See docs/operations.md.
 */
import type { Metrics } from "../core/metrics.js";
import type { LeaderElector } from "../kube/leader-election.js";
import type { Controller } from "../reconciler/controller.js";
import { ReconcilerMetrics } from "../reconciler/metrics.js";
import type { RegistryStats } from "../registry/client.js";

/** `gitops_leader`: 1 while this replica runs the reconcilers (it leads, or leader election is off). */
export function registerLeaderMetric(metrics: Metrics, elector: LeaderElector | undefined): void {
  metrics.collect(
    "gitops_leader",
    "1 while this replica leads (runs the reconcilers and reports), 0 otherwise; 1 when leader election is off.",
    "gauge",
    [],
    () => [{ value: !elector || elector.isLeader() ? 1 : 0 }],
  );
}

const REQUEST_KINDS: [keyof RegistryStats, string][] = [
  ["ping", "ping"],
  ["token", "token"],
  ["tagPages", "tag_page"],
  ["manifestHead", "manifest_head"],
  ["manifestGet", "manifest_get"],
  ["blobGet", "blob_get"],
];

/** The image registry client's counters: requests by kind, 429 answers, time waited. */
export function registerRegistryMetrics(metrics: Metrics, client: { stats(): RegistryStats }): void {
  metrics.collect(
    "gitops_registry_requests_total",
    "Requests to container registries by kind (tag_page, manifest_head, manifest_get, blob_get, token, ping).",
    "counter",
    ["kind"],
    () => {
      const s = client.stats();
      return REQUEST_KINDS.map(([k, kind]) => ({ labels: { kind }, value: s[k] }));
    },
  );
  metrics.collect(
    "gitops_registry_throttled_total",
    "429 (Too Many Requests) answers from container registries.",
    "counter",
    [],
    () => [{ value: client.stats().throttled }],
  );
  metrics.collect(
    "gitops_registry_wait_seconds_total",
    "Time spent waiting for a registry's request budget or its Retry-After.",
    "counter",
    [],
    () => [{ value: client.stats().waitedMs / 1000 }],
  );
}

/** Exports every controller's runs (reconcile duration, results, last success, items by condition). */
export function registerReconcilerMetrics(
  metrics: Metrics,
  controllers: (Pick<Controller<unknown>, "name" | "observe" | "conditions"> | undefined)[],
): void {
  const rm = new ReconcilerMetrics(metrics);
  for (const c of controllers) if (c) rm.attach(c);
}
