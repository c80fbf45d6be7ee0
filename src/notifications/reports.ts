/**
 * Scheduled sync reports (`notifications.reports`): on a cron schedule, the leader posts what runs
 * where (the `status` matrix with the cluster's sync line: revision, behind or not, failed objects,
 * drift) and the pending approvals, to the report's destinations. With `onlyProblems`, a healthy
 * cluster stays quiet. The content comes from the same commands users type, so a report never
 * disagrees with `status`.
 */
import { Cron } from "croner";
import { type Block, b, type Message, t } from "../core/message.js";
import { type Logger, nullLogger } from "../core/ports.js";
import type { ReportConfig } from "./config.js";

/** Runs a read-only chat command as the report's user (the command engine's `execute`). */
export type RunCommand = (text: string) => Promise<{
  outcome: string;
  message: Message;
  data?: unknown;
  error?: { message: string };
}>;

export interface ReportDeps {
  run: RunCommand;
  /** Queues a message for destinations (`NotificationRouter.postMessage`). */
  post(to: string[], key: string, message: Message): void;
  cluster: string;
  /** Only the leader posts; followers skip (default: always post). */
  isLeader?: () => boolean;
  logger?: Logger;
}

export type ReportOutcome = "posted" | "healthy" | "follower";

interface SyncLine {
  result?: string;
  errors?: number;
  drift?: number;
  unavailable?: string;
}

export class ReportScheduler {
  private readonly jobs: Cron[] = [];
  private readonly logger: Logger;

  constructor(
    private readonly reports: ReportConfig[],
    private readonly deps: ReportDeps,
  ) {
    this.logger = (deps.logger ?? nullLogger).child({ component: "reports" });
  }

  /** Schedules every report. */
  start(): void {
    for (const r of this.reports) {
      const job = new Cron(
        r.schedule,
        {
          ...(r.timezone ? { timezone: r.timezone } : {}),
          protect: true, // a slow report never overlaps the next run
          unref: true,
          catch: (err: unknown) => this.logger.error({ err, report: r.name }, "sync report failed"),
        },
        async () => {
          const outcome = await this.run(r.name);
          this.logger.debug({ report: r.name, outcome }, "sync report run");
        },
      );
      this.jobs.push(job);
      this.logger.info({ report: r.name, next: job.nextRun()?.toISOString() }, "sync report scheduled");
    }
  }

  stop(): void {
    for (const j of this.jobs.splice(0)) j.stop();
  }

  /** Builds and posts one report now (what the schedule calls). */
  async run(name: string): Promise<ReportOutcome> {
    const report = this.reports.find((r) => r.name === name);
    if (!report) throw new Error(`no report named ${name}`);
    if (this.deps.isLeader && !this.deps.isLeader()) return "follower";
    const { message, problems } = await this.build();
    if (report.onlyProblems && !problems) return "healthy";
    this.deps.post(report.to, `report:${report.name}:${Date.now()}`, message);
    return "posted";
  }

  private async build(): Promise<{ message: Message; problems: boolean }> {
    const status = await this.deps.run("status");
    if (status.outcome !== "ok") {
      const why = status.error?.message ?? "status failed";
      return {
        problems: true,
        message: {
          title: [t(`Sync report: ${this.deps.cluster}`)],
          severity: "error",
          blocks: [{ kind: "text", text: [t(`The report could not be built: ${why}`)] }],
          fallbackText: `Sync report ${this.deps.cluster}: could not be built: ${why}`,
          visibility: "channel",
        },
      };
    }
    const sync = ((status.data ?? {}) as { sync?: SyncLine }).sync;
    const pending = await this.deps.run("pending");
    const pendingTable =
      pending.outcome === "ok" ? pending.message.blocks.find((x) => x.kind === "table") : undefined;
    const pendingCount = pendingTable?.kind === "table" ? pendingTable.rows.length : 0;

    const failed = sync?.result === "failed" || sync?.unavailable !== undefined;
    const problems =
      failed ||
      sync?.result === "partial" ||
      (sync?.errors ?? 0) > 0 ||
      (sync?.drift ?? 0) > 0 ||
      pendingCount > 0;
    const blocks: Block[] = [...status.message.blocks];
    if (pendingTable)
      blocks.push({ kind: "text", text: [b(`Pending approvals (${pendingCount})`)] }, pendingTable);
    return {
      problems,
      message: {
        title: [t(`Sync report: ${this.deps.cluster}`)],
        severity: failed ? "error" : problems ? "warning" : "success",
        blocks,
        fallbackText: `Sync report ${this.deps.cluster}\n${status.message.fallbackText}${
          pendingCount ? `\n${pendingCount} pending approval(s)` : ""
        }`,
        visibility: "channel",
      },
    };
  }
}
