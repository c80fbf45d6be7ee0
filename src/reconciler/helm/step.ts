/**
 * One release's pass, as the reconciler's step: resolve the chart, compose the values, run the
 * core (`reconcileRelease` / `reconcileRemoved`) and turn its outcome into a condition and the
 * next status record. Expected failures become conditions; only an outage (`TransientError`)
 * propagates, for the controller's backoff.
 */
import { StalledError, TransientError } from "../../core/errors.js";
import { type ChartSourceDeps, type ResolvedChart, resolveChart } from "../../helm/chart-source.js";
import type { HelmClient } from "../../helm/cli.js";
import { type ReleaseResult, reconcileRelease, reconcileRemoved } from "../../helm/release.js";
import type { HelmStorage } from "../../helm/storage.js";
import { composeValues } from "../../helm/values.js";
import type { KubeClient } from "../../kube/client.js";
import type { ConditionStatus } from "../conditions.js";
import { type HelmReason, HelmReasons } from "./conditions.js";
import type { DesiredRelease, DesiredSet } from "./desired.js";
import { imagesOf } from "./images.js";
import type { ReleaseRecord } from "./state.js";
import { valuesReader } from "./values-reader.js";

export interface StepDeps {
  kube: KubeClient;
  helm: HelmClient;
  storage: HelmStorage;
  charts: Omit<ChartSourceDeps, "configRepo"> & {
    configRepo: Omit<ChartSourceDeps["configRepo"], "revision">;
  };
  /** Upper bound of one helm operation, seconds (config `helm.timeout`). */
  maxTimeout?: number;
  /** Runs the helm part under the bounded concurrency across releases. */
  limit: <T>(fn: () => Promise<T>) => Promise<T>;
  signal: AbortSignal;
}

export interface StepOutcome {
  status: ConditionStatus;
  reason: HelmReason;
  message: string;
  record: ReleaseRecord | undefined;
  result?: ReleaseResult;
  chart?: ResolvedChart;
  /** Image references of the values, when a release was deployed. */
  images?: Record<string, string>;
  requeueAfterMs?: number;
}

/** helm's words for "the cluster does not serve this kind" (a CRD not installed, an API removed). */
const MISSING_KIND = /no matches for kind|resource mapping not found|ensure CRDs are installed first/i;

/** Maps the core's outcome to a condition. */
function conditionOf(res: ReleaseResult): { status: ConditionStatus; reason: HelmReason } {
  switch (res.outcome) {
    case "ready":
      return { status: "ready", reason: HelmReasons.Deployed };
    case "progressing":
      return { status: "progressing", reason: HelmReasons.Progressing };
    case "stalled":
      return { status: "stalled", reason: HelmReasons.RolledBack };
    case "unmanaged":
      return { status: "failed", reason: HelmReasons.NotOwned };
    default:
      return { status: "failed", reason: HelmReasons.ReleaseFailed };
  }
}

/** Resolves the chart of a release present in git (a config-repo chart was resolved with the set). */
export async function chartOf(
  entry: DesiredRelease,
  set: DesiredSet,
  deps: StepDeps,
): Promise<ResolvedChart> {
  if (entry.chart) return entry.chart;
  const charts: ChartSourceDeps = {
    ...deps.charts,
    configRepo: { ...deps.charts.configRepo, revision: set.revision },
  };
  return resolveChart(entry.source, entry.spec.file, charts);
}

/** Namespace there, chart resolved, values composed; or the outcome that says why not. */
async function prepare(
  entry: DesiredRelease,
  spec: DesiredRelease["spec"],
  set: DesiredSet,
  deps: StepDeps,
  stop: (status: ConditionStatus, reason: HelmReason, message: string, extra?: object) => StepOutcome,
): Promise<StepOutcome | { chart: ResolvedChart; values: Awaited<ReturnType<typeof composeValues>> }> {
  const ns = await deps.kube.get({ apiVersion: "v1", kind: "Namespace", name: spec.targetNamespace });
  if (!ns) {
    return stop(
      "progressing",
      HelmReasons.WaitingForNamespace,
      `${spec.file}: waiting for namespace ${spec.targetNamespace}`,
      { requeueAfterMs: 10_000 },
    );
  }
  let chart: ResolvedChart;
  try {
    chart = await chartOf(entry, set, deps);
  } catch (err) {
    if (err instanceof TransientError) return stop("failed", HelmReasons.ChartUnavailable, err.message);
    if (err instanceof StalledError) return stop("stalled", HelmReasons.InvalidSpec, err.message);
    throw err;
  }
  let values: Awaited<ReturnType<typeof composeValues>>;
  try {
    const reader = valuesReader({
      objects: set.objects,
      kube: deps.kube,
      chartDir: chart.path.endsWith(".tgz") ? undefined : chart.path,
      signal: deps.signal,
    });
    values = await composeValues(spec, reader);
  } catch (err) {
    if (err instanceof StalledError) return stop("stalled", HelmReasons.InvalidSpec, err.message);
    throw err;
  }
  return { chart, values };
}

/** A release in git: resolve, compose, reconcile. `retry`: forget earlier failures first. */
export async function reconcilePresent(
  entry: DesiredRelease,
  set: DesiredSet,
  prev: ReleaseRecord | undefined,
  retry: boolean,
  deps: StepDeps,
): Promise<StepOutcome> {
  const spec =
    deps.maxTimeout !== undefined && entry.spec.timeout > deps.maxTimeout
      ? { ...entry.spec, timeout: deps.maxTimeout }
      : entry.spec;
  const base: ReleaseRecord = {
    ...(prev ?? {}),
    releaseName: spec.releaseName,
    targetNamespace: spec.targetNamespace,
    file: spec.file,
    prune: entry.prune,
    gitRevision: set.revision,
  };
  const stop = (
    status: ConditionStatus,
    reason: HelmReason,
    message: string,
    extra: object = {},
  ): StepOutcome => ({
    status,
    reason,
    message,
    record: { ...base, status, reason, message },
    ...extra,
  });
  const ready = await prepare(entry, spec, set, deps, stop);
  if ("status" in ready) return ready;
  const { chart, values } = ready;
  let retryAfter = retry ? undefined : prev?.retryAfter;
  if (retry) {
    const revs = await deps.storage.revisions(spec.targetNamespace, spec.releaseName, deps.signal);
    retryAfter = revs[0]?.version ?? 0;
  }
  // A kind the cluster did not serve may come with a later revision (its CRD): try once more then.
  const newRevision = prev?.missingKindAt !== undefined && prev.missingKindAt !== set.revision;
  const failedAttempt = retry || newRevision ? undefined : prev?.failedAttempt;
  const result = await deps.limit(() =>
    reconcileRelease(
      { spec, chart, values: values.values },
      {
        helm: deps.helm,
        storage: deps.storage,
        ...(retryAfter !== undefined ? { retryAfter } : {}),
        ...(failedAttempt !== undefined ? { failedAttempt } : {}),
      },
    ),
  );
  const { status, reason } = conditionOf(result);
  // A pass that did nothing tells the same story as the pass that did (a failure is announced
  // once, also after a restart): keep its message while the condition stays.
  const quiet = result.actions.length === 0 && prev?.status === status && prev.reason === reason;
  const message = quiet && prev?.message ? prev.message : `${spec.file}: ${result.message}`;
  const deployed = result.actions.some(
    (a) => a.ok && (a.action.type === "install" || a.action.type === "upgrade"),
  );
  const images = imagesOf(values.values);
  const record: ReleaseRecord = { ...base, status, reason, message, chart: chart.description };
  if (result.revision !== undefined) record.revision = result.revision;
  else delete record.revision;
  if (result.failedAttempt) record.failedAttempt = result.failedAttempt;
  else delete record.failedAttempt;
  const missingKind = result.actions.some((a) => !a.ok && MISSING_KIND.test(a.error?.message ?? ""));
  if (result.failedAttempt && missingKind) record.missingKindAt = set.revision;
  else if (!result.failedAttempt) delete record.missingKindAt;
  if (retryAfter !== undefined) record.retryAfter = retryAfter;
  if (deployed && status === "ready") record.images = images;
  return {
    status,
    reason,
    message,
    record,
    result,
    chart,
    images,
    ...(status === "progressing" ? { requeueAfterMs: 15_000 } : {}),
  };
}

/** A release whose HelmRelease left git: uninstall it if we installed it and pruning allows. */
export async function reconcileGone(key: string, prev: ReleaseRecord, deps: StepDeps): Promise<StepOutcome> {
  const [namespace, ...rest] = key.split("/");
  const name = rest.join("/");
  if (!prev.prune) {
    return {
      status: "ready",
      reason: HelmReasons.Skipped,
      message: `${prev.file}: removed from git; release ${prev.releaseName} kept (pruning is off for it)`,
      record: undefined,
    };
  }
  const result = await deps.limit(() =>
    reconcileRemoved(
      {
        name,
        namespace: namespace ?? "default",
        releaseName: prev.releaseName,
        targetNamespace: prev.targetNamespace,
        uninstall: { timeout: deps.maxTimeout ?? 300, keepHistory: false, disableHooks: false },
      },
      { helm: deps.helm, storage: deps.storage },
    ),
  );
  const message = `${prev.file}: ${result.message}`;
  if (result.outcome === "ready") {
    return { status: "ready", reason: HelmReasons.Uninstalled, message, record: undefined, result };
  }
  if (result.outcome === "unmanaged") {
    return { status: "ready", reason: HelmReasons.NotOwned, message, record: undefined, result };
  }
  const { status, reason } = conditionOf(result);
  return { status, reason, message, record: { ...prev, status, reason, message }, result };
}
