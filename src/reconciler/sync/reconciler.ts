import { correlationId, TransientError } from "../../core/errors.js";
import type { CommitRef, SyncEvent, SyncObjectResult } from "../../core/events.js";
import { type Clock, type SyncTriggerOptions, systemClock } from "../../core/ports.js";
import type { ConfigRepo } from "../../gitops/config-repo.js";
import type { Condition } from "../conditions.js";
import type { Description, Notice, ReconcileContext, ReconcileResult, Reconciler } from "../controller.js";
import { recordedCondition, type SyncReason, SyncReasons, syncFindings } from "./conditions.js";
import type { SyncEngine, SyncReport } from "./engine.js";
import type { InventoryEntry, SyncState, SyncStateStore } from "./state.js";

/** Why a sync runs. */
export interface SyncRequest {
  reason: NonNullable<SyncTriggerOptions["reason"]>;
  /** Who asked (chat user, webhook sender), for logs. */
  actor?: string;
}

export interface SyncReconcilerDeps {
  repo: ConfigRepo;
  engine: SyncEngine;
  store: SyncStateStore;
  clusterName: string;
  /** The sync name (the key of the controller). */
  name: string;
  clock?: Clock;
  /** How many commits an event lists at most (default 20). */
  maxCommits?: number;
  /**
   * Called after a run that applied `revision` (with or without per-object errors; not after an
   * outage): the Helm reconciler reconciles the HelmReleases of that revision next.
   */
  onApplied?: (revision: string) => void;
}

const CHANGED = new Set(["created", "configured", "pruned"]);

/** What a sync run hands to `describe` (the transition payload). */
export interface SyncPayload {
  /** The last applied revision before this run. */
  from?: string;
  to: string;
  /** Objects created, configured or pruned. */
  changes: SyncObjectResult[];
  failures: SyncObjectResult[];
  /** Drift left in place (correction off). */
  leftAlone: SyncObjectResult[];
}

/**
 * `Reconciler` for git -> cluster sync: fetches the branch, runs the `SyncEngine` at its head,
 * persists the state and returns a condition (reason from `SyncReasons`) whose findings are the
 * failed objects and the drift left alone. It remembers nothing of what was announced: the
 * controller compares conditions and calls `describe` when there is something to tell, which
 * turns it into one `SyncEvent` (changes, new failures, new drift, a recovery from object
 * failures). Whole-sync failures (git unreachable, API server down) are `failed` results that the
 * controller retries with backoff and announces with its own transition event.
 */
export class SyncReconciler implements Reconciler<SyncRequest, SyncPayload> {
  readonly name = "sync" as const;
  /** A bad manifest needs a new commit: the interval retries it, not a backoff. */
  readonly noBackoff: ReadonlySet<string> = new Set([SyncReasons.ObjectsFailed]);
  private loaded: { state: SyncState; inventory: InventoryEntry[] } | undefined;
  private readonly clock: Clock;

  constructor(private readonly deps: SyncReconcilerDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  key(): string {
    return `sync/${this.deps.name}`;
  }

  /** The revision of the last sync attempt (in memory; undefined before the first). */
  lastRevision(): string | undefined {
    return this.loaded?.state.lastAttemptedRevision;
  }

  /** Forget cached state, e.g. when this replica becomes leader (another may have written it). */
  reset(): void {
    this.loaded = undefined;
  }

  /** The condition of the state record, so a restart does not announce again what was announced. */
  async restore(): Promise<Condition | undefined> {
    this.loaded ??= await this.deps.store.load();
    return recordedCondition(this.loaded.state);
  }

  async reconcile(req: SyncRequest, ctx: ReconcileContext): Promise<ReconcileResult<SyncPayload>> {
    const { repo, engine, store } = this.deps;
    this.loaded ??= await store.load();
    const { state, inventory } = this.loaded;
    const now = () => this.clock.now().toISOString();
    let head: string;
    try {
      head = await repo.sync();
    } catch (err) {
      const message = `cannot fetch the config repo: ${(err as Error).message}`;
      await this.saveFailure(state, SyncReasons.FetchFailed, message, undefined, ctx);
      return { status: "failed", reason: SyncReasons.FetchFailed, message };
    }
    ctx.logger.debug({ head, reason: req.reason, actor: req.actor }, "sync starting");
    let report: Awaited<ReturnType<SyncEngine["run"]>>;
    try {
      report = await engine.run(repo, head, inventory, ctx.signal);
    } catch (err) {
      const transient = err instanceof TransientError;
      const reason = transient ? SyncReasons.ClusterUnavailable : SyncReasons.SyncFailed;
      const message = transient
        ? `cluster unavailable: ${err.message}`
        : `sync of ${head.slice(0, 7)} failed: ${(err as Error).message}`;
      await this.saveFailure(state, reason, message, head, ctx);
      return { status: "failed", reason, message, correlationId: head, observedRevision: head };
    }
    store.touch(now());

    const failures = report.objects.filter((o) => o.action === "failed");
    const leftAlone = report.objects.filter((o) => o.drift && o.action === "unchanged");
    const changes = report.objects.filter((o) => CHANGED.has(o.action));

    const next = nextState(state, report, head, failures, now);
    if (!ctx.signal.aborted) {
      await store.save(next, report.inventory, ctx.signal).catch((err) => {
        ctx.logger.warn({ err }, "could not save the sync state");
      });
    }
    this.loaded = { state: next, inventory: report.inventory };
    if (next.lastAppliedRevision === head && !report.transient && !ctx.signal.aborted) {
      try {
        this.deps.onApplied?.(head);
      } catch (err) {
        ctx.logger.warn({ err }, "the applied-revision hook failed");
      }
    }

    const result = {
      findings: syncFindings(failures, leftAlone),
      payload: { to: head, changes, failures, leftAlone } as SyncPayload,
      changed: changes.length > 0,
      correlationId: head,
      observedRevision: head,
    };
    if (state.lastAppliedRevision) result.payload.from = state.lastAppliedRevision;
    if (report.transient) {
      // The changes that did happen are described; the controller reports the failure and retries.
      const message = `cluster unavailable: ${report.transient.message}`;
      return { ...result, status: "failed", reason: SyncReasons.ClusterUnavailable, message };
    }
    if (failures.length > 0) {
      return { ...result, status: "failed", reason: SyncReasons.ObjectsFailed, message: next.message };
    }
    const summary = `${head.slice(0, 7)}: ${count(report.objects, "created")} created, ${count(report.objects, "configured")} configured, ${count(report.objects, "pruned")} pruned`;
    return { ...result, status: "ready", reason: SyncReasons.Synced, message: summary };
  }

  /**
   * One `SyncEvent` for a run the controller announces, when there is something object-level to
   * tell: changes, new failures, new drift left alone, or the recovery from object failures.
   * Otherwise (a whole-sync failure or its recovery) the controller's own event tells it.
   */
  async describe(n: Notice<SyncRequest, SyncPayload>): Promise<Description | undefined> {
    const p = n.result.payload;
    if (!p) return undefined;
    const newDrift = n.newFindings.has("drift");
    const newFailures = n.newFindings.has("failed");
    const recovered = n.transition === "recovered";
    const fromObjectFailures = recovered && n.previous?.reason === SyncReasons.ObjectsFailed;
    if (p.changes.length === 0 && !newDrift && !newFailures && !fromObjectFailures) return undefined;
    // Drift left in place is listed once, when it is new, not on every sync while it lasts.
    const objects = [...p.changes, ...(newDrift ? p.leftAlone : []), ...p.failures];
    const ev = await this.event(p.from, p.to, objects, recovered);
    // An outage mid-sync is not told by the changes that did happen: the controller adds its event.
    return { events: [ev], coversTransition: n.result.reason !== SyncReasons.ClusterUnavailable };
  }

  private async saveFailure(
    state: SyncState,
    reason: SyncReason,
    message: string,
    head: string | undefined,
    ctx: ReconcileContext,
  ): Promise<void> {
    if (!this.loaded) return;
    const next: SyncState = { ...state, result: "failed", reason, message };
    if (head) next.lastAttemptedRevision = head;
    if (!sameOutcome(state, next)) next.lastChangeTime = this.clock.now().toISOString();
    this.loaded = { ...this.loaded, state: next };
    if (ctx.signal.aborted) return;
    // Best effort: when the API server is down this fails too, and the log says so.
    await this.deps.store.save(next, this.loaded.inventory, ctx.signal).catch((err) => {
      ctx.logger.debug({ err }, "could not save the sync state");
    });
  }

  private async event(
    from: string | undefined,
    to: string,
    objects: SyncObjectResult[],
    recovered: boolean,
  ): Promise<SyncEvent> {
    const { commits, warnings } = await this.commits(from, to);
    const ev: SyncEvent = {
      kind: "sync",
      id: correlationId(),
      time: this.clock.now().toISOString(),
      cluster: this.deps.clusterName,
      correlationId: to,
      toRevision: to,
      commits,
      objects,
    };
    if (from && from !== to) ev.fromRevision = from;
    if (recovered) ev.recovered = true;
    if (warnings.length > 0) ev.warnings = warnings;
    return ev;
  }

  /** Commits in `from..to`, newest first; detects a force push (from is no ancestor of to). */
  private async commits(
    from: string | undefined,
    to: string,
  ): Promise<{ commits: CommitRef[]; warnings: string[] }> {
    if (from === to) return { commits: [], warnings: [] };
    const max = this.deps.maxCommits ?? 20;
    try {
      const log = await this.deps.repo.log({ from: to, limit: from ? 200 : 1 });
      const commits: CommitRef[] = [];
      let found = false;
      for (const c of log) {
        if (c.sha === from) {
          found = true;
          break;
        }
        commits.push({ sha: c.sha, subject: c.subject, author: c.author.name });
      }
      const warnings: string[] = [];
      if (from && !found && log.length < 200) {
        warnings.push(
          `the branch was force-pushed: ${from.slice(0, 7)} is no longer in its history; objects only it had were pruned`,
        );
      }
      if (commits.length > max) warnings.push(`${commits.length - max} more commit(s) not listed`);
      return { commits: commits.slice(0, max), warnings };
    } catch {
      // The log is decoration: an event without commits beats no event.
      return { commits: [], warnings: [] };
    }
  }
}

/** The state record after a run that got a report (the drift record changes only when different drift is seen). */
function nextState(
  state: SyncState,
  report: SyncReport,
  head: string,
  failures: SyncObjectResult[],
  now: () => string,
): SyncState {
  const next: SyncState = {
    ...state,
    lastAttemptedRevision: head,
    result: report.transient ? "failed" : failures.length > 0 ? "partial" : "success",
    message: report.transient
      ? `cluster unavailable: ${report.transient.message}`
      : failures.length > 0
        ? `${failures.length} object(s) failed, first: ${failures[0]?.id}: ${failures[0]?.error}`
        : undefined,
    errors: failures.slice(0, 50).map((f) => ({ id: f.id, file: f.file, error: f.error ?? "" })),
  };
  delete next.reason;
  if (report.transient) next.reason = SyncReasons.ClusterUnavailable;
  if (!report.transient) next.lastAppliedRevision = head;
  // The drift record changes (and is written) only when different drift is seen.
  if (report.drift.length > 0 && JSON.stringify(report.drift.slice(0, 50)) !== JSON.stringify(state.drift)) {
    next.drift = report.drift.slice(0, 50);
    next.driftTime = now();
  }
  if (!sameOutcome(state, next)) next.lastChangeTime = now();
  return next;
}

function sameOutcome(a: SyncState, b: SyncState): boolean {
  const strip = (s: SyncState) => JSON.stringify({ ...s, lastChangeTime: undefined });
  return strip(a) === strip(b);
}

function count(objects: SyncObjectResult[], action: SyncObjectResult["action"]): number {
  return objects.filter((o) => o.action === action).length;
}
