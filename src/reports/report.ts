/**
 * Sync reports (issue #14): what runs where, what is stuck, what is locked and by whom, what
 * happened, built from sections their owners contribute.
 *
 * Adding a section: implement `ReportSection` from `src/core/report.ts` over the owning
 * component's port (`sections/automation.ts` takes image automation's `ImageCatalog` and status
 * record, `sections/helm.ts` `HelmCommands.releases`; ADR 0018), and register it in
 * `src/app/reports.ts` (`sections.register(automationSection(...))`). The id must be one of
 * `REPORT_SECTION_IDS` (config validation lists them). Nothing here changes: a report lists the
 * section when it is registered, and says "not available here" when a report asks for a section
 * this process does not have.
 *
 * `ReportBuilder.build` collects every section once and renders the same data twice: a `Message`
 * (Slack, Teams) and plain text (`--print`, the shell). On demand and scheduled posts call the same
 * function, so for the same state and time they are the same.
 */
import type { CronSchedule } from "../core/cron.js";
import { type Block, b, type Message, t } from "../core/message.js";
import { type Logger, nullLogger } from "../core/ports.js";
import {
  type BuiltReport,
  REPORT_SECTION_IDS,
  type ReportScope,
  type ReportSection,
  type ReportSectionId,
  type ReportSectionRegistry,
} from "../core/report.js";
import { when } from "./format.js";

/** A report as configured (`notifications.reports[]`), schedule parsed. */
export interface ReportDefinition {
  name: string;
  /** Undefined for the built-in on-demand report (period: the last 7 days). */
  schedule?: CronSchedule;
  /** Undefined: every registered section. */
  sections?: ReportSectionId[];
  /** Undefined: every env. */
  envs?: string[];
  onlyProblems: boolean;
  staleLockDays: number;
}

/** The registered sections, in `REPORT_SECTION_IDS` order. */
export class SectionRegistry implements ReportSectionRegistry {
  private readonly byId = new Map<ReportSectionId, ReportSection>();

  register<D>(section: ReportSection<D>): void {
    this.byId.set(section.id, section as unknown as ReportSection);
  }

  get(id: ReportSectionId): ReportSection | undefined {
    return this.byId.get(id);
  }

  ids(): ReportSectionId[] {
    return REPORT_SECTION_IDS.filter((id) => this.byId.has(id));
  }
}

export interface BuilderDeps {
  sections: SectionRegistry;
  cluster: string;
  /** Every env of the release model (the default of a report's `envs`). */
  envs(): Promise<string[]>;
  /** Where long lists continue (the repo's web page). */
  moreUrl?: string;
  maxItems?: number;
  logger?: Logger;
}

/** When the report is built for: `now`, and the slot it was due at (scheduled runs). */
export interface BuildTime {
  now: Date;
  slot?: Date;
  /** Shown at the top (a late post says why it is late). */
  note?: string;
}

const WEEK_MS = 7 * 86_400_000;
const SECTION_NAMES: Record<ReportSectionId, string> = {
  releases: "Release matrix",
  sync: "Sync",
  automation: "Image automation",
  helm: "Helm releases",
  locks: "Locks and freezes",
  approvals: "Pending approvals",
  activity: "Activity",
};

interface SectionResult {
  id: ReportSectionId;
  /** The heading: the section's title, with its count. */
  title: string;
  problems: string[];
  data?: unknown;
  /** Why there is no data. */
  missing?: string;
}

/** Builds reports from the registered sections. */
export class ReportBuilder {
  private readonly logger: Logger;

  constructor(private readonly deps: BuilderDeps) {
    this.logger = (deps.logger ?? nullLogger).child({ component: "reports" });
  }

  /**
   * The period a report covers at `time`: since the slot before the one it is for (a scheduled or
   * late run), or since the latest slot (on demand); the built-in report covers 7 days.
   */
  period(def: ReportDefinition, time: BuildTime): { from: Date; to: Date } {
    const ref = new Date((time.slot ?? time.now).getTime() - 1);
    const from = def.schedule?.previous(ref) ?? new Date(time.now.getTime() - WEEK_MS);
    return { from, to: time.now };
  }

  async build(def: ReportDefinition, time: BuildTime): Promise<BuiltReport> {
    const known = await this.deps.envs();
    const envs = def.envs ? def.envs.filter((e) => known.includes(e)) : known;
    const unknownEnvs = (def.envs ?? []).filter((e) => !known.includes(e));
    const scope: ReportScope = {
      period: this.period(def, time),
      envs,
      now: time.now,
      staleLockDays: def.staleLockDays,
    };
    const results: SectionResult[] = [];
    for (const id of def.sections ?? this.deps.sections.ids()) results.push(await this.collect(id, scope));
    const problems = results.flatMap((r) => r.problems);
    if (unknownEnvs.length > 0)
      problems.push(`unknown env(s) in the report config: ${unknownEnvs.join(", ")}`);
    const when_ = def.schedule
      ? `${def.schedule.format(scope.period.from)} – ${def.schedule.format(scope.period.to)}`
      : `${when(scope.period.from.toISOString())} – ${when(scope.period.to.toISOString())}`;
    const head = `Sync report: ${this.deps.cluster} (${def.name})`;
    const data = {
      name: def.name,
      cluster: this.deps.cluster,
      at: time.now.toISOString(),
      ...(time.slot ? { slot: time.slot.toISOString() } : {}),
      period: { from: scope.period.from.toISOString(), to: scope.period.to.toISOString() },
      envs,
      ...(time.note ? { note: time.note } : {}),
      problems,
      sections: results.map((r) => ({
        id: r.id,
        title: r.title,
        problems: r.problems,
        ...(r.missing ? { missing: r.missing } : { data: r.data }),
      })),
    };
    return {
      name: def.name,
      message: this.message(head, when_, time.note, results, problems),
      text: this.text(head, when_, time.note, results, problems),
      data,
      problems,
    };
  }

  private async collect(id: ReportSectionId, scope: ReportScope): Promise<SectionResult> {
    const section = this.deps.sections.get(id);
    const title = section?.title ?? SECTION_NAMES[id];
    if (!section)
      return { id, title, problems: [], missing: "not available here (nothing in this process provides it)" };
    try {
      const data = await section.collect(scope);
      const n = section.count?.(data);
      return {
        id,
        title: n === undefined ? title : `${title} (${n})`,
        problems: section.problems(data),
        data,
      };
    } catch (err) {
      this.logger.warn({ err, section: id }, "report section could not be collected");
      return {
        id,
        title,
        problems: [`${title}: could not be read`],
        missing: "could not be read (the bot's log says why)",
      };
    }
  }

  private message(
    head: string,
    period: string,
    note: string | undefined,
    results: SectionResult[],
    problems: string[],
  ): Message {
    const opts = {
      maxItems: this.deps.maxItems ?? 10,
      ...(this.deps.moreUrl ? { moreUrl: this.deps.moreUrl } : {}),
    };
    const blocks: Block[] = [{ kind: "context", text: [t(`Period: ${period}`)] }];
    if (note) blocks.push({ kind: "text", text: [b("Posted late: "), t(note)] });
    blocks.push({
      kind: "text",
      text: problems.length
        ? [b(`Needs attention: `), t(problems.join("; "))]
        : [t("All good: nothing needs attention.")],
    });
    for (const r of results) {
      const section = this.deps.sections.get(r.id);
      blocks.push({ kind: "divider" }, { kind: "text", text: [b(r.title)] });
      if (r.missing || !section) blocks.push({ kind: "context", text: [t(r.missing ?? "not available")] });
      else blocks.push(...section.blocks(r.data, opts));
    }
    return {
      title: [t(head)],
      severity: problems.length ? "warning" : "success",
      blocks,
      fallbackText: `${head}: ${problems.length ? problems.join("; ") : "all good"}`,
      visibility: "channel",
    };
  }

  private text(
    head: string,
    period: string,
    note: string | undefined,
    results: SectionResult[],
    problems: string[],
  ): string {
    const out = [head, `Period: ${period}`];
    if (note) out.push(`Posted late: ${note}`);
    out.push(
      problems.length ? `Needs attention: ${problems.join("; ")}` : "All good: nothing needs attention.",
    );
    for (const r of results) {
      const section = this.deps.sections.get(r.id);
      out.push(
        "",
        `== ${r.title} ==`,
        r.missing || !section ? (r.missing ?? "not available") : section.text(r.data),
      );
    }
    return `${out.join("\n")}\n`;
  }
}
