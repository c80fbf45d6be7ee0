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
import { Controller, type ReconcileResult } from "../controller.js";
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
}

/**
 * The git -> cluster sync: a `Controller` around the `SyncReconciler`, an interval timer, the
 * immediate run at start and the `SyncTrigger`. It reconciles only while `lead()`ed: main.ts
 * calls `lead(signal)` from the leader elector's `onStartedLeading` (or `lead()` without leader
 * election); aborting the signal stops all writes and the timer.
 */
export class SyncService implements SyncTrigger {
  readonly controller: Controller<SyncRequest, SyncPayload>;
  readonly reconciler: SyncReconciler;
  /** Read side for `status` and the cron reports. */
  readonly status: SyncStatusReader;
  private timer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly opts: SyncServiceOptions,
    private readonly deps: SyncServiceDeps,
  ) {
    this.logger = (deps.logger ?? nullLogger).child({ component: "sync", sync: opts.name });
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
      this.logger,
    );
    this.reconciler = new SyncReconciler({
      repo: deps.repo,
      engine,
      store,
      clusterName: opts.clusterName,
      name: opts.name,
      clock: deps.clock ?? systemClock,
    });
    this.status = store;
    this.controller = new Controller(this.reconciler, {
      sink: deps.sink,
      clusterName: opts.clusterName,
      logger: this.logger,
      clock: deps.clock,
    });
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

  /** Starts reconciling: one sync now, then every interval, until `signal` aborts or `stop()`. */
  lead(signal?: AbortSignal): void {
    if (signal?.aborted) return;
    this.pause();
    this.reconciler.reset(); // another replica may have written the state meanwhile
    this.controller.start(signal);
    void this.controller.enqueue({ reason: "start" });
    this.timer = setInterval(
      () => void this.controller.enqueue({ reason: "interval" }),
      this.opts.intervalMs,
    );
    this.timer.unref?.();
    signal?.addEventListener("abort", () => this.pause(), { once: true });
    this.logger.info({ intervalMs: this.opts.intervalMs }, "sync started");
  }

  /** Stops reconciling (leadership lost or shutdown); a running sync is aborted before its next write. */
  pause(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.controller.stop();
  }

  async trigger(opts: SyncTriggerOptions = {}): Promise<SyncTriggerResult> {
    if (!this.controller.running) {
      const leader = this.deps.leader?.();
      return {
        accepted: false,
        message: leader
          ? `this replica is not the leader; ${leader} syncs`
          : "sync is not running on this replica",
      };
    }
    const running = this.controller.enqueue({ reason: opts.reason ?? "command", actor: opts.actor });
    // Not waiting: the sync runs (or joins the running one, whose follow-up sees the newest commit).
    if (opts.wait === false) return { accepted: true, message: "sync started" };
    const result = await running;
    const out: SyncTriggerResult = { accepted: true, message: result.message ?? result.status, result };
    const revision = this.reconciler.lastRevision();
    if (revision) out.revision = revision;
    return out;
  }
}
