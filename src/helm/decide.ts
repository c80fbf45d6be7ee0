/**
 * The decision, pure: classify a release from its stored revisions (`classifyRelease`), then map
 * the state to exactly one action (`nextAction`), like helm-controller's
 * `DetermineReleaseState` -> `actionForState` (research/helm-reconciler.md §2).
 *
 * Everything the decision needs is in Helm's storage labels (ADR 0009): our ownership marker and
 * the digests of the chart, the values and the release-relevant spec on every revision we wrote
 * (helm copies them onto a rollback revision), helm's own status and version, and our test-result
 * label. So the decision survives a restart of the bot, and a no-op needs no helm process.
 *
 * Failure counting: a revision "failed with the desired config" when its digests equal the desired
 * ones and it is `failed`, its test failed (not ignored), or it was uninstalled by remediation.
 * Counts above `retryAfter` only (a `retry` command forgets older failures).
 */
import type { HelmStatusName } from "./cli.js";
import type { Remediation } from "./spec.js";
import { type StoredRevision, TEST_LABEL, UNLOCKED_LABEL } from "./storage.js";

export const OWNER_LABEL = "gitops-bot.dev/owner";
export const CHART_LABEL = "gitops-bot.dev/chart";
export const VALUES_LABEL = "gitops-bot.dev/values";
export const SPEC_LABEL = "gitops-bot.dev/spec";

/** What git says the release should be. */
export interface DesiredRelease {
  chartDigest: string;
  valuesDigest: string;
  specDigest: string;
  testEnable: boolean;
  /** `test.ignoreFailures` or the remediation's `ignoreTestFailures`. */
  ignoreTestFailures: boolean;
  install: Remediation;
  upgrade: Remediation;
}

export interface ClassifyInput {
  /** Our ownership marker for this HelmRelease (`ownerMarker`). */
  owner: string;
  /** Undefined when the HelmRelease was removed from git. */
  desired?: DesiredRelease;
  /** Failures at or below this revision are forgotten (a `retry` command). */
  retryAfter?: number;
}

export type ConfigChange = "chart" | "values" | "spec";

export type ReleaseState =
  /** No release (or only revisions uninstalled with kept history). */
  | { kind: "absent"; failures: number; keptHistory: boolean; everDeployed: boolean }
  /** The latest revision was not written by us (no marker, or another HelmRelease's). */
  | { kind: "unmanaged"; revision: number; owner: string | undefined }
  /** The latest revision is `pending-*`: a helm process died mid-operation. */
  | { kind: "locked"; revision: number; status: HelmStatusName }
  /** The latest revision failed (or its test failed). */
  | {
      kind: "failed";
      revision: number;
      /** What changed in git since that revision; [] = same chart, values and spec. */
      changed: ConfigChange[];
      failures: number;
      /** The newest earlier revision that was deployed (a rollback target), if any. */
      rollbackTarget: number | undefined;
      /** "interrupted": unlocked from a stale pending-* (a killed helm), not a failure of the config. */
      cause: "release" | "test" | "interrupted";
    }
  /** Deployed, but git holds a different chart, values or spec. */
  | { kind: "out-of-sync"; revision: number; changed: ConfigChange[]; failures: number }
  /** Deployed and current; tests are enabled and have not run for this revision. */
  | { kind: "untested"; revision: number }
  | { kind: "in-sync"; revision: number };

export type Action =
  | { type: "install"; replace: boolean; reason: string }
  | { type: "upgrade"; reason: string }
  | { type: "test"; reason: string }
  | { type: "rollback"; revision: number; reason: string }
  | { type: "uninstall"; keepHistory: boolean; reason: string }
  | { type: "unlock"; reason: string }
  | {
      type: "none";
      /**
       * ready: nothing to do; failed: the latest revision failed and stays so until git changes;
       * stalled: remediated (or retries exhausted), waits for a change in git (or `retry`);
       * unmanaged: reported, never taken over.
       */
      outcome: "ready" | "failed" | "stalled" | "unmanaged";
      reason: string;
    };

/** The ownership label value for a HelmRelease (a label value: ≤ 63 chars, `[A-Za-z0-9._-]`). */
export function ownerMarker(namespace: string, name: string): string {
  return `${namespace}.${name}`.slice(0, 63).replace(/[^A-Za-z0-9]+$/, "");
}

/**
 * The labels to write with an install or upgrade. For an upgrade, add `[TEST_LABEL]: "null"`: helm
 * merges the previous revision's labels, and `null` unsets a stale test result (on install helm
 * would store the string "null").
 */
export function releaseLabels(owner: string, d: DesiredRelease): Record<string, string> {
  return {
    [OWNER_LABEL]: owner,
    [CHART_LABEL]: d.chartDigest,
    [VALUES_LABEL]: d.valuesDigest,
    [SPEC_LABEL]: d.specDigest,
  };
}

function changes(labels: Record<string, string>, d: DesiredRelease): ConfigChange[] {
  const out: ConfigChange[] = [];
  if (labels[CHART_LABEL] !== d.chartDigest) out.push("chart");
  if (labels[VALUES_LABEL] !== d.valuesDigest) out.push("values");
  if (labels[SPEC_LABEL] !== d.specDigest) out.push("spec");
  return out;
}

const DEPLOYED: ReadonlySet<string> = new Set(["deployed", "superseded"]);

function tested(r: StoredRevision): boolean {
  return r.labels[TEST_LABEL] === "passed" || r.labels[TEST_LABEL] === "failed";
}

function testFailed(r: StoredRevision, d: DesiredRelease): boolean {
  return r.labels[TEST_LABEL] === "failed" && !d.ignoreTestFailures;
}

/** Classifies the release from its stored revisions (any order). */
export function classifyRelease(revisions: readonly StoredRevision[], input: ClassifyInput): ReleaseState {
  const revs = [...revisions].sort((a, b) => b.version - a.version);
  const latest = revs[0];
  const d = input.desired;
  const failures = d
    ? revs.filter(
        (r) =>
          r.version > (input.retryAfter ?? 0) &&
          changes(r.labels, d).length === 0 &&
          r.labels[OWNER_LABEL] === input.owner &&
          r.labels[UNLOCKED_LABEL] === undefined &&
          (r.status === "failed" || r.status === "uninstalled" || testFailed(r, d)),
      ).length
    : 0;
  const everDeployed = revs.some((r) => DEPLOYED.has(r.status) || tested(r));
  if (!latest || latest.status === "uninstalled") {
    return { kind: "absent", failures, keptHistory: latest !== undefined, everDeployed };
  }
  const owner = latest.labels[OWNER_LABEL];
  if (owner !== input.owner) return { kind: "unmanaged", revision: latest.version, owner };
  if (latest.status.startsWith("pending-") || latest.status === "uninstalling") {
    return { kind: "locked", revision: latest.version, status: latest.status };
  }
  // Removed from git: only ownership and locks matter (the caller uninstalls).
  if (!d) return { kind: "in-sync", revision: latest.version };
  const changed = changes(latest.labels, d);
  if (latest.status !== "deployed" || testFailed(latest, d)) {
    const target = revs.find((r) => r.version < latest.version && DEPLOYED.has(r.status));
    return {
      kind: "failed",
      revision: latest.version,
      changed,
      failures,
      rollbackTarget: target?.version,
      cause:
        latest.status === "deployed"
          ? "test"
          : latest.labels[UNLOCKED_LABEL] !== undefined
            ? "interrupted"
            : "release",
    };
  }
  if (changed.length > 0) return { kind: "out-of-sync", revision: latest.version, changed, failures };
  if (d.testEnable && latest.labels[TEST_LABEL] === undefined)
    return { kind: "untested", revision: latest.version };
  return { kind: "in-sync", revision: latest.version };
}

/** True while another attempt with the same chart+values is allowed after `failures` failures. */
export function mayRetry(rem: Remediation, failures: number): boolean {
  return failures === 0 || rem.retries < 0 || failures <= rem.retries;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/**
 * The one action for a state. `desired` undefined means the HelmRelease left git: uninstall what
 * we own, leave the rest.
 */
export function nextAction(state: ReleaseState, desired: DesiredRelease | undefined): Action {
  if (!desired) {
    switch (state.kind) {
      case "absent":
        return { type: "none", outcome: "ready", reason: "removed from git; no release to uninstall" };
      case "unmanaged":
        return {
          type: "none",
          outcome: "unmanaged",
          reason: "removed from git, but the release was not installed by gitops-bot: left alone",
        };
      default:
        return { type: "uninstall", keepHistory: false, reason: "removed from git" };
    }
  }
  switch (state.kind) {
    case "absent": {
      const rem = state.everDeployed ? desired.upgrade : desired.install;
      if (!mayRetry(rem, state.failures)) {
        return {
          type: "none",
          outcome: "stalled",
          reason: `failed ${plural(state.failures, "time")} with this chart and values; waiting for a change`,
        };
      }
      return {
        type: "install",
        replace: state.keptHistory,
        reason: state.failures > 0 ? `retry ${state.failures} after a failure` : "not installed",
      };
    }
    case "unmanaged":
      return {
        type: "none",
        outcome: "unmanaged",
        reason: state.owner
          ? `release belongs to HelmRelease ${state.owner}: not taken over`
          : "release exists but was not installed by gitops-bot: not taken over",
      };
    case "locked":
      return { type: "unlock", reason: `stale ${state.status} (revision ${state.revision})` };
    case "failed": {
      if (state.changed.length > 0) {
        return {
          type: "upgrade",
          reason: `${state.changed.join(", ")} changed since the failed revision ${state.revision}`,
        };
      }
      if (state.cause === "interrupted") {
        // helm-controller after an unlock: the interrupted operation is run again.
        return { type: "upgrade", reason: `resume the operation interrupted at revision ${state.revision}` };
      }
      const isInstall = state.rollbackTarget === undefined;
      const rem = isInstall ? desired.install : desired.upgrade;
      const allowed = mayRetry(rem, state.failures);
      const what = state.cause === "test" ? "tests" : isInstall ? "install" : "upgrade";
      if (!allowed && !rem.remediateLastFailure) {
        return {
          type: "none",
          outcome: "failed",
          reason: `${what} failed (revision ${state.revision}); not retried until the chart, values or spec change`,
        };
      }
      if (isInstall) {
        // No earlier revision to go back to. A failed install is not uninstalled: the next
        // attempt upgrades over it (helm allows that), which keeps the failure count in storage.
        return allowed
          ? { type: "upgrade", reason: `retry ${state.failures} of a failed install` }
          : {
              type: "none",
              outcome: "failed",
              reason: `${what} failed ${plural(state.failures, "time")}; waiting for a change`,
            };
      }
      if (rem.strategy === "uninstall") {
        return {
          type: "uninstall",
          keepHistory: true,
          reason: `remediate failed ${what} (revision ${state.revision})`,
        };
      }
      return {
        type: "rollback",
        revision: state.rollbackTarget as number,
        reason: `remediate failed ${what} (revision ${state.revision})`,
      };
    }
    case "out-of-sync": {
      if (!mayRetry(desired.upgrade, state.failures)) {
        return {
          type: "none",
          outcome: "stalled",
          reason: `upgrade failed ${plural(state.failures, "time")} with this chart and values and was rolled back; waiting for a change`,
        };
      }
      return {
        type: "upgrade",
        reason:
          state.failures > 0
            ? `retry ${state.failures} after a rollback`
            : `${state.changed.join(", ")} changed`,
      };
    }
    case "untested":
      return { type: "test", reason: `tests have not run for revision ${state.revision}` };
    case "in-sync":
      return { type: "none", outcome: "ready", reason: `in sync (revision ${state.revision})` };
  }
}
