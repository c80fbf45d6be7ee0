import { type Condition, defineReasons } from "../conditions.js";
import type { ReleaseRecord } from "./state.js";

/** Why a release is in its condition, declared once. */
export const HelmReasons = defineReasons([
  /** Installed or upgraded, or already in sync (no helm call). Fine. */
  "Deployed",
  /** The HelmRelease left git and its release was uninstalled (or there was none). Fine. */
  "Uninstalled",
  /** Not reconciled on purpose: suspended, ignored, removed with pruning off, or left to Flux. Fine. */
  "Skipped",
  /** The target namespace does not exist yet: requeued shortly (the sync may create it). */
  "WaitingForNamespace",
  /** helm is busy with this release or the API server is slow: requeued shortly. */
  "Progressing",
  /** The HelmRelease cannot be used as written (bad spec, bad values, missing chart): waits for a new commit. */
  "InvalidSpec",
  /** The chart could not be fetched (repository unreachable): retried with backoff. */
  "ChartUnavailable",
  /** Install or upgrade failed; no rollback configured: retried only when chart, values or spec change (no backoff). */
  "ReleaseFailed",
  /** A failed upgrade was rolled back, or retries are exhausted: stalled until chart+values change or `retry`. */
  "RolledBack",
  /** A release of that name exists and was not installed by gitops-bot: reported, never taken over (no backoff). */
  "NotOwned",
  /** The cluster could not be read or written: retried with backoff. */
  "ClusterUnavailable",
] as const);

export type HelmReason = keyof typeof HelmReasons;

/** The condition a release's status record stands for (what a restarted replica compares with). */
export function recordedCondition(r: ReleaseRecord | undefined): Condition | undefined {
  if (!r?.status) return undefined;
  const c: Condition = { status: r.status };
  if (r.reason) c.reason = r.reason;
  if (r.message) c.message = r.message;
  if (r.gitRevision) c.observedRevision = r.gitRevision;
  return c;
}
