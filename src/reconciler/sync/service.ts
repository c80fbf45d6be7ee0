import type { Config } from "../../config/schema.js";
import type { EventSink } from "../../core/events.js";
import {
  type Clock,
  type SyncTriggerResult as CoreSyncTriggerResult,
  type Logger,
  nullLogger,
  type SyncTrigger,
  type SyncTriggerOptions,
  systemClock,
} from "../../core/ports.js";
import type { ConfigRepo } from "../../gitops/config-repo.js";
import type { KubeClient } from "../../kube/client.js";
import type { Controller, ReconcileResult } from "../controller.js";
import { ReconcilerService, type ReconcilerServiceOptions } from "../service.js";
import { SyncEngine } from "./engine.js";
import type { SyncPath } from "./manifests.js";
import { type SyncPayload, SyncReconciler, type SyncRequest } from "./reconciler.js";
import { SyncStateStore, type SyncStatusReader } from "./state.js";

/** The field manager of every server-side apply the bot makes. */
export const FIELD_MANAGER = "gitops-bot";

/** What a trigger resolves with: the core contract plus the full reconcile result. */
export interface SyncTriggerResult extends CoreSyncTriggerResult {
  result?: ReconcileResult<SyncPayload>;
}

export interface SyncServiceOptions {
  name: string;
  paths: SyncPath[];
  intervalMs: number;
  prune: boolean;
  driftCorrection: boolean;
  concurrency: number;
  /** Namespace of the state record. */
  namespace: string;
  clusterName: string;
  /** Identifies the source in the state record (`url#branch`). */
  source: string;
}

export interface SyncServiceDeps {
  repo: ConfigRepo;
  kube: KubeClient;
  sink: EventSink;
  logger?: Logger;
  clock?: Clock;
  /** Who leads, for "not the leader" replies (LeaderElector.leader). */
  leader?: () => string | undefined;
  /** Called with each revision a sync applied (the Helm reconciler's trigger). */
  onApplied?: (revision: string) => void;
}

/**
 * The git -> cluster sync: the `ReconcilerService` configured with the `SyncReconciler`, its
 * engine and state store, plus the `SyncTrigger` (which adds the revision to the reply). It
 * reconciles only while `lead()`ed: main.ts calls `lead(signal)` from the leader elector's
 * `onStartedLeading` (or `lead()` without leader election); aborting the signal stops all writes
 * and the interval.
 */
export class SyncService implements SyncTrigger {
  readonly reconciler: SyncReconciler;
  /** Read side for `status` and the cron reports. */
  readonly status: SyncStatusReader;
  private readonly service: ReconcilerService<SyncRequest, SyncPayload>;

  constructor(opts: SyncServiceOptions, deps: SyncServiceDeps) {
    const logger = (deps.logger ?? nullLogger).child({ component: "sync", sync: opts.name });
    const store = new SyncStateStore(deps.kube, {
      namespace: opts.namespace,
      name: opts.name,
      source: opts.source,
      fieldManager: FIELD_MANAGER,
    });
    const engine = new SyncEngine(
      deps.kube,
      {
        name: opts.name,
        fieldManager: FIELD_MANAGER,
        paths: opts.paths,
        prune: opts.prune,
        driftCorrection: opts.driftCorrection,
        concurrency: opts.concurrency,
      },
      logger,
    );
    this.reconciler = new SyncReconciler({
      repo: deps.repo,
      engine,
      store,
      clusterName: opts.clusterName,
      name: opts.name,
      clock: deps.clock ?? systemClock,
      ...(deps.onApplied ? { onApplied: deps.onApplied } : {}),
    });
    this.status = store;
    const serviceOpts: ReconcilerServiceOptions<SyncRequest> = {
      noun: "sync",
      verb: "syncs",
      intervalMs: opts.intervalMs,
      initial: () => [{ reason: "start" }],
      requeueObject: (_req, why) => ({ reason: why }),
      sink: deps.sink,
      clusterName: opts.clusterName,
      logger,
    };
    if (deps.clock) serviceOpts.clock = deps.clock;
    if (deps.leader) serviceOpts.leader = deps.leader;
    this.service = new ReconcilerService(this.reconciler, serviceOpts);
  }

  /** The controller of the sync (tests start it without leadership; status pages read it). */
  get controller(): Controller<SyncRequest, SyncPayload> {
    return this.service.controller;
  }

  /** Builds the service from the `sync` config section. */
  static fromConfig(cfg: Pick<Config, "sync" | "clusterName" | "repo">, deps: SyncServiceDeps): SyncService {
    return new SyncService(
      {
        name: cfg.sync.name,
        paths: cfg.sync.paths,
        intervalMs: cfg.sync.interval,
        prune: cfg.sync.prune,
        driftCorrection: cfg.sync.driftCorrection,
        concurrency: cfg.sync.concurrency,
        namespace: cfg.sync.namespace,
        clusterName: cfg.clusterName,
        source: `${deps.repo.publicUrl}#${cfg.repo.branch}`,
      },
      deps,
    );
  }

  /** Starts reconciling: one sync now, then every interval, until `signal` aborts or `pause()`. */
  lead(signal?: AbortSignal): void {
    this.service.lead(signal);
  }

  /** Stops reconciling (leadership lost or shutdown); a running sync is aborted before its next write. */
  pause(): void {
    this.service.pause();
  }

  async trigger(opts: SyncTriggerOptions = {}): Promise<SyncTriggerResult> {
    const req: SyncRequest = { reason: opts.reason ?? "command" };
    if (opts.actor !== undefined) req.actor = opts.actor;
    const out: SyncTriggerResult = await this.service.trigger(
      req,
      opts.wait === false ? { wait: false } : {},
    );
    if (!out.accepted || !out.result) return out;
    const revision = this.reconciler.lastRevision();
    if (revision) out.revision = revision;
    return out;
  }
}
