/**
 * The sync-report ports (issue #14). A report is a list of sections; each section is contributed by
 * the component that owns its data (the release model, the sync reconciler, the approvals store, …)
 * through `ReportSection`, registered on a `ReportSectionRegistry` by the composition root. The
 * report module (`src/reports/`) knows only this interface, so a reconciler adds its section
 * (image automation: `automation`, HelmRelease: `helm`) without the report module knowing it.
 *
 * `ReportRunner` is what the `report` chat command and the CLI use to build a report on demand:
 * the same content the schedule posts.
 */
import type { Block, Message } from "./message.js";

/** The section ids a report config may list (`notifications.reports[].sections`), in report order. */
export const REPORT_SECTION_IDS = [
  "releases",
  "sync",
  "automation",
  "helm",
  "locks",
  "approvals",
  "activity",
] as const;
export type ReportSectionId = (typeof REPORT_SECTION_IDS)[number];

/** What a section collects for: the period the report covers, the envs it shows, and now. */
export interface ReportScope {
  /** The period since the previous slot of the report's schedule (for "what happened" sections). */
  period: { from: Date; to: Date };
  /** Environments to show (the report's `envs`, else every env of the release model). */
  envs: string[];
  now: Date;
  /** Locks older than this many days get a nudge. */
  staleLockDays: number;
}

/** How a section renders for chat: at most `maxItems` per list, the rest as a count and a link. */
export interface RenderOptions {
  maxItems: number;
  /** Where the full list is (the repo's web page), for "and 12 more". */
  moreUrl?: string;
}

/**
 * One section of a report. `collect` reads the data (JSON-serialisable: it is also `--json`'s
 * output); `problems` says what in it needs attention (drives `onlyProblems` and the colour);
 * `blocks` renders it for chat (readable on a phone: grouped by env, lists truncated) and `text`
 * for the shell and `--print`. Render functions are pure: the same data renders the same way.
 */
export interface ReportSection<D = unknown> {
  id: ReportSectionId;
  title: string;
  collect(scope: ReportScope): Promise<D>;
  problems(data: D): string[];
  /** How many items the section lists, shown in its heading (`Locks (2)`); absent: no count. */
  count?(data: D): number;
  blocks(data: D, opts: RenderOptions): Block[];
  text(data: D): string;
}

/** Where components register their sections (the composition root owns the one instance). */
export interface ReportSectionRegistry {
  /** Adds a section; a second section with the same id replaces the first. */
  register<D>(section: ReportSection<D>): void;
}

/** One built report: the data of each section, and the two renderings of it. */
export interface BuiltReport {
  name: string;
  message: Message;
  text: string;
  /** What `--json` prints: the report's name, time, period, problems and each section's data. */
  data: unknown;
  problems: string[];
}

/** Builds reports on demand (the `report` command, `gitops-bot report`). */
export interface ReportRunner {
  /** The configured report names. */
  names(): string[];
  /** Builds report `name` (default: the only configured one, else every section) as of now. */
  build(name?: string): Promise<BuiltReport>;
}
