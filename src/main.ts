/**
 * Composition root: the only place that constructs infrastructure (DESIGN.md). `startService`
 * builds every component the configuration enables, starts them in dependency order and returns a
 * handle whose `stop()` stops them in reverse. `serve` is the `gitops-bot serve` subcommand: it
 * loads the config, starts the service and stops it on SIGTERM/SIGINT.
 */
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ClusterApprovalStore } from "./bot/approvals/store.js";
import { CommandEngine } from "./bot/engine.js";
import type { ChatPlatform } from "./bot/platform.js";
import { SlackPlatform } from "./bot/platforms/slack/platform.js";
import { ClusterConversationStore, FileConversationStore } from "./bot/platforms/teams/conversation-store.js";
import { TeamsPlatform } from "./bot/platforms/teams/platform.js";
import { configSecrets, loadConfig } from "./config/load.js";
import type { Config } from "./config/schema.js";
import type { EventSink, GitopsEvent } from "./core/events.js";
import type { Logger, SyncCommands } from "./core/ports.js";
import { Redactor } from "./core/redact.js";
import type { Lock } from "./core/release.js";
import { GitConfigRepo } from "./gitops/git-config-repo.js";
import { ReleaseService } from "./gitops/release-service.js";
import { HttpServer } from "./http/server.js";
import { K8sKubeClient } from "./kube/k8s-client.js";
import { LeaderElector, runWhileLeading } from "./kube/leader-election.js";
import { createLogger } from "./logging.js";
import { browsableRepoUrl, commitLinkTemplate, fill } from "./notifications/format/links.js";
import { ClusterMessageLedger } from "./notifications/ledger.js";
import { registerNotificationMetrics } from "./notifications/metrics.js";
import { ReportScheduler } from "./notifications/reports.js";
import { NotificationRouter } from "./notifications/router.js";
import { mountGitWebhook } from "./reconciler/sync/git-webhook.js";
import { SyncService } from "./reconciler/sync/service.js";

/** What `startService` needs from outside the config: the environment, and optional overrides for tests. */
export interface ServiceDeps {
  env: Record<string, string | undefined>;
  logger?: Logger;
  /** Extra sinks that receive every event (the demo printer, tests). */
  extraSinks?: EventSink[];
}

/** A running service. */
export interface Service {
  /** Bound HTTP address, e.g. `http://127.0.0.1:8080`. */
  url: string;
  engine: CommandEngine;
  repo: GitConfigRepo;
  sync: SyncService | undefined;
  /** Scheduled sync reports, when configured. */
  reports?: ReportScheduler;
  platforms: ChatPlatform[];
  stop(): Promise<void>;
}

/** Fans one event out to several sinks; a sink that throws never affects the others. */
class FanOutSink implements EventSink {
  constructor(
    private readonly sinks: EventSink[],
    private readonly logger: Logger,
  ) {}
  emit(event: GitopsEvent): void {
    for (const s of this.sinks) {
      try {
        s.emit(event);
      } catch (err) {
        this.logger.error({ err, event: event.id }, "event sink failed");
      }
    }
  }
}

/**
 * Builds and starts everything `cfg` enables:
 * config repo -> release operations -> notifications -> (kube -> leader election -> sync) ->
 * command engine -> chat platforms -> HTTP server. Fails fast, with everything started so far
 * stopped again, when a component cannot start.
 */
export async function startService(cfg: Config, deps: ServiceDeps): Promise<Service> {
  const secrets = configSecrets(cfg);
  const logger = deps.logger ?? createLogger({ level: cfg.log.level, secrets });
  const redactor = new Redactor(secrets);
  const stops: { name: string; stop: () => Promise<void> }[] = [];
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
    const repo = await GitConfigRepo.open(cfg.repo, { logger });
    stops.push({ name: "repo", stop: () => repo.close() });
    const ops = new ReleaseService({
      repo,
      releasesPath: cfg.repo.releasesPath,
      envsFrom: cfg.repo.envsFrom,
    });

    const http = HttpServer.fromConfig(cfg.http, { logger });

    // Locks as the last model read saw them, so notifications can show the lock state.
    const locks = new Map<string, Lock>();
    const refreshLocks = async () => {
      const model = await ops.model();
      locks.clear();
      for (const i of model.instances) {
        if (i.workload.policies.locked) locks.set(`${i.env}/${i.app}`, i.workload.policies.locked);
      }
    };

    // State shared by replicas (pending approvals, Teams conversation references) lives in the
    // cluster whenever the bot talks to one (ADR 0006).
    const inCluster = (store: "auto" | "cluster" | "file") =>
      store === "cluster" || (store === "auto" && cfg.sync.enabled);
    const approvalsInCluster = inCluster(cfg.approvals.store);
    const teamsInCluster = cfg.teams ? inCluster(cfg.teams.store) : false;
    const kube =
      cfg.sync.enabled || approvalsInCluster || teamsInCluster
        ? K8sKubeClient.fromOptions({
            env: deps.env,
            ...(cfg.kube.kubeconfig ? { kubeconfig: cfg.kube.kubeconfig } : {}),
          })
        : undefined;

    // One release, one message, and one approval request edited by its approval, also when
    // another replica (or this one before a restart) posted it: shared through the cluster.
    const ledger =
      cfg.sync.enabled && kube
        ? new ClusterMessageLedger(
            kube,
            { namespace: cfg.sync.namespace, name: `gitops-bot-notifications-${cfg.sync.name}` },
            { logger },
          )
        : undefined;

    const teams = cfg.teams
      ? TeamsPlatform.fromConfig(cfg.teams, {
          logger,
          http,
          redactor,
          ...(ledger ? { ledger } : {}),
          store:
            teamsInCluster && kube
              ? new ClusterConversationStore(
                  kube,
                  { namespace: cfg.sync.namespace, name: `gitops-bot-teams-${cfg.sync.name}` },
                  logger,
                )
              : new FileConversationStore(
                  cfg.teams.conversationStore ?? join(tmpdir(), "gitops-bot", "teams-conversations.json"),
                  logger,
                ),
        })
      : undefined;

    const router = NotificationRouter.fromConfig(cfg, {
      redactor,
      logger,
      ...(cfg.slack ? { slackToken: cfg.slack.botToken } : {}),
      ...(teams ? { teamsSender: teams.sender } : {}),
      ...(ledger ? { ledger } : {}),
      lockOf: (env, app) => locks.get(`${env}/${app}`),
    });
    stops.push({ name: "notifications", stop: () => router.stop() });
    registerNotificationMetrics(http.metrics, router);
    const sink = new FanOutSink([router, ...(deps.extraSinks ?? [])], logger);

    let sync: SyncService | undefined;
    let commandSync: SyncCommands | undefined;
    let elector: LeaderElector | undefined;
    if (cfg.sync.enabled && kube) {
      sync = SyncService.fromConfig(cfg, {
        repo,
        kube,
        sink,
        logger,
        leader: () => elector?.leader(),
      });
      const service = sync;
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
      stops.push({ name: "sync", stop: runWhileLeading(elector, [service]) });
      commandSync = {
        trigger: async (opts) => {
          const r = await service.trigger({ ...opts, reason: "command" });
          return { accepted: r.accepted, message: r.message };
        },
        status: async () => {
          const s = await service.status.read();
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
        mountGitWebhook(http, {
          secret: cfg.sync.webhookSecret,
          branch: cfg.repo.branch,
          trigger: service,
          logger,
        });
      }
    }

    const web = browsableRepoUrl(repo.publicUrl);
    const template = commitLinkTemplate(cfg.notifications.templates?.commitLink, web);
    const engine = CommandEngine.fromConfig(cfg, {
      ops,
      events: sink,
      logger,
      secrets,
      cluster: cfg.clusterName,
      ...(commandSync ? { sync: commandSync } : {}),
      ...(approvalsInCluster && kube
        ? {
            approvals: new ClusterApprovalStore(kube, {
              namespace: cfg.sync.namespace,
              name: `gitops-bot-approvals-${cfg.sync.name}`,
            }),
          }
        : {}),
      ...(web
        ? { commitUrl: (sha: string) => fill(template, { repoUrl: web, sha, sha7: sha.slice(0, 7) }) }
        : {}),
    });

    let reports: ReportScheduler | undefined;
    if (cfg.notifications.reports.length > 0) {
      reports = new ReportScheduler(cfg.notifications.reports, {
        run: (text) =>
          engine.execute(
            {
              id: `report:${randomUUID()}`,
              platform: "cli",
              text,
              user: { id: "cli:reports", name: "gitops-bot reports" },
              channel: "reports",
              receivedAt: new Date(),
            },
            { trusted: true },
          ),
        post: (to, key, msg) => router.postMessage(to, key, msg),
        cluster: cfg.clusterName,
        // With leader election only the leader posts, so replicas do not repeat the report.
        isLeader: () => (elector ? elector.isLeader() : true),
        logger,
      });
      reports.start();
      const scheduled = reports;
      stops.push({ name: "reports", stop: async () => scheduled.stop() });
    }

    const platforms: ChatPlatform[] = [];
    if (cfg.slack)
      platforms.push(
        SlackPlatform.fromConfig(cfg.slack, { logger, http, redactor, ...(ledger ? { ledger } : {}) }),
      );
    if (teams) platforms.push(teams);
    for (const p of platforms) {
      p.onInvocation(engine.handle);
      await p.start();
      stops.push({ name: p.name, stop: () => p.stop() });
    }

    // Ready only while the git server answers (a recent fetch/push, or a bounded probe).
    http.readiness("config-repo", () => repo.ready());
    const addr = await http.start();
    stops.push({ name: "http", stop: () => http.stop() });
    void refreshLocks().catch((err) => logger.warn({ err }, "could not read the release model"));
    logger.info(
      {
        url: addr.url,
        cluster: cfg.clusterName,
        repo: repo.publicUrl,
        platforms: platforms.map((p) => p.name),
        sync: cfg.sync.enabled,
      },
      "gitops-bot started",
    );
    return { url: addr.url, engine, repo, sync, platforms, ...(reports ? { reports } : {}), stop: stopAll };
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
