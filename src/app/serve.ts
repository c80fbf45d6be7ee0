/**
 * Composition root of `gitops-bot serve` (DESIGN.md: the only place that constructs
 * infrastructure). `startService` builds every component the configuration enables with the
 * builders of this folder (state, notifications, reconcilers, chat), starts them in dependency
 * order and returns a handle whose `stop()` stops them in reverse. `serve` is the subcommand: it
 * loads the config, starts the service and stops it on SIGTERM/SIGINT.
 */
import { parseArgs } from "node:util";
import { CommandEngine } from "../bot/engine.js";
import type { ChatPlatform } from "../bot/platform.js";
import { configSecrets, loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import type { EventSink } from "../core/events.js";
import type { Logger } from "../core/ports.js";
import { Redactor } from "../core/redact.js";
import { frozenEnvs, frozenInModel } from "../gitops/freezes.js";
import { GitConfigRepo } from "../gitops/git-config-repo.js";
import { ReleaseService } from "../gitops/release-service.js";
import { MetricsRegistry } from "../http/metrics.js";
import { HttpServer } from "../http/server.js";
import { createLogger } from "../logging.js";
import { CommitLinker } from "../notifications/format/links.js";
import type { HelmService } from "../reconciler/helm/service.js";
import { ImageCatalogService } from "../reconciler/images/catalog.js";
import type { FrozenEnvs } from "../reconciler/images/reconciler.js";
import type { ImageService } from "../reconciler/images/service.js";
import { ImageStateStore } from "../reconciler/images/state.js";
import type { SyncService } from "../reconciler/sync/service.js";
import type { ReportScheduler } from "../reports/scheduler.js";
import { buildChat, startChat } from "./chat.js";
import { buildNotifications } from "./notifications.js";
import { buildReconcilers, imagesPlan } from "./reconcilers.js";
import { buildReports, helmOff, IMAGES_OFF } from "./reports.js";
import { buildState, clusterPlan } from "./state.js";

/** What `startService` needs from outside the config: the environment, and optional overrides for tests. */
export interface ServiceDeps {
  env: Record<string, string | undefined>;
  logger?: Logger;
  /** Extra sinks that receive every event (the demo printer, tests). */
  extraSinks?: EventSink[];
  /** How long each chat platform's stop waits for its queue before the engine's drain (default 10 s). */
  chatStopGraceMs?: number;
  /** The envs frozen now, for image automation (the freeze record); default: none. */
  frozenEnvs?: (revision?: string) => Promise<FrozenEnvs>;
}

/** A running service. */
export interface Service {
  /** Bound HTTP address, e.g. `http://127.0.0.1:8080`. */
  url: string;
  engine: CommandEngine;
  repo: GitConfigRepo;
  sync: SyncService | undefined;
  /** Image automation, unless `images.enabled: false`. */
  images: ImageService | undefined;
  /** The HelmRelease reconciler, when it runs (a cluster, helm.enabled and a helm binary). */
  helm?: HelmService;
  /** Scheduled sync reports, when configured. */
  reports?: ReportScheduler;
  platforms: ChatPlatform[];
  stop(): Promise<void>;
}

type Stop = { name: string; stop: () => Promise<void> };

/** How long a stop waits for running commands after the platforms' own drain (Kubernetes kills at 30 s). */
const COMMAND_DRAIN_MS = 15_000;

/**
 * Builds and starts everything `cfg` enables:
 * config repo -> release operations -> state -> notifications -> (sync, when there is a cluster;
 * image automation, unless turned off) ->
 * command engine -> chat platforms -> HTTP server. Fails fast, with everything started so far
 * stopped again, when a component cannot start.
 *
 * Long on purpose: it is the one list of what runs, in start order, each step one builder call
 * (the builders hold the logic); cut into helpers it would pass a dozen components and the stop
 * list between them and no longer read top to bottom.
 */
export async function startService(cfg: Config, deps: ServiceDeps): Promise<Service> {
  const secrets = configSecrets(cfg);
  const logger = deps.logger ?? createLogger({ level: cfg.log.level, secrets });
  const redactor = new Redactor(secrets);
  const stops: Stop[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) {
      try {
        await s.stop();
      } catch (err) {
        logger.warn({ err, component: s.name }, "stop failed");
      }
    }
  };

  try {
    // One registry for `/metrics`, created first so the config repo counts its push retries there.
    const metrics = new MetricsRegistry({ process: true });
    const repo = await GitConfigRepo.open(cfg.repo, { logger, metrics });
    stops.push({ name: "repo", stop: () => repo.close() });
    const ops = new ReleaseService({
      repo,
      releasesPath: cfg.repo.releasesPath,
      envsFrom: cfg.repo.envsFrom,
    });
    const http = HttpServer.fromConfig(cfg.http, { logger, metrics });

    // One line at start saying whether the cluster reconcilers run, and why not (issue #11).
    logger.info({}, clusterPlan(cfg, deps.env).line);
    const state = await buildState(cfg, { env: deps.env, logger, reconcilers: true });
    stops.push({ name: "state", stop: () => state.stop() });
    const chat = await buildChat(cfg, {
      logger,
      http,
      redactor,
      ledger: state.ledger,
      conversations: state.conversations,
      stopGraceMs: deps.chatStopGraceMs,
    });
    const notifications = buildNotifications(cfg, {
      ops,
      http,
      redactor,
      logger,
      ...(chat.teams ? { teamsSender: chat.teams.sender } : {}),
      ...(state.ledger ? { ledger: state.ledger } : {}),
      reconcilerReports: state.syncRuns,
      ...(deps.extraSinks ? { extraSinks: deps.extraSinks } : {}),
    });
    stops.push({ name: "notifications", stop: notifications.stop });
    const { sink, router } = notifications;

    // The reconcilers' cluster: the sync's, or only the Lease's when the sync is off (issue #12).
    const clustered = (state.syncRuns || state.election) && state.kube !== undefined;
    logger.info({}, imagesPlan(cfg, state.location.kind !== "none").line);
    const rec = await buildReconcilers(cfg, {
      repo,
      ops,
      kube: clustered ? state.kube : undefined,
      sink,
      http,
      logger,
      env: deps.env,
      imageStatus: state.imageStatus,
      // The freeze record (`freeze <env>`) stops image automation in that env.
      frozenEnvs: deps.frozenEnvs ?? ((revision) => frozenEnvs(repo, revision)),
      redactor,
      locate: async (file) => {
        const inst = (await ops.model()).instances.find((i) => i.workload.file === file);
        return inst ? { env: inst.env, app: inst.app } : undefined;
      },
    });
    if (rec.stop) stops.push({ name: "reconcilers", stop: rec.stop });

    // One linker for chat replies and notifications: `{shortSha}` and `{repoUrl}` mean the same in both.
    const linker = new CommitLinker(
      cfg.notifications.repoUrl ?? repo.publicUrl,
      cfg.notifications.templates?.commitLink,
    );
    const commitUrl = (sha: string) => linker.url(sha);
    const scanner = rec.images?.scanner;
    const built = buildReports(cfg, {
      ops,
      repo,
      approvals: state.approvals,
      ...(rec.sync ? { syncStatus: rec.sync.status } : {}),
      // The `images` catalog over the report's model and the reconciler's scanner (its cache).
      images: scanner
        ? {
            catalog: (model) =>
              new ImageCatalogService({
                ops: model,
                scanner,
                frozenEnvs: async () => frozenInModel(await model.model()),
              }),
            status: () => new ImageStateStore(state.imageStatus).load(),
          }
        : { off: IMAGES_OFF },
      helm: rec.commandHelm?.releases
        ? { releases: rec.commandHelm.releases }
        : { off: helmOff(cfg, rec.sync !== undefined) },
      commitUrl,
      logger,
    });
    const engine = CommandEngine.fromConfig(cfg, {
      ops,
      events: sink,
      logger,
      secrets,
      cluster: cfg.clusterName,
      approvals: state.approvals,
      idempotency: state.idempotency,
      ...(rec.commandSync ? { sync: rec.commandSync } : {}),
      images: rec.imageCatalog,
      ...(rec.commandHelm ? { helm: rec.commandHelm } : {}),
      reports: built.runner,
      commitUrl,
      metrics,
    });
    // Stopped after the chat platforms (they stop taking commands and drain their queues for a
    // while) and before what commands use: a command still running finishes, commits, notifies
    // and replies before the notifications, the stores and the repo close under it.
    stops.push({ name: "commands", stop: async () => void (await engine.drain(COMMAND_DRAIN_MS)) });

    // With leader election only the leader posts; the run record stops a repeat after a failover.
    const reports = built.schedule({
      post: (to, key, msg) => router.postMessage(to, key, msg),
      runs: state.reportRuns,
      isLeader: () => (rec.elector ? rec.elector.isLeader() : true),
    });
    if (reports) stops.push({ name: "reports", stop: async () => reports.stop() });

    await startChat(chat.platforms, engine, stops);

    // Ready only while the git server answers (a recent fetch/push, or a bounded probe).
    http.readiness("config-repo", () => repo.ready());
    const addr = await http.start();
    stops.push({ name: "http", stop: () => http.stop() });
    void notifications.locks.refresh();
    logger.info(
      {
        url: addr.url,
        cluster: cfg.clusterName,
        repo: repo.publicUrl,
        platforms: chat.platforms.map((p) => p.name),
        sync: rec.sync !== undefined,
        images: rec.images !== undefined,
        helm: rec.helm !== undefined,
      },
      "gitops-bot started",
    );
    return {
      url: addr.url,
      engine,
      repo,
      sync: rec.sync,
      images: rec.images,
      ...(rec.helm ? { helm: rec.helm } : {}),
      platforms: chat.platforms,
      ...(reports ? { reports } : {}),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** `gitops-bot serve [--config F]`: runs until SIGTERM/SIGINT, then stops in reverse order. */
export async function serve(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: "string", short: "c" } } });
  const cfg = await loadConfig(values.config, env);
  const logger = createLogger({ level: cfg.log.level, secrets: configSecrets(cfg) });
  const service = await startService(cfg, { env, logger });
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      logger.info({ signal: sig }, "stopping");
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      resolve();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  await service.stop();
  logger.info({}, "stopped");
  return 0;
}
