/**
 * Helm operations on `/metrics`: a `HelmClient` that times every call of the one it wraps, so the
 * CLI itself carries no metrics code. `gitops_helm_operations_total{action,result}` (`result`:
 * `success`, or the `HelmError` kind such as `timeout`, `conflict`, `error`) and
 * `gitops_helm_operation_duration_seconds{action}`.
 */
import type { Metrics } from "../core/metrics.js";
import { type HelmClient, HelmError } from "./cli.js";

const ACTIONS = ["status", "history", "install", "upgrade", "rollback", "test", "uninstall", "pull"] as const;

/** `client` with every operation counted and timed in `metrics`. */
export function instrumentHelm(client: HelmClient, metrics: Metrics): HelmClient {
  const total = metrics.counter(
    "gitops_helm_operations_total",
    "Helm CLI operations by action (install, upgrade, rollback, …) and result (success or the error kind).",
    ["action", "result"],
  );
  const duration = metrics.histogram(
    "gitops_helm_operation_duration_seconds",
    "Time one helm CLI operation took, by action.",
    ["action"],
    [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  );
  const out = {} as Record<(typeof ACTIONS)[number], unknown>;
  for (const action of ACTIONS) {
    const fn = client[action].bind(client) as (...a: unknown[]) => Promise<unknown>;
    out[action] = async (...args: unknown[]) => {
      const done = duration.startTimer({ action });
      try {
        const r = await fn(...args);
        total.inc({ action, result: "success" });
        return r;
      } catch (err) {
        total.inc({ action, result: err instanceof HelmError ? err.kind : "error" });
        throw err;
      } finally {
        done();
      }
    };
  }
  return out as unknown as HelmClient;
}
