/**
 * The reports builder (issue #14): registers the sections this process can provide (release
 * matrix, sync, image automation, Helm, locks, approvals, activity; a component that does not run
 * here still has its section, which says in one line that it is off and why, as sync does without
 * a cluster), builds the `ReportRunner` the `report` command and `gitops-bot report` use, and the
 * scheduler `serve` starts. On demand and scheduled reports go through the same `ReportBuilder`.
 */
import type { ApprovalStore } from "../bot/approvals/store.js";
import type { ReportConfig } from "../config/notifications.js";
import type { Config } from "../config/schema.js";
import { CronSchedule } from "../core/cron.js";
import { UserError } from "../core/errors.js";
import type { Message } from "../core/message.js";
import {
  type Clock,
  type HelmReleaseSummary,
  type ImageCatalog,
  type Logger,
  systemClock,
} from "../core/ports.js";
import type { KeyValueRecord } from "../core/record.js";
import type { ReleaseModel } from "../core/release.js";
import type { BuiltReport, ReportRunner } from "../core/report.js";
import { didYouMean } from "../core/suggest.js";
import type { ConfigRepo } from "../gitops/config-repo.js";
import type { ReleaseOperations } from "../gitops/operations.js";
import { browsableRepoUrl } from "../notifications/format/links.js";
import type { SyncStatusReader } from "../reconciler/sync/state.js";
import { ReportBuilder, type ReportDefinition, SectionRegistry } from "../reports/report.js";
import { ReportScheduler, type ScheduledReport } from "../reports/scheduler.js";
import { activitySection } from "../reports/sections/activity.js";
import { approvalsSection, type PendingRequest } from "../reports/sections/approvals.js";
import { type AutomationStatus, automationSection } from "../reports/sections/automation.js";
import { helmSection } from "../reports/sections/helm.js";
import { locksSection } from "../reports/sections/locks.js";
import { releasesSection } from "../reports/sections/releases.js";
import { type SyncSnapshot, syncSection } from "../reports/sections/sync.js";

export interface ReportsDeps {
  ops: Pick<ReleaseOperations, "model" | "history">;
  repo: Pick<ConfigRepo, "log" | "head" | "publicUrl">;
  approvals: ApprovalStore;
  /** The sync status record; undefined when no sync runs (no cluster). */
  syncStatus?: SyncStatusReader;
  /**
   * Image automation's read side, or why it is off: the `images` catalog over the given model
   * (the report's, read once for all its instances) and the status record.
   */
  images?:
    | {
        catalog(ops: Pick<ReleaseOperations, "model">): ImageCatalog;
        status?: () => Promise<AutomationStatus>;
      }
    | { off: string };
  /** The HelmRelease reconciler's recorded releases (`HelmCommands.releases`), or why it is off. */
  helm?: { releases: () => Promise<HelmReleaseSummary[]> } | { off: string };
  commitUrl(sha: string): string | undefined;
  clock?: Clock;
  logger: Logger;
}

/** The built-in report `report` builds when no name is given and several (or no) reports are configured. */
const BUILT_IN: ReportDefinition = {
  name: "all",
  onlyProblems: false,
  staleLockDays: 7,
};

/** A configured report as the builder and the scheduler take it. */
export function reportDefinition(r: ReportConfig): ScheduledReport {
  return {
    name: r.name,
    schedule: CronSchedule.parse(r.schedule, r.timezone ?? "UTC"),
    ...(r.sections ? { sections: r.sections } : {}),
    ...(r.envs ? { envs: r.envs } : {}),
    onlyProblems: r.onlyProblems,
    staleLockDays: r.staleLockDays,
    to: r.to,
  };
}

/** The model, read once for all the sections of one report (5 s). */
function modelOnce(ops: Pick<ReleaseOperations, "model">): () => Promise<ReleaseModel> {
  let cached: { at: number; p: Promise<ReleaseModel> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > 5000) {
      const p = ops.model();
      cached = { at: Date.now(), p };
      p.catch(() => {
        cached = undefined;
      });
    }
    return cached.p;
  };
}

function snapshot(reader: SyncStatusReader): () => Promise<SyncSnapshot> {
  return async () => {
    const s = await reader.read();
    const time = s.lastSyncTime ?? s.lastChangeTime;
    return {
      result: s.result,
      ...(s.lastAppliedRevision ? { revision: s.lastAppliedRevision } : {}),
      ...(time ? { time } : {}),
      ...(s.message ? { message: s.message } : {}),
      failed: s.errors,
      drift: s.drift.map((d) => ({ id: d.id, fields: d.fields, corrected: d.corrected })),
    };
  };
}

function pendingRequests(
  store: ApprovalStore,
  cfg: Pick<Config, "approvals">,
): () => Promise<PendingRequest[]> {
  const a = cfg.approvals.approvers;
  const named = [...a.users, ...a.groups, ...a.channels.map((c) => `#${c}`)];
  return async () =>
    (await store.list()).map((p) => ({
      id: p.id,
      command: p.command,
      ...(p.env ? { env: p.env } : {}),
      requester: p.requester.name,
      createdAt: p.createdAt,
      expiresAt: p.expiresAt,
      missing: Math.max(0, p.required - p.approvals.length),
      approvedBy: p.approvals.map((x) => x.name),
      waitingFor: named.length
        ? named.join(", ")
        : `anyone allowed in ${p.env ?? "that env"} other than ${p.requester.name}`,
    }));
}

/**
 * Why the HelmRelease reconciler's section has nothing to show here, in a few words: it follows
 * the sync (so it needs a cluster), then `helm.enabled`, then a helm binary that runs.
 */
export function helmOff(cfg: Pick<Config, "sync" | "helm">, syncRuns: boolean): string {
  if (!cfg.sync.enabled) return "sync.enabled is false, and Helm releases follow the sync";
  if (!syncRuns) return "no cluster configured, and Helm releases follow the sync";
  if (!cfg.helm.enabled) return "helm.enabled is false";
  return "the helm binary could not be run (the bot's start log says why)";
}

/** Why image automation's section has nothing to show here. */
export const IMAGES_OFF = "images.enabled is false";

/** The automation section's catalog and status (over the report's model), or why it is off. */
function imagesPart(
  images: ReportsDeps["images"],
  model: () => Promise<ReleaseModel>,
): { catalog: ImageCatalog; status?: () => Promise<AutomationStatus> } | { off: string } {
  if (!images) return { off: "not set up in this process" };
  if ("off" in images) return images;
  return { catalog: images.catalog({ model }), ...(images.status ? { status: images.status } : {}) };
}

/** Everything reports need in one process: the builder, the runner and the definitions. */
export interface Reports {
  builder: ReportBuilder;
  runner: ReportRunner;
  definitions: ScheduledReport[];
  /** Starts the scheduler (serve): leader-only posts, the run record against duplicates. */
  schedule(deps: {
    post(to: string[], key: string, message: Message): void;
    runs: KeyValueRecord;
    isLeader(): boolean;
  }): ReportScheduler | undefined;
}

/** Builds the sections, the builder and the runner from `cfg`. */
export function buildReports(
  cfg: Pick<Config, "clusterName" | "notifications" | "approvals" | "repo">,
  deps: ReportsDeps,
): Reports {
  const clock = deps.clock ?? systemClock;
  const model = modelOnce(deps.ops);
  const sections = new SectionRegistry();
  sections.register(releasesSection({ model, history: (a) => deps.ops.history(a) }));
  sections.register(
    syncSection({
      cluster: cfg.clusterName,
      ...(deps.syncStatus ? { read: snapshot(deps.syncStatus) } : {}),
      head: async () => (await model()).revision,
    }),
  );
  sections.register(
    automationSection({
      model,
      repo: deps.repo,
      commitUrl: deps.commitUrl,
      ...imagesPart(deps.images, model),
    }),
  );
  sections.register(helmSection({ model, ...(deps.helm ?? { off: "not set up in this process" }) }));
  sections.register(locksSection({ model }));
  sections.register(approvalsSection({ pending: pendingRequests(deps.approvals, cfg) }));
  sections.register(activitySection({ repo: deps.repo, commitUrl: deps.commitUrl }));

  const repoUrl = browsableRepoUrl(cfg.notifications.repoUrl ?? deps.repo.publicUrl);
  const builder = new ReportBuilder({
    sections,
    cluster: cfg.clusterName,
    envs: async () => (await model()).envs,
    ...(repoUrl ? { moreUrl: repoUrl } : {}),
    logger: deps.logger,
  });
  const definitions = cfg.notifications.reports.map(reportDefinition);
  const runner: ReportRunner = {
    names: () => definitions.map((d) => d.name),
    build: (name?: string): Promise<BuiltReport> =>
      builder.build(pick(definitions, name), { now: clock.now() }),
  };
  return {
    builder,
    runner,
    definitions,
    schedule: (s) => {
      if (definitions.length === 0) return undefined;
      const scheduler = new ReportScheduler(definitions, {
        build: (def, time) => builder.build(def, time),
        post: s.post,
        runs: s.runs,
        isLeader: s.isLeader,
        clock,
        logger: deps.logger,
      });
      scheduler.start();
      return scheduler;
    },
  };
}

/** The report named `name`; without a name the only configured one, else the built-in `all`. */
function pick(defs: ReportDefinition[], name: string | undefined): ReportDefinition {
  if (name === undefined || name === "") return defs.length === 1 ? (defs[0] as ReportDefinition) : BUILT_IN;
  const hit = defs.find((d) => d.name === name) ?? (name === BUILT_IN.name ? BUILT_IN : undefined);
  if (hit) return hit;
  const close = didYouMean(
    name,
    defs.map((d) => d.name),
  );
  throw new UserError(
    `no report named "${name}"${close.length ? `; did you mean ${close.join(" or ")}?` : ""}`,
    {
      code: "unknown-report",
      hint: defs.length
        ? `Reports: ${defs.map((d) => d.name).join(", ")} (notifications.reports), or \`all\` for every section.`
        : "No reports are configured (notifications.reports); `report` without a name shows every section.",
    },
  );
}
