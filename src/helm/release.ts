/**
 * One reconcile of one Helm release, end to end: observe the stored revisions (Kubernetes API, no
 * helm process), classify, act, and repeat until nothing is left to do in this pass — each action
 * type at most once per pass and never past a remediation (helm-controller's loop rule), so a
 * failing chart cannot spin. The HelmRelease reconciler calls `reconcileRelease` for a release in
 * git and `reconcileRemoved` for one that left git; it owns the per-release lock (callers must
 * never run two of these for one release at a time) and the bounded concurrency across releases.
 *
 * Expected failures are returned in the result (outcome + message), not thrown; only errors of
 * the observation itself (API server unreachable) propagate.
 */

import type { ResolvedChart } from "./chart-source.js";
import { type HelmClient, HelmError } from "./cli.js";
import {
  type Action,
  classifyRelease,
  type DesiredRelease,
  nextAction,
  ownerMarker,
  type ReleaseState,
  releaseLabels,
} from "./decide.js";
import { labelDigest } from "./digest.js";
import type { HelmReleaseSpec } from "./spec.js";
import { type HelmStorage, TEST_LABEL } from "./storage.js";
import { type Values, valuesDigest } from "./values.js";

/** What git wants for one release (already resolved: chart fetched, values composed). */
export interface ReleaseInput {
  spec: HelmReleaseSpec;
  chart: ResolvedChart;
  values: Values;
}

export interface ReleaseDeps {
  helm: HelmClient;
  storage: HelmStorage;
  /** Forget failures at or below this revision (a `retry` chat command). */
  retryAfter?: number;
  /**
   * The config digest (`configDigest`) of the last install/upgrade that failed *before* Helm stored
   * a revision (e.g. "no matches for kind"), kept by the caller: not retried until it changes.
   */
  failedAttempt?: string;
}

export type ReleaseOutcome = "ready" | "failed" | "stalled" | "unmanaged" | "progressing";

export interface ActionRecord {
  action: Action;
  ok: boolean;
  /** helm's error, classified and redacted. */
  error?: { kind: string; message: string };
}

export interface ReleaseResult {
  outcome: ReleaseOutcome;
  /** One line for events and status: what happened or why nothing did. */
  message: string;
  /** Actions run in this pass, in order (empty for a no-op: no helm write). */
  actions: ActionRecord[];
  /** The state after the pass. */
  state: ReleaseState;
  /** The latest stored revision after the pass, if any. */
  revision?: number;
  /** Set when an install/upgrade failed without a stored revision: pass it back as `failedAttempt`. */
  failedAttempt?: string;
}

/**
 * The spec fields whose change warrants an upgrade (v1 upgraded on any generation change; fields
 * that only steer the reconciler — timeouts, tests, remediation, history — do not).
 */
export function specDigest(spec: HelmReleaseSpec): string {
  return labelDigest({
    resetValues: spec.resetValues,
    wait: spec.wait,
    forceUpgrade: spec.forceUpgrade,
    skipCRDs: spec.skipCRDs,
    disableOpenAPIValidation: spec.disableOpenAPIValidation,
  });
}

/** The desired release of an input (digests stored in the release labels, ADR 0009). */
export function desiredOf(input: ReleaseInput): DesiredRelease {
  const s = input.spec;
  return {
    chartDigest: input.chart.digest,
    valuesDigest: valuesDigest(input.values),
    specDigest: specDigest(s),
    testEnable: s.test.enable,
    ignoreTestFailures: s.test.ignoreFailures || s.upgrade.remediation.ignoreTestFailures,
    install: s.install.remediation,
    upgrade: s.upgrade.remediation,
  };
}

/** One digest of chart + values + spec (what `failedAttempt` remembers). */
export function configDigest(d: DesiredRelease): string {
  return labelDigest([d.chartDigest, d.valuesDigest, d.specDigest]);
}

const REMEDIATIONS = new Set(["rollback", "uninstall"]);

function errorOf(err: unknown): { kind: string; message: string } {
  if (err instanceof HelmError) return { kind: err.kind, message: err.message };
  return { kind: "internal", message: err instanceof Error ? err.message : String(err) };
}

async function observe(
  storage: HelmStorage,
  ns: string,
  release: string,
  owner: string,
  desired: DesiredRelease | undefined,
  retryAfter: number | undefined,
): Promise<{ state: ReleaseState; revision?: number }> {
  const revs = await storage.revisions(ns, release);
  const state = classifyRelease(revs, {
    owner,
    ...(desired ? { desired } : {}),
    ...(retryAfter !== undefined ? { retryAfter } : {}),
  });
  return { state, ...(revs[0] ? { revision: revs[0].version } : {}) };
}

async function run(
  action: Action,
  target: { release: string; namespace: string },
  input: ReleaseInput | undefined,
  desired: DesiredRelease | undefined,
  owner: string,
  state: ReleaseState,
  deps: ReleaseDeps,
  removedSpec?: Pick<HelmReleaseSpec, "uninstall">,
): Promise<void> {
  const s = input?.spec;
  switch (action.type) {
    case "install":
    case "upgrade": {
      if (!input || !s || !desired) return;
      const common = {
        ...target,
        chart: input.chart.path,
        values: input.values,
        timeout: s.timeout,
        wait: s.wait,
        skipCRDs: s.skipCRDs,
        disableOpenAPIValidation: s.disableOpenAPIValidation,
        labels: releaseLabels(owner, desired),
      };
      if (action.type === "install") {
        await deps.helm.install({ ...common, replace: action.replace });
      } else {
        await deps.helm.upgrade({
          ...common,
          labels: { ...common.labels, [TEST_LABEL]: "null" },
          maxHistory: s.maxHistory,
          resetValues: s.resetValues,
          force: s.forceUpgrade,
        });
      }
      return;
    }
    case "test": {
      if (!s || !("revision" in state)) return;
      try {
        await deps.helm.test({ ...target, timeout: s.test.timeout });
        await deps.storage.markTested(target.namespace, target.release, state.revision, true);
      } catch (err) {
        if (err instanceof HelmError && err.kind === "test-failed") {
          await deps.storage.markTested(target.namespace, target.release, state.revision, false);
        }
        throw err;
      }
      return;
    }
    case "rollback":
      if (!s) return;
      await deps.helm.rollback({
        ...target,
        revision: action.revision,
        timeout: s.rollback.timeout,
        wait: s.rollback.wait,
        force: s.rollback.force,
        disableHooks: s.rollback.disableHooks,
        maxHistory: s.maxHistory,
      });
      return;
    case "uninstall": {
      const u = (s ?? removedSpec)?.uninstall ?? { timeout: 300, disableHooks: false };
      await deps.helm.uninstall({
        ...target,
        timeout: u.timeout,
        disableHooks: u.disableHooks,
        keepHistory: action.keepHistory,
      });
      return;
    }
    case "unlock":
      await deps.storage.unlock(target.namespace, target.release);
      return;
    case "none":
      return;
  }
}

async function loop(
  target: { release: string; namespace: string },
  owner: string,
  input: ReleaseInput | undefined,
  deps: ReleaseDeps,
  removedSpec?: Pick<HelmReleaseSpec, "uninstall">,
): Promise<ReleaseResult> {
  const desired = input ? desiredOf(input) : undefined;
  const config = desired ? configDigest(desired) : undefined;
  const actions: ActionRecord[] = [];
  const done = new Set<string>();
  let failedAttempt: string | undefined;
  for (;;) {
    const { state, revision } = await observe(
      deps.storage,
      target.namespace,
      target.release,
      owner,
      desired,
      deps.retryAfter,
    );
    let action = nextAction(state, desired);
    if (
      (action.type === "install" || action.type === "upgrade") &&
      config !== undefined &&
      (deps.failedAttempt === config || failedAttempt === config)
    ) {
      action = {
        type: "none",
        outcome: "failed",
        reason:
          "the last attempt with this chart and values failed before Helm stored a revision; waiting for a change",
      };
    }
    const last = actions[actions.length - 1];
    const stop = (outcome: ReleaseOutcome, message: string): ReleaseResult => ({
      outcome,
      message,
      actions,
      state,
      ...(revision !== undefined ? { revision } : {}),
      ...((failedAttempt ?? (deps.failedAttempt === config ? config : undefined))
        ? { failedAttempt: failedAttempt ?? (config as string) }
        : {}),
    });
    if (action.type === "none") {
      // A failure in this pass explains the outcome better than the state's reason.
      if (last && !last.ok)
        return stop(
          action.outcome === "ready" ? "failed" : action.outcome,
          `${last.action.type} failed: ${last.error?.message}; ${action.reason}`,
        );
      return stop(
        action.outcome,
        last?.action.type === "rollback" ? `rolled back: ${action.reason}` : action.reason,
      );
    }
    // One action of each type per pass; never act again after a remediation.
    if (done.has(action.type) || (last && REMEDIATIONS.has(last.action.type))) {
      const why =
        last && !last.ok
          ? `${last.action.type} failed: ${last.error?.message}`
          : `next: ${action.type} (${action.reason})`;
      return stop(last && !last.ok ? "failed" : "progressing", why);
    }
    done.add(action.type);
    try {
      await run(action, target, input, desired, owner, state, deps, removedSpec);
      actions.push({ action, ok: true });
    } catch (err) {
      const error = errorOf(err);
      actions.push({ action, ok: false, error });
      if (err instanceof HelmError && err.transient)
        return stop("progressing", `${action.type}: ${error.message}`);
      if (action.type === "install" || action.type === "upgrade") {
        const after = await deps.storage.revisions(target.namespace, target.release);
        if ((after[0]?.version ?? 0) === (revision ?? 0)) {
          // Helm refused before storing a revision: nothing in storage remembers this attempt.
          failedAttempt = config;
        }
      }
      if (!(err instanceof HelmError)) return stop("failed", `${action.type}: ${error.message}`);
    }
  }
}

/** Reconciles one release that is in git: at most one action of each kind, then reports. */
export function reconcileRelease(input: ReleaseInput, deps: ReleaseDeps): Promise<ReleaseResult> {
  const s = input.spec;
  return loop(
    { release: s.releaseName, namespace: s.targetNamespace },
    ownerMarker(s.namespace, s.name),
    input,
    deps,
  );
}

/** Uninstalls the release of a HelmRelease that left git, if (and only if) we made it. */
export function reconcileRemoved(
  removed: Pick<HelmReleaseSpec, "name" | "namespace" | "releaseName" | "targetNamespace" | "uninstall">,
  deps: ReleaseDeps,
): Promise<ReleaseResult> {
  return loop(
    { release: removed.releaseName, namespace: removed.targetNamespace },
    ownerMarker(removed.namespace, removed.name),
    undefined,
    deps,
    removed,
  );
}
