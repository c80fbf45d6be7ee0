import type { SyncObjectResult } from "../../core/events.js";
import { type Condition, defineReasons } from "../conditions.js";
import type { SyncState } from "./state.js";

/** Why a sync is in its condition, declared once. */
export const SyncReasons = defineReasons([
  /** Every object applied (or unchanged), pruning done. */
  "Synced",
  /** The config repo could not be fetched: nothing was applied; `failed`, retried with backoff. */
  "FetchFailed",
  /** The sync failed as a whole (e.g. the manifests could not be read); `failed`, retried with backoff. */
  "SyncFailed",
  /** The API server went away mid-sync: pruning was skipped, the rest is retried with backoff. */
  "ClusterUnavailable",
  /** Some objects failed to apply: they need a new commit, so no backoff (the interval retries). */
  "ObjectsFailed",
] as const);

export type SyncReason = keyof typeof SyncReasons;

/** Object failures and drift left alone, as the condition's findings (see `Condition.findings`). */
export function syncFindings(
  failures: SyncObjectResult[],
  leftAlone: SyncObjectResult[],
): Record<string, string[]> {
  return {
    failed: failures.map((f) => `${f.id}|${f.error ?? ""}`),
    drift: leftAlone.map((o) => `${o.id}|${(o.drift ?? []).join(",")}`),
  };
}

/** The condition a state record stands for (what a restarted replica compares its first run with). */
export function recordedCondition(state: SyncState): Condition | undefined {
  if (state.result === "never") return undefined;
  const findings = {
    failed: state.errors.map((e) => `${e.id}|${e.error}`),
    drift: state.drift.filter((d) => !d.corrected).map((d) => `${d.id}|${d.fields.join(",")}`),
  };
  const c: Condition = {
    status: state.result === "success" ? "ready" : "failed",
    reason:
      state.result === "success"
        ? SyncReasons.Synced
        : state.result === "partial"
          ? SyncReasons.ObjectsFailed
          : (state.reason ?? SyncReasons.SyncFailed),
    findings,
  };
  if (state.message) c.message = state.message;
  if (state.lastAttemptedRevision) c.observedRevision = state.lastAttemptedRevision;
  return c;
}
