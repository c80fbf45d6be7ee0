/**
 * The reconcilers builder: the git -> cluster sync with its git webhook, image automation with its
 * registry webhook and the `images` catalog, the leader election they share, the `SyncTrigger` the
 * commands use, and their stop. The sync needs a cluster: without one (`AppState.syncRuns` false)
 * it is not built (issue #11). Image automation needs only git and registries: it runs without a
 * cluster, and with a cluster and leader election only on the leader, also when the sync is off
 * (`kube` is then the Lease's client only: `clusterPlan().election`). The HelmRelease reconciler
 * needs the sync (it follows the revision the sync applied) and a helm binary. Serve logs one line for each.
 */

import type { Config } from "../config/schema.js";
import type { EventSink } from "../core/events.js";
import type { HelmCommands, ImageCatalog, Logger, SyncCommands } from "../core/ports.js";
import type { KeyValueRecord } from "../core/record.js";
import type { Redactor } from "../core/redact.js";
import type { GitConfigRepo } from "../gitops/git-config-repo.js";
import type { ReleaseOperations } from "../gitops/operations.js";
import { instrumentHelm } from "../helm/metrics.js";
import type { HttpServer } from "../http/server.js";
import type { KubeClient } from "../kube/client.js";
import { type Leadable, LeaderElector, runWhileLeading } from "../kube/leader-election.js";
import { HelmService, probeHelm } from "../reconciler/helm/service.js";
import { releaseSummaries } from "../reconciler/helm/state.js";
import { ImageCatalogService } from "../reconciler/images/catalog.js";
import type { FrozenEnvs } from "../reconciler/images/reconciler.js";
import { imageScanner, registryClient } from "../reconciler/images/registries.js";
import { mountRegistryWebhook } from "../reconciler/images/registry-webhook.js";
import { ImageService } from "../reconciler/images/service.js";
import { mountGitWebhook } from "../reconciler/sync/git-webhook.js";
import { SyncService } from "../reconciler/sync/service.js";
import type { DistributionClient } from "../registry/distribution-client.js";
import { registerLeaderMetric, registerReconcilerMetrics, registerRegistryMetrics } from "./metrics.js";

export interface ReconcilersDeps {
  repo: GitConfigRepo;
  /** The release operations image automation commits through. */
  ops: ReleaseOperations;
  /** The cluster client: the sync's and the Lease's; the sync and leader election are off without one. */
  kube: KubeClient | undefined;
  sink: EventSink;
  http: HttpServer;
  logger: Logger;
  env: Record<string, string | undefined>;
  /** Image automation's status record (`AppState.imageStatus`). */
  imageStatus: KeyValueRecord;
  /** The envs frozen now (the freeze record); default: none. */
  frozenEnvs?: (revision?: string) => Promise<FrozenEnvs>;
  redactor?: Redactor;
  /** env and app of a file, for Helm events (the release model). */
  locate?: (file: string) => Promise<{ env?: string; app?: string } | undefined>;
}

export interface Reconcilers {
  sync: SyncService | undefined;
  /** What `sync` and `status` commands use; undefined when no sync runs. */
  commandSync: SyncCommands | undefined;
  /** Image automation; undefined when `images.enabled: false`. */
  images: ImageService | undefined;
  /** What the `images` command uses (also on a replica that is not the leader, and with automation off). */
  imageCatalog: ImageCatalog;
  /** The HelmRelease reconciler, when it runs. */
  helm?: HelmService;
  /** What `retry` and `status` use; undefined when Helm does not run. */
  commandHelm?: HelmCommands;
  elector: LeaderElector | undefined;
  /** Pauses the reconcilers, then releases the lease; absent when nothing runs. */
  stop?: () => Promise<void>;
}

/** Whether image automation runs, and one line saying why (start log). */
export function imagesPlan(
  cfg: Pick<Config, "images" | "kube">,
  clustered: boolean,
): { runs: boolean; line: string } {
  if (cfg.images.enabled === false)
    return { runs: false, line: "image automation: off (images.enabled: false)" };
  const every = `every ${Math.round(cfg.images.interval / 1000)}s`;
  const where = !clustered
    ? "without a cluster (it needs only git and the registries)"
    : cfg.kube.leaderElection.enabled
      ? "on the leader only"
      : "on this replica (leader election is off)";
  const hook = cfg.images.webhookSecret ? ", webhook POST /hooks/registry" : "";
  return {
    runs: true,
    line: `image automation: on, ${every}, ${where}${hook}; it scans only automated workloads`,
  };
}

/** Builds and starts the reconcilers `cfg` enables (see the file comment). */
export async function buildReconcilers(cfg: Config, deps: ReconcilersDeps): Promise<Reconcilers> {
  const { kube, logger } = deps;
  let elector: LeaderElector | undefined;
  const leader = () => elector?.leader();
  const sync =
    cfg.sync.enabled && kube
      ? SyncService.fromConfig(cfg, {
          repo: deps.repo,
          kube,
          sink: deps.sink,
          logger,
          leader,
          onApplied: (revision) => helm?.revisionApplied(revision),
        })
      : undefined;
  const helm = sync && kube ? await buildHelm(cfg, { ...deps, kube, sync, leader }) : undefined;
  // One registry client (image automation and the `images` command), its counters on /metrics.
  const registry = registryClient(cfg.images, logger);
  registerRegistryMetrics(deps.http.metrics, registry);
  const images = cfg.images.enabled === false ? undefined : buildImages(cfg, deps, leader, registry);
  const participants: Leadable[] = [
    ...(sync ? [sync] : []),
    ...(helm ? [helm] : []),
    ...(images ? [images] : []),
  ];
  // `images` reads the registries also when automation is off: listing candidates changes nothing.
  const imageCatalog = new ImageCatalogService({
    ops: deps.ops,
    scanner: images?.scanner ?? imageScanner(cfg.images, registry),
    ...(deps.frozenEnvs ? { frozenEnvs: deps.frozenEnvs } : {}),
  });
  if (participants.length === 0) {
    return {
      sync: undefined,
      commandSync: undefined,
      images: undefined,
      imageCatalog,
      elector: undefined,
    };
  }
  elector = buildElector(cfg, deps);
  registerLeaderMetric(deps.http.metrics, elector);
  registerReconcilerMetrics(deps.http.metrics, [sync?.controller, helm?.controller, images?.controller]);
  // Pauses the reconcilers (waiting for running helm operations), then releases the lease.
  const stopLeading = runWhileLeading(elector, participants);
  const stop = async () => {
    await stopLeading();
    await helm?.close();
  };
  mountWebhooks(cfg, deps, sync, images);
  return {
    sync,
    commandSync: sync ? syncCommands(sync) : undefined,
    ...(helm ? { helm, commandHelm: helmCommands(helm) } : {}),
    images,
    imageCatalog,
    elector,
    stop,
  };
}

/** Image automation over `client` (whose request counters are on `/metrics`). */
function buildImages(
  cfg: Config,
  deps: ReconcilersDeps,
  leader: () => string | undefined,
  client: DistributionClient,
): ImageService {
  return ImageService.fromConfig(cfg, {
    ops: deps.ops,
    record: deps.imageStatus,
    sink: deps.sink,
    logger: deps.logger,
    leader,
    scanner: imageScanner(cfg.images, client),
    ...(deps.frozenEnvs ? { frozenEnvs: deps.frozenEnvs } : {}),
  });
}

/** The Lease-based elector the reconcilers share; none without a cluster or with it turned off. */
function buildElector(cfg: Config, deps: ReconcilersDeps): LeaderElector | undefined {
  const { kube } = deps;
  if (!kube || !cfg.kube.leaderElection.enabled) return undefined;
  const le = cfg.kube.leaderElection;
  return new LeaderElector(kube, {
    namespace: cfg.sync.namespace,
    name: le.leaseName,
    leaseDurationMs: le.leaseDuration,
    renewDeadlineMs: le.renewDeadline,
    retryPeriodMs: le.retryPeriod,
    logger: deps.logger,
    ...(deps.env["POD_NAME"] ? { identity: deps.env["POD_NAME"] } : {}),
  });
}

/** `POST /hooks/git` (sync) and `POST /hooks/registry` (image automation), when their secret is set. */
function mountWebhooks(
  cfg: Config,
  deps: ReconcilersDeps,
  sync: SyncService | undefined,
  images: ImageService | undefined,
): void {
  const { logger } = deps;
  if (sync && cfg.sync.webhookSecret) {
    mountGitWebhook(deps.http, {
      secret: cfg.sync.webhookSecret,
      branch: cfg.repo.branch,
      trigger: sync,
      logger,
    });
  }
  if (images && cfg.images.webhookSecret) {
    mountRegistryWebhook(deps.http, { secret: cfg.images.webhookSecret, images, logger });
  }
}

/** What the `sync` and `status` commands get of the sync. */
function syncCommands(sync: SyncService): SyncCommands {
  return {
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
    wrapHelm: (cli) => instrumentHelm(cli, deps.http.metrics),
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
    releases: () => releaseSummaries(helm.status),
    revisions: (hr) => helm.revisions(hr),
  };
}
