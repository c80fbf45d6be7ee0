import { correlationId, TransientError } from "../../core/errors.js";
import type { CommitRef, SyncEvent, SyncObjectResult } from "../../core/events.js";
import { type Clock, type SyncTriggerOptions, systemClock } from "../../core/ports.js";
import type { ConfigRepo } from "../../gitops/config-repo.js";
import type { ReconcileContext, ReconcileResult, Reconciler } from "../controller.js";
import type { SyncEngine } from "./engine.js";
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
}

const CHANGED = new Set(["created", "configured", "pruned"]);

/**
 * `Reconciler` for git -> cluster sync: fetches the branch, runs the `SyncEngine` at its head,
 * persists the state and emits a `SyncEvent` only when objects changed, drift was seen, the set of
 * failures is new, or the sync recovered. Whole-sync failures (git unreachable, API server down)
 * are returned as `failed` so the controller retries with backoff and emits one transition event.
 */
export class SyncReconciler implements Reconciler<SyncRequest> {
  readonly name = "sync" as const;
  private loaded: { state: SyncState; inventory: InventoryEntry[] } | undefined;
  private failureSignature = "";
  /** Drift left alone (correction off) that was already announced. */
  private driftSignature = "";
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

  async reconcile(req: SyncRequest, ctx: ReconcileContext): Promise<ReconcileResult> {
    const { repo, engine, store } = this.deps;
    if (!this.loaded) {
      this.loaded = await store.load();
      this.failureSignature = signature(this.loaded.state.errors);
      this.driftSignature = signature(
        this.loaded.state.drift
          .filter((d) => !d.corrected)
          .map((d) => ({ id: d.id, error: d.fields.join(",") })),
      );
    }
    const { state, inventory } = this.loaded;
    const now = () => this.clock.now().toISOString();
    let head: string;
    try {
      head = await repo.sync();
    } catch (err) {
      const message = `cannot fetch the config repo: ${(err as Error).message}`;
      await this.saveFailure(state, message, undefined, ctx);
      return { status: "failed", message };
    }
    ctx.logger.debug({ head, reason: req.reason, actor: req.actor }, "sync starting");
    let report: Awaited<ReturnType<SyncEngine["run"]>>;
    try {
      report = await engine.run(repo, head, inventory, ctx.signal);
    } catch (err) {
      const message =
        err instanceof TransientError
          ? `cluster unavailable: ${err.message}`
          : `sync of ${head.slice(0, 7)} failed: ${(err as Error).message}`;
      await this.saveFailure(state, message, head, ctx);
      return { status: "failed", message, correlationId: head };
    }
    store.touch(now());

    const failures = report.objects.filter((o) => o.action === "failed");
    // Drift left in place (correction off) is announced once, not on every sync while it lasts.
    const leftAlone = report.objects.filter((o) => o.drift && o.action === "unchanged");
    const driftSig = signature(leftAlone.map((o) => ({ id: o.id, error: (o.drift ?? []).join(",") })));
    const newDrift = leftAlone.length > 0 && driftSig !== this.driftSignature;
    const changes = [...report.objects.filter((o) => CHANGED.has(o.action)), ...(newDrift ? leftAlone : [])];
    const sig = signature(failures.map((f) => ({ id: f.id, error: f.error ?? "" })));
    const wasBad = state.result === "failed" || state.result === "partial";
    const recovered = wasBad && failures.length === 0 && !report.transient;
    const newFailures = failures.length > 0 && sig !== this.failureSignature;

    const events: SyncEvent[] = [];
    // A recovery from a whole-sync failure with nothing to report is the controller's event to emit.
    if (changes.length > 0 || newFailures || (recovered && state.result === "partial")) {
      events.push(await this.event(state.lastAppliedRevision, head, [...changes, ...failures], recovered));
    }

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
    if (!report.transient) next.lastAppliedRevision = head;
    // The drift record changes (and is written) only when different drift is seen.
    if (
      report.drift.length > 0 &&
      JSON.stringify(report.drift.slice(0, 50)) !== JSON.stringify(state.drift)
    ) {
      next.drift = report.drift.slice(0, 50);
      next.driftTime = now();
    }
    if (!sameOutcome(state, next)) next.lastChangeTime = now();
    if (!ctx.signal.aborted) {
      await store.save(next, report.inventory, ctx.signal).catch((err) => {
        ctx.logger.warn({ err }, "could not save the sync state");
      });
    }
    this.loaded = { state: next, inventory: report.inventory };
    if (!report.transient) {
      this.failureSignature = sig;
      this.driftSignature = driftSig;
    }

    if (report.transient) {
      // The changes that did happen are reported; the controller reports the failure and retries.
      return {
        status: "failed",
        message: `cluster unavailable: ${report.transient.message}`,
        events,
        correlationId: head,
      };
    }
    const summary = `${head.slice(0, 7)}: ${count(report.objects, "created")} created, ${count(report.objects, "configured")} configured, ${count(report.objects, "pruned")} pruned`;
    if (failures.length > 0) {
      return {
        status: "failed",
        // Not retried with backoff: a bad manifest needs a new commit; the interval runs anyway.
        retry: false,
        message: next.message,
        events,
        reported: events.length > 0,
        correlationId: head,
      };
    }
    return { status: "ready", message: summary, events, reported: events.length > 0, correlationId: head };
  }

  private async saveFailure(
    state: SyncState,
    message: string,
    head: string | undefined,
    ctx: ReconcileContext,
  ): Promise<void> {
    if (!this.loaded) return;
    const next: SyncState = { ...state, result: "failed", message };
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

function signature(errors: { id: string; error: string }[]): string {
  return errors
    .map((e) => `${e.id}|${e.error}`)
    .sort()
    .join("\n");
}

function sameOutcome(a: SyncState, b: SyncState): boolean {
  const strip = (s: SyncState) => JSON.stringify({ ...s, lastChangeTime: undefined });
  return strip(a) === strip(b);
}

function count(objects: SyncObjectResult[], action: SyncObjectResult["action"]): number {
  return objects.filter((o) => o.action === action).length;
}
