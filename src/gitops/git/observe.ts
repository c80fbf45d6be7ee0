/** What the config repo tells operators: the commit log line's fields and the push-retry counter. */
import type { Counter, Metrics } from "../../core/metrics.js";
import type { Change } from "../config-repo.js";

/** What the commit log line says of the change: its subject and the invocation that asked for it. */
export const logged = (c: Change) => ({
  subject: c.subject,
  ...(c.invocation ? { invocation: c.invocation } : {}),
});

/** `gitops_git_push_retries_total`, when there is a registry. */
export function pushRetriesCounter(metrics: Metrics | undefined): Counter | undefined {
  return metrics?.counter(
    "gitops_git_push_retries_total",
    "Config repo pushes rejected (another writer moved the branch), then re-applied on the new head.",
  );
}

/** What the repo keeps of the registry. */
export interface Observed {
  pushRetries?: Counter | undefined;
}
