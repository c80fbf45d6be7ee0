/**
 * The reconcilers builder: the git -> cluster sync with its leader election and git webhook, the
 * `SyncTrigger` the commands use, and its stop. Without a cluster (`AppState.syncRuns` false) it
 * builds nothing: no client, no Lease, no retry loop (issue #11); serve logs one line saying so.
 */

import type { Config } from "../config/schema.js";
import type { EventSink } from "../core/events.js";
import type { Logger, SyncCommands } from "../core/ports.js";
import type { GitConfigRepo } from "../gitops/git-config-repo.js";
import type { HttpServer } from "../http/server.js";
import type { KubeClient } from "../kube/client.js";
import { LeaderElector, runWhileLeading } from "../kube/leader-election.js";
import { mountGitWebhook } from "../reconciler/sync/git-webhook.js";
import { SyncService } from "../reconciler/sync/service.js";

export interface ReconcilersDeps {
  repo: GitConfigRepo;
  /** The cluster client; the reconcilers are off without one. */
  kube: KubeClient | undefined;
  sink: EventSink;
  http: HttpServer;
  logger: Logger;
  env: Record<string, string | undefined>;
}

export interface Reconcilers {
  sync: SyncService | undefined;
  /** What `sync` and `status` commands use; undefined when no sync runs. */
  commandSync: SyncCommands | undefined;
  elector: LeaderElector | undefined;
  /** Pauses the reconcilers, then releases the lease; absent when nothing runs. */
  stop?: () => Promise<void>;
}

/** Builds and starts the cluster reconcilers, when `cfg` enables them and there is a cluster. */
export function buildReconcilers(cfg: Config, deps: ReconcilersDeps): Reconcilers {
  const { kube, logger } = deps;
  if (!cfg.sync.enabled || !kube) return { sync: undefined, commandSync: undefined, elector: undefined };
  let elector: LeaderElector | undefined;
  const sync = SyncService.fromConfig(cfg, {
    repo: deps.repo,
    kube,
    sink: deps.sink,
    logger,
    leader: () => elector?.leader(),
  });
  if (cfg.kube.leaderElection.enabled) {
    const le = cfg.kube.leaderElection;
    elector = new LeaderElector(kube, {
      namespace: cfg.sync.namespace,
      name: le.leaseName,
      leaseDurationMs: le.leaseDuration,
      renewDeadlineMs: le.renewDeadline,
      retryPeriodMs: le.retryPeriod,
      logger,
      ...(deps.env["POD_NAME"] ? { identity: deps.env["POD_NAME"] } : {}),
    });
  }
  // Pauses the sync, then releases the lease so a peer takes over at once.
  const stop = runWhileLeading(elector, [sync]);
  const commandSync: SyncCommands = {
    trigger: async (opts) => {
      const r = await sync.trigger({ ...opts, reason: "command" });
      return { accepted: r.accepted, message: r.message };
    },
    status: async () => {
      const s = await sync.status.read();
      const time = s.lastSyncTime ?? s.lastChangeTime;
      return {
        result: s.result,
        errors: s.errors.length,
        drift: s.drift.length,
        ...(s.lastAppliedRevision ? { revision: s.lastAppliedRevision } : {}),
        ...(time ? { time } : {}),
        ...(s.message ? { message: s.message } : {}),
      };
    },
  };
  if (cfg.sync.webhookSecret) {
    mountGitWebhook(deps.http, {
      secret: cfg.sync.webhookSecret,
      branch: cfg.repo.branch,
      trigger: sync,
      logger,
    });
  }
  return { sync, commandSync, elector, stop };
}
