/**
 * The notifications builder: the router every component emits into, the sink in front of it (the
 * lock state it shows, read again from the model on each commit and sync), and its stop.
 */
import type { Config } from "../config/schema.js";
import type { EventSink, GitopsEvent } from "../core/events.js";
import type { Logger } from "../core/ports.js";
import type { Redactor } from "../core/redact.js";
import type { Lock } from "../core/release.js";
import type { ReleaseOperations } from "../gitops/operations.js";
import type { HttpServer } from "../http/server.js";
import type { MessageLedger } from "../notifications/ledger.js";
import { registerNotificationMetrics } from "../notifications/metrics.js";
import type { TeamsConversationSender } from "../notifications/providers/teams.js";
import { NotificationRouter } from "../notifications/router.js";

/** Fans one event out to several sinks; a sink that throws never affects the others. */
export class FanOutSink implements EventSink {
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

/** Events after which the lock state may have changed: the model is read again before routing them. */
const CHANGES_LOCKS = new Set<GitopsEvent["kind"]>(["command-commit", "auto-release", "sync"]);

/**
 * The lock state notifications show, as the release model has it now (issue #10: it was read once
 * at start). An event that may follow a lock change is routed after the model was read again;
 * events keep their order. A failed read keeps the last state (and says so).
 */
export class LockTracker implements EventSink {
  private readonly locks = new Map<string, Lock>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ops: Pick<ReleaseOperations, "model">,
    private readonly next: EventSink,
    private readonly logger: Logger,
  ) {}

  /** The lock of `env/app` as last read (the router's `lockOf`). */
  readonly lockOf = (env: string, app: string): Lock | undefined => this.locks.get(`${env}/${app}`);

  emit(event: GitopsEvent): void {
    const refresh = CHANGES_LOCKS.has(event.kind);
    this.chain = this.chain
      .then(() => (refresh ? this.refresh() : undefined))
      .then(() => this.next.emit(event));
  }

  /** Reads the model again; never throws. */
  async refresh(): Promise<void> {
    try {
      const model = await this.ops.model();
      this.locks.clear();
      for (const i of model.instances) {
        if (i.workload.policies.locked) this.locks.set(`${i.env}/${i.app}`, i.workload.policies.locked);
      }
    } catch (err) {
      this.logger.warn(
        { err },
        "could not read the release model; notifications show the last lock state seen",
      );
    }
  }

  /** Resolves when every accepted event was passed on. */
  idle(): Promise<void> {
    return this.chain;
  }
}

export interface NotificationsDeps {
  ops: Pick<ReleaseOperations, "model">;
  http: HttpServer;
  redactor: Redactor;
  logger: Logger;
  teamsSender?: TeamsConversationSender;
  ledger?: MessageLedger;
  /** Whether a reconciler reports on commits (post-only destinations wait for it only then). */
  reconcilerReports: boolean;
  extraSinks?: EventSink[];
}

/** The router, the sink components emit into, and the stop (which delivers what is queued). */
export function buildNotifications(
  cfg: Config,
  deps: NotificationsDeps,
): { router: NotificationRouter; sink: EventSink; locks: LockTracker; stop: () => Promise<void> } {
  let tracker: LockTracker | undefined;
  const router = NotificationRouter.fromConfig(cfg, {
    redactor: deps.redactor,
    logger: deps.logger,
    ...(cfg.slack ? { slackToken: cfg.slack.botToken, slackApiUrl: cfg.slack.apiUrl } : {}),
    ...(deps.teamsSender ? { teamsSender: deps.teamsSender } : {}),
    ...(deps.ledger ? { ledger: deps.ledger } : {}),
    lockOf: (env, app) => tracker?.lockOf(env, app),
    holdForSync: deps.reconcilerReports,
  });
  const providers = new Map(cfg.notifications.destinations.map((d) => [d.name, d.type]));
  registerNotificationMetrics(deps.http.metrics, router, (name) => providers.get(name) ?? "");
  // What a replica that stopped could not deliver (a destination down at its shutdown).
  void router.resume();
  tracker = new LockTracker(deps.ops, router, deps.logger);
  const locks = tracker;
  const sink = new FanOutSink([locks, ...(deps.extraSinks ?? [])], deps.logger);
  return {
    router,
    sink,
    locks,
    stop: async () => {
      await locks.idle();
      await router.stop();
    },
  };
}
