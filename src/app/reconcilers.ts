/**
 * The reconcilers builder: the git -> cluster sync with its leader election and git webhook, the
 * `SyncTrigger` the commands use, and its stop. Without a cluster (`AppState.syncRuns` false) it
 * builds nothing: no client, no Lease, no retry loop (issue #11); serve logs one line saying so.
 */

import type { Config } from "../config/schema.js";
import type { EventSink } from "../core/events.js";
import type { HelmCommands, Logger, SyncCommands } from "../core/ports.js";
import type { Redactor } from "../core/redact.js";
import type { GitConfigRepo } from "../gitops/git-config-repo.js";
import type { HttpServer } from "../http/server.js";
import type { KubeClient } from "../kube/client.js";
import { LeaderElector, runWhileLeading } from "../kube/leader-election.js";
import { phaseOf } from "../reconciler/helm/hr-status.js";
import { HelmService, probeHelm } from "../reconciler/helm/service.js";
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
  redactor?: Redactor;
  /** env and app of a file, for Helm events (the release model). */
  locate?: (file: string) => Promise<{ env?: string; app?: string } | undefined>;
}

export interface Reconcilers {
  sync: SyncService | undefined;
  /** What `sync` and `status` commands use; undefined when no sync runs. */
  commandSync: SyncCommands | undefined;
  /** The HelmRelease reconciler, when it runs. */
  helm?: HelmService;
  /** What `retry` and `status` use; undefined when Helm does not run. */
  commandHelm?: HelmCommands;
  elector: LeaderElector | undefined;
  /** Pauses the reconcilers, then releases the lease; absent when nothing runs. */
  stop?: () => Promise<void>;
}

/** Builds and starts the cluster reconcilers, when `cfg` enables them and there is a cluster. */
export async function buildReconcilers(cfg: Config, deps: ReconcilersDeps): Promise<Reconcilers> {
  const { kube, logger } = deps;
  if (!cfg.sync.enabled || !kube) return { sync: undefined, commandSync: undefined, elector: undefined };
  let elector: LeaderElector | undefined;
  let helm: HelmService | undefined;
  const sync = SyncService.fromConfig(cfg, {
    repo: deps.repo,
    kube,
    sink: deps.sink,
    logger,
    leader: () => elector?.leader(),
    onApplied: (revision) => helm?.revisionApplied(revision),
  });
  helm = await buildHelm(cfg, { ...deps, kube, sync, leader: () => elector?.leader() });
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
  // Pauses the sync and Helm, waits for running helm operations, then releases the lease.
  const stop = runWhileLeading(elector, helm ? [sync, helm] : [sync]);
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
  if (!helm) return { sync, commandSync, elector, stop };
  return { sync, commandSync, helm, commandHelm: helmCommands(helm), elector, stop };
}

/** The Helm service, or undefined (with one log line saying why) when it cannot or should not run. */
async function buildHelm(
  cfg: Config,
  deps: ReconcilersDeps & { kube: KubeClient; sync: SyncService; leader: () => string | undefined },
): Promise<HelmService | undefined> {
  const { logger } = deps;
  if (!cfg.helm.enabled) {
    logger.info({}, "helm: off (helm.enabled is false): HelmReleases are applied by the sync only");
    return undefined;
  }
  const probe = await probeHelm(cfg.helm.binary);
  if (!probe.ok) {
    logger.error({ binary: cfg.helm.binary }, `helm: off: ${probe.error}; chat and the sync keep working`);
    return undefined;
  }
  logger.info(
    { version: probe.version, concurrency: cfg.helm.concurrency, v2: cfg.helm.v2 },
    `helm: on (${probe.version}): HelmReleases of each synced revision become Helm releases`,
  );
  return new HelmService(cfg, {
    repo: deps.repo,
    kube: deps.kube,
    sink: deps.sink,
    logger,
    leader: deps.leader,
    env: deps.env,
    appliedRevision: async () => (await deps.sync.status.read()).lastAppliedRevision,
    ...(deps.redactor ? { redactor: deps.redactor } : {}),
    ...(deps.locate ? { locate: deps.locate } : {}),
  });
}

/** The `HelmCommands` port over the service (`retry`, and the phases for `status`). */
export function helmCommands(helm: HelmService): HelmCommands {
  return {
    retry: async (hr, opts = {}) => {
      const r = await helm.retry(hr, opts);
      return { accepted: r.accepted, message: r.message, ...(r.result ? { status: r.result.status } : {}) };
    },
    releases: async () =>
      Object.entries(await helm.status.read()).map(([key, r]) => ({
        key,
        file: r.file,
        release: r.releaseName,
        namespace: r.targetNamespace,
        phase: r.status ? phaseOf(r.status, r.reason) : "Unknown",
        ...(r.revision !== undefined ? { revision: r.revision } : {}),
        ...(r.message ? { message: r.message } : {}),
      })),
    revisions: (hr) => helm.revisions(hr),
  };
}
