import { correlationId } from "../../core/errors.js";
import type { CommitRef, HelmEvent } from "../../core/events.js";
import { type Clock, type Logger, systemClock } from "../../core/ports.js";
import type { ConfigRepo } from "../../gitops/config-repo.js";
import { gitChart } from "../../helm/chart-source.js";
import { labelDigest } from "../../helm/digest.js";
import type { Condition } from "../conditions.js";
import type { Description, Notice, ReconcileContext, ReconcileResult, Reconciler } from "../controller.js";
import { type HelmReason, HelmReasons, recordedCondition } from "./conditions.js";
import { type DesiredOptions, type DesiredSet, desiredAt } from "./desired.js";
import { type HelmReleaseStatusWriter, phaseOf } from "./hr-status.js";
import { imageChanges } from "./images.js";
import type { HelmStateStore, ReleaseRecord } from "./state.js";
import { reconcileGone, reconcilePresent, type StepDeps, type StepOutcome } from "./step.js";

/**
 * What the Helm controller reconciles: `scan` reads the HelmReleases of the revision the sync
 * applied and requests every release of it (and every release we installed that left git);
 * `release` reconciles one HelmRelease (`<namespace>/<name>`) at that revision.
 */
export type HelmRequest =
  | { type: "scan"; revision?: string; reason: string }
  | { type: "release"; key: string; revision: string; reason: string; retry?: number; actor?: string };

export interface HelmPayload {
  outcome: StepOutcome;
  key: string;
  revision: string;
  /** The record before this pass. */
  previous?: ReleaseRecord;
}

export interface HelmReconcilerDeps {
  repo: ConfigRepo;
  store: HelmStateStore;
  status: HelmReleaseStatusWriter;
  step: Omit<StepDeps, "signal">;
  desired: Omit<DesiredOptions, "reconcileV2" | "v2Reason">;
  /** `helm.v2`. */
  v2: "flux" | "always" | "never";
  /** The revision the sync last applied (its status record), for a scan without one. */
  appliedRevision: () => Promise<string | undefined>;
  /** Requests a reconcile (the service's controller). */
  enqueue: (req: HelmRequest) => void;
  /** Is this key known to the controller already (a scan of the same revision skips those)? */
  known: (key: string) => boolean;
  clusterName: string;
  logger: Logger;
  /** env and app of a HelmRelease file, for notifications (the release model). */
  locate?: (file: string) => Promise<{ env?: string; app?: string } | undefined>;
  clock?: Clock;
}

const FLUX_CRD = "helmreleases.helm.toolkit.fluxcd.io";
const KEEP_SETS = 3;

/**
 * `Reconciler` for HelmReleases (ADR 0009, 0013): the scan turns a synced revision into one
 * request per release; a release request runs the step (chart, values, `reconcileRelease`) and
 * saves its record and the HelmRelease's status. `describe` turns an announced pass into one
 * `HelmEvent` correlated with the applied commit, so notifications add it to that release's message.
 */
export class HelmReconciler implements Reconciler<HelmRequest, HelmPayload> {
  readonly name = "helm" as const;
  /** A failed release needs a change in git (or `retry`): the interval re-checks it without a helm call. */
  readonly noBackoff: ReadonlySet<string> = new Set([HelmReasons.ReleaseFailed, HelmReasons.NotOwned]);
  private readonly sets = new Map<string, DesiredSet>();
  private latest: string | undefined;
  private fluxPresent: boolean | undefined;
  private scanned: string | undefined;
  private readonly clock: Clock;

  constructor(private readonly deps: HelmReconcilerDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  key(req: HelmRequest): string {
    return req.type === "scan" ? "helm/scan" : `helm/${req.key}`;
  }

  fingerprint(req: HelmRequest): string {
    if (req.type === "scan") return `scan|${req.revision ?? ""}`;
    const set = this.sets.get(this.latest ?? req.revision) ?? this.sets.get(req.revision);
    const entry = set?.releases.get(req.key);
    const input = entry?.fingerprint ?? set?.kept.get(req.key)?.message ?? `rev:${req.revision}`;
    return `${input}|${req.retry ?? ""}`;
  }

  /** The newest revision scanned (what interval runs reconcile at). */
  get latestRevision(): string | undefined {
    return this.latest;
  }

  reset(): void {
    this.deps.store.reset();
    this.deps.status.forget();
    this.fluxPresent = undefined;
    this.scanned = undefined;
  }

  async restore(req: HelmRequest): Promise<Condition | undefined> {
    if (req.type === "scan") return undefined;
    return recordedCondition(await this.deps.store.get(req.key));
  }

  async reconcile(req: HelmRequest, ctx: ReconcileContext): Promise<ReconcileResult<HelmPayload>> {
    return req.type === "scan" ? this.scan(req, ctx) : this.release(req, ctx);
  }

  /** The desired set of `revision`, loaded once (config-repo charts resolved with it). */
  private async desired(revision: string): Promise<DesiredSet> {
    const hit = this.sets.get(revision);
    if (hit) return hit;
    const reconcileV2 = this.deps.v2 === "always" || (this.deps.v2 === "flux" && this.fluxPresent === false);
    const v2Reason =
      this.deps.v2 === "never"
        ? "v2 HelmReleases are not reconciled (helm.v2: never)"
        : `left to Flux's helm-controller (CRD ${FLUX_CRD} is installed; helm.v2: always reconciles them)`;
    const set = await desiredAt(this.deps.repo, revision, { ...this.deps.desired, reconcileV2, v2Reason });
    const charts = new Map<string, Promise<Awaited<ReturnType<typeof gitChart>>>>();
    const { tree } = this.deps.step.charts.configRepo;
    for (const entry of set.releases.values()) {
      if (!entry.fromConfigRepo || entry.source.type !== "git") continue;
      const path = entry.source.path;
      if (!charts.has(path))
        charts.set(path, gitChart(tree, revision, path, this.deps.step.charts.cacheDir, entry.spec.file));
      // A chart that cannot be read is that release's problem, found again (and reported) by its step.
      const chart = await (charts.get(path) as Promise<Awaited<ReturnType<typeof gitChart>>>).catch(
        () => undefined,
      );
      if (chart) {
        entry.chart = chart;
        entry.fingerprint = labelDigest([entry.fingerprint, chart.digest]);
      }
    }
    this.sets.set(revision, set);
    while (this.sets.size > KEEP_SETS) this.sets.delete(this.sets.keys().next().value as string);
    return set;
  }

  private async checkFlux(ctx: ReconcileContext): Promise<void> {
    if (this.fluxPresent !== undefined || this.deps.v2 !== "flux") return;
    const crd = await this.deps.step.kube.get({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: FLUX_CRD,
    });
    this.fluxPresent = crd !== undefined;
    if (this.fluxPresent) {
      ctx.logger.info(
        { crd: FLUX_CRD },
        "Flux's helm-controller CRD is installed: helm.toolkit.fluxcd.io/v2 HelmReleases are left to it (set helm.v2: always to reconcile them here)",
      );
    }
  }

  private async scan(
    req: Extract<HelmRequest, { type: "scan" }>,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult<HelmPayload>> {
    const revision = req.revision ?? (await this.deps.appliedRevision());
    if (!revision) return { status: "ready", message: "waiting for the sync to apply a revision" };
    await this.checkFlux(ctx);
    let set: DesiredSet;
    try {
      set = await this.desired(revision);
    } catch (err) {
      const message = `cannot read the HelmReleases of ${revision.slice(0, 7)}: ${(err as Error).message}`;
      return { status: "failed", reason: HelmReasons.ClusterUnavailable, message };
    }
    const fresh = this.scanned !== revision;
    this.latest = revision;
    this.scanned = revision;
    const records = await this.deps.store.all();
    const keys = new Set([...set.releases.keys(), ...set.kept.keys(), ...Object.keys(records)]);
    for (const key of [...keys].sort()) {
      if (!fresh && this.deps.known(`helm/${key}`)) continue;
      this.deps.enqueue({ type: "release", key, revision, reason: req.reason });
    }
    const message = `${set.releases.size} HelmRelease(s) at ${revision.slice(0, 7)}${set.leftToFlux ? `, ${set.leftToFlux} left to Flux` : ""}`;
    return { status: "ready", message, observedRevision: revision };
  }

  private async release(
    req: Extract<HelmRequest, { type: "release" }>,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult<HelmPayload>> {
    const revision = this.latest ?? req.revision;
    const set = await this.desired(revision);
    const prev = await this.deps.store.get(req.key);
    const kept = set.kept.get(req.key);
    const entry = set.releases.get(req.key);
    const deps: StepDeps = { ...this.deps.step, signal: ctx.signal };
    let outcome: StepOutcome;
    if (kept) {
      const status = kept.kind === "invalid" ? "stalled" : "ready";
      const reason: HelmReason = kept.kind === "invalid" ? HelmReasons.InvalidSpec : HelmReasons.Skipped;
      outcome = { status, reason, message: kept.message, record: prev };
    } else if (entry) {
      outcome = await reconcilePresent(entry, set, prev, req.retry !== undefined, deps);
    } else if (prev) {
      outcome = await reconcileGone(req.key, prev, deps);
    } else {
      return { status: "ready", reason: HelmReasons.Uninstalled, message: `${req.key}: not in git` };
    }
    if (!ctx.signal.aborted) {
      await this.deps.store.put(req.key, outcome.record, ctx.signal).catch((err) => {
        ctx.logger.warn({ err, key: req.key }, "could not save the Helm status record");
      });
      if (entry) await this.writeStatus(entry.spec, outcome, revision, ctx);
      else if (kept?.kind === "invalid") {
        // Say why on the object too (`kubectl get hr` shows Stalled and the file's problem).
        const [namespace = "default", ...name] = req.key.split("/");
        const hr = {
          apiVersion: kept.apiVersion,
          namespace,
          name: name.join("/"),
          releaseName: prev?.releaseName ?? "",
        };
        await this.writeStatus(hr, outcome, revision, ctx);
      }
    }
    const changed = (outcome.result?.actions.length ?? 0) > 0;
    const result: ReconcileResult<HelmPayload> = {
      status: outcome.status,
      reason: outcome.reason,
      message: outcome.message,
      observedRevision: revision,
      correlationId: revision,
      changed,
      payload: { outcome, key: req.key, revision, ...(prev ? { previous: prev } : {}) },
    };
    if (outcome.requeueAfterMs !== undefined) result.requeueAfterMs = outcome.requeueAfterMs;
    return result;
  }

  private async writeStatus(
    spec: { apiVersion: string; namespace: string; name: string; releaseName: string },
    o: StepOutcome,
    revision: string,
    ctx: ReconcileContext,
  ): Promise<void> {
    const latest = o.result?.state;
    await this.deps.status
      .write(
        { apiVersion: spec.apiVersion, namespace: spec.namespace, name: spec.name },
        {
          phase: phaseOf(o.status, o.reason),
          releaseName: spec.releaseName,
          ...(latest && "revision" in latest ? { releaseStatus: latest.kind } : {}),
          ...(o.result?.revision !== undefined ? { revision: o.result.revision } : {}),
          lastAppliedRevision: revision,
          message: o.message,
        },
        ctx.signal,
      )
      .catch((err) =>
        ctx.logger.debug({ err, release: spec.name }, "could not write the HelmRelease status"),
      );
  }

  /** One `HelmEvent` for an announced pass (something ran, a failure is new, or it recovered). */
  async describe(n: Notice<HelmRequest, HelmPayload>): Promise<Description | undefined> {
    const p = n.result.payload;
    if (!p || n.obj.type !== "release") return undefined;
    const phase = phaseFor(p.outcome, n.transition);
    if (!phase) return undefined;
    const o = p.outcome;
    const rec = o.record ?? p.previous;
    const [hrNamespace] = p.key.split("/");
    const ev: HelmEvent = {
      kind: "helm",
      id: correlationId(),
      time: this.clock.now().toISOString(),
      cluster: this.deps.clusterName,
      correlationId: p.revision,
      release: rec?.releaseName ?? p.key,
      namespace: rec?.targetNamespace ?? hrNamespace ?? "default",
      phase,
      gitRevision: p.revision,
    };
    if (rec?.file) ev.file = rec.file;
    if (o.result?.revision !== undefined) ev.revision = o.result.revision;
    if (o.chart) {
      ev.chart = o.chart.name;
      ev.chartVersion = o.chart.version;
      if (o.chart.description.startsWith("git ")) ev.chartDigest = o.chart.digest;
    }
    const failedAction = o.result?.actions.find((a) => !a.ok);
    if (phase !== "deployed" && phase !== "uninstalled") ev.error = failedAction?.error?.message ?? o.message;
    if (phase === "deployed" && o.images) {
      const changes = imageChanges(p.previous?.images, o.images);
      if (changes.length > 0 && p.previous?.images) ev.images = changes;
    }
    const commit = await this.commitOf(p.revision, rec?.file);
    if (commit) ev.commit = commit;
    const where = rec?.file ? await this.deps.locate?.(rec.file).catch(() => undefined) : undefined;
    if (where?.env) ev.env = where.env;
    if (where?.app) ev.app = where.app;
    return { events: [ev], coversTransition: true };
  }

  private async commitOf(revision: string, file: string | undefined): Promise<CommitRef | undefined> {
    try {
      const [c] = await this.deps.repo.log({ from: revision, limit: 1, ...(file ? { paths: [file] } : {}) });
      const head = c ?? (await this.deps.repo.log({ from: revision, limit: 1 }))[0];
      return head ? { sha: head.sha, subject: head.subject, author: head.author.name } : undefined;
    } catch {
      return undefined; // decoration: an event without its commit beats no event
    }
  }
}

/** The event phase of a pass, or undefined when there is nothing to tell. */
function phaseFor(
  o: StepOutcome,
  transition: Notice<HelmRequest>["transition"],
): HelmEvent["phase"] | undefined {
  const acts = o.result?.actions ?? [];
  if (acts.some((a) => a.ok && a.action.type === "rollback")) return "rolled-back";
  if (o.reason === HelmReasons.Uninstalled) return acts.length > 0 ? "uninstalled" : undefined;
  if (o.reason === HelmReasons.NotOwned) return "unmanaged";
  if (o.status === "stalled") return "stalled";
  if (o.status === "failed") return acts.some((a) => a.action.type === "test") ? "test-failed" : "failed";
  if (o.status !== "ready" || o.reason === HelmReasons.Skipped) return undefined;
  if (acts.some((a) => a.ok && (a.action.type === "install" || a.action.type === "upgrade")))
    return "deployed";
  if (acts.some((a) => a.ok && a.action.type === "test")) return "tested";
  return transition === "recovered" ? "deployed" : undefined;
}
