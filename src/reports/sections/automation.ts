/**
 * The automation section: the automated workloads of the report's envs, grouped by env, with the
 * tag each runs and the newest candidate not released yet and why (locked, frozen, cannot order,
 * registry error, …, or "on the next cycle"); the frozen envs; the auto-release commits of the
 * period (`Gitops-Action: auto-release`, one `Gitops-Change` per image moved); and the outcome of
 * image automation's last cycle. Owned by image automation: the composition root passes its
 * `ImageCatalog` (the `images` command's read side: same scanner and planner) and a reader of its
 * status record, or says why it is off. This file knows only the ports.
 */
import { b, code, link, type RichText, t } from "../../core/message.js";
import type { ImageCandidates, ImageCatalog } from "../../core/ports.js";
import type { ReleaseModel } from "../../core/release.js";
import type { ReportScope, ReportSection } from "../../core/report.js";
import type { ConfigRepo } from "../../gitops/config-repo.js";
import { parseTrailerBlock, readTrailers } from "../../gitops/trailers.js";
import { byEnv, daysSince, envHeading, lines, when } from "../format.js";

/** What image automation's status record says of its last cycle. */
export interface AutomationStatus {
  status?: "ready" | "progressing" | "stalled" | "failed";
  /** `UpToDate`, `Released`, `RegistryUnavailable`, `ConfigRepoUnavailable`. */
  reason?: string;
  message?: string;
  lastCommit?: { sha: string; subject: string; time: string };
}

/** One container of an automated workload. */
export interface AutomatedImage {
  env: string;
  app: string;
  container: string;
  /** Shown only when the workload has several containers. */
  several: boolean;
  repository: string;
  filter?: string;
  current: string;
  /** The newest tag the filter admits that is newer than `current`, when there is one. */
  candidate?: string;
  /** How many admitted tags are newer than `current` (every admitted one when `current` is not). */
  newer: number;
  /** True when automation moves to `candidate` on its next cycle (nothing holds it). */
  next: boolean;
  /** Why automation does not move it (the planner's reason code and message). */
  reason?: string;
  why?: string;
}

export interface AutoReleaseEntry {
  sha: string;
  url?: string;
  time: string;
  subject: string;
  /** `<env>/<app> <container>: <old> -> <new> (<file>)` of the report's envs. */
  changes: string[];
}

export interface AutomationData {
  /** Why image automation is not part of this process (instead of the lists). */
  off?: string;
  envs: string[];
  last?: AutomationStatus;
  frozen: { env: string; by?: string; reason?: string; since?: string; days?: number }[];
  images: AutomatedImage[];
  autoReleases: AutoReleaseEntry[];
  /** True when the log was cut at the scan limit. */
  capped: boolean;
}

export interface AutomationDeps {
  model(): Promise<ReleaseModel>;
  repo: Pick<ConfigRepo, "log">;
  commitUrl(sha: string): string | undefined;
  /** The candidates of one instance; undefined when image automation does not run here. */
  catalog?: ImageCatalog;
  /** The status record of image automation (its last cycle). */
  status?: () => Promise<AutomationStatus>;
  /** Why image automation is off (shown in one line when there is no catalog). */
  off?: string;
  /** How many commits to read back at most (default 500). */
  scan?: number;
}

/** Reasons that need someone to fix something (a registry, a filter, a file). */
const STUCK = new Set(["registry-error", "cannot-order", "invalid-filter", "bad-image", "tag-vanished"]);

/** The container rows of one instance from its catalog listing. */
function rowsOf(env: string, app: string, listing: ImageCandidates[]): AutomatedImage[] {
  return listing.map((c) => {
    const admitted = c.tags.filter((x) => x.matches);
    const at = admitted.findIndex((x) => x.current);
    // Newest first: the admitted tags before the running one (all of them when it is not admitted).
    const newer = at < 0 ? admitted : admitted.slice(0, at);
    const next = c.tags.find((x) => x.next)?.tag;
    const candidate = next ?? newer[0]?.tag;
    return {
      env,
      app,
      container: c.container,
      several: listing.length > 1,
      repository: c.repository,
      ...(c.filter ? { filter: c.filter } : {}),
      current: c.tags.find((x) => x.current)?.tag ?? "?",
      ...(candidate ? { candidate } : {}),
      newer: newer.length,
      next: next !== undefined && !c.waiting,
      ...(c.reason ? { reason: c.reason } : {}),
      ...(c.waiting ? { why: c.waiting } : {}),
    };
  });
}

/** Every automated container of the report's envs, one catalog read per instance. */
async function automatedImages(
  catalog: ImageCatalog,
  model: ReleaseModel,
  envs: string[],
): Promise<AutomatedImage[]> {
  const out: AutomatedImage[] = [];
  for (const env of envs) {
    for (const inst of model.instances.filter((i) => i.env === env && i.workload.policies.automated)) {
      try {
        out.push(...rowsOf(env, inst.app, await catalog.candidates({ app: inst.app, env })));
      } catch (err) {
        const message = (err as Error).message;
        for (const img of inst.workload.images)
          out.push({
            env,
            app: inst.app,
            container: img.container,
            several: inst.workload.images.length > 1,
            repository: img.repository,
            current: img.tag,
            newer: 0,
            next: false,
            reason: "registry-error",
            why: `candidates could not be listed: ${message}`,
          });
      }
    }
  }
  return out;
}

/** The auto-release commits of the period that touch the report's envs. */
async function autoReleases(
  deps: AutomationDeps,
  scope: ReportScope,
): Promise<{ entries: AutoReleaseEntry[]; capped: boolean }> {
  const scan = deps.scan ?? 500;
  const log = await deps.repo.log({ limit: scan });
  const from = scope.period.from.getTime();
  const to = scope.period.to.getTime();
  const entries: AutoReleaseEntry[] = [];
  for (const c of log) {
    const at = Date.parse(c.committer.time || c.author.time);
    if (at <= from || at > to) continue;
    const tr = readTrailers(c.trailers.length > 0 ? c.trailers : parseTrailerBlock(c.body));
    if (tr.action !== "auto-release" || !tr.envs.some((e) => scope.envs.includes(e))) continue;
    const changes = tr.other
      .filter(([k, v]) => k.toLowerCase() === "gitops-change" && scope.envs.includes(v.split("/")[0] ?? ""))
      .map(([, v]) => v);
    const url = deps.commitUrl(c.sha);
    entries.push({ sha: c.sha, ...(url ? { url } : {}), time: c.author.time, subject: c.subject, changes });
  }
  return { entries, capped: log.length >= scan };
}

async function automationCollect(deps: AutomationDeps, scope: ReportScope): Promise<AutomationData> {
  const model = await deps.model();
  const envs = model.envs.filter((e) => scope.envs.includes(e));
  const frozen = (model.freezes ?? [])
    .filter((f) => envs.includes(f.env))
    .map((f) => {
      const days = daysSince(f.at, scope.now);
      return {
        env: f.env,
        ...(f.by ? { by: f.by } : {}),
        ...(f.reason ? { reason: f.reason } : {}),
        ...(f.at ? { since: f.at } : {}),
        ...(days !== undefined ? { days } : {}),
      };
    });
  const released = await autoReleases(deps, { ...scope, envs });
  const base = { envs, frozen, autoReleases: released.entries, capped: released.capped };
  if (!deps.catalog) return { ...base, off: deps.off ?? "image automation does not run here", images: [] };
  const last = await deps.status?.().catch(() => undefined);
  return {
    ...base,
    ...(last?.status ? { last } : {}),
    images: await automatedImages(deps.catalog, model, envs),
  };
}

function automationProblems(d: AutomationData): string[] {
  const out: string[] = [];
  const registry = d.images.filter((i) => i.reason === "registry-error").length;
  const stuck = d.images.filter((i) => i.reason && STUCK.has(i.reason)).length - registry;
  if (registry > 0) out.push(`${registry} automated image(s) cannot be updated: registry errors`);
  if (stuck > 0) out.push(`${stuck} automated image(s) stalled (cannot order, invalid filter, …)`);
  // Registry failures are told per image above (in the report's envs only); anything else is not.
  if (d.last?.status === "failed" && d.last.reason !== "RegistryUnavailable")
    out.push(`image automation failed: ${d.last.message ?? "see the bot's log"}`);
  return out;
}

/** `podinfo` or `podinfo/app` (when the workload has several containers). */
const nameOf = (i: AutomatedImage) => (i.several ? `${i.app}/${i.container}` : i.app);

/**
 * The planner's message without the workload it names first (the line already names it):
 * `prod/frontend container web (releases/prod/frontend.yaml) is locked by alice` -> `locked by alice`.
 */
function why(i: AutomatedImage): string {
  const text = i.why ?? i.reason ?? "?";
  const m = /^\S+ container \S+ \([^)]*\)(?::| is) (.*)$/s.exec(text);
  return m?.[1] && text.startsWith(`${i.env}/${i.app} container ${i.container} (`) ? m[1] : text;
}

/** What holds the candidate, in a few words. */
function state(i: AutomatedImage): string {
  if (!i.candidate && !i.why) return "up to date";
  const more = i.newer > 1 ? ` (${i.newer} newer)` : "";
  if (i.next) return `on the next cycle${more}`;
  if (i.reason === "frozen") return `waits: env frozen${more}`;
  return `waits${more}: ${why(i)}`;
}

function imageLine(i: AutomatedImage): RichText {
  const out: RichText = [t(`${nameOf(i)} `), code(i.current)];
  if (i.candidate) out.push(t(" → "), code(i.candidate));
  const s = state(i);
  out.push(i.reason && STUCK.has(i.reason) ? b(` ${s}`) : t(` ${s}`));
  return out;
}

/** `by bob: release weekend (11 d)`: who froze an env, why and how long ago. */
function freezeText(f: AutomationData["frozen"][number]): string {
  return `${f.by ? `by ${f.by}` : ""}${f.reason ? `: ${f.reason}` : ""}${f.days !== undefined ? ` (${f.days} d)` : ""}`;
}

function frozenNote(d: AutomationData, env: string): string | undefined {
  const f = d.frozen.find((x) => x.env === env);
  return f ? `· frozen ${freezeText(f)}`.trimEnd() : undefined;
}

function lastLine(d: AutomationData): string | undefined {
  const l = d.last;
  if (!l?.status) return undefined;
  const commit = l.lastCommit
    ? `; last auto-release ${l.lastCommit.sha.slice(0, 7)} ${when(l.lastCommit.time)}`
    : "";
  return `Last cycle: ${l.status}${l.message ? ` (${l.message})` : ""}${commit}`;
}

function automationBlocks(
  d: AutomationData,
  opts: Parameters<ReportSection["blocks"]>[1],
): ReturnType<ReportSection["blocks"]> {
  const out: ReturnType<ReportSection["blocks"]> = [];
  if (d.off) out.push({ kind: "context", text: [t(`Image automation is off: ${d.off}.`)] });
  const last = lastLine(d);
  if (last) out.push({ kind: "context", text: [t(last)] });
  const groups = byEnv(d.images, d.envs);
  for (const f of d.frozen.filter((x) => !groups.some(([e]) => e === x.env)))
    out.push({ kind: "text", text: envHeading(f.env, frozenNote(d, f.env)) });
  for (const [env, xs] of groups) {
    out.push({
      kind: "text",
      text: [...envHeading(env, frozenNote(d, env)), t("\n"), ...lines(xs.map(imageLine), opts, "images")],
    });
  }
  if (!d.off && d.images.length === 0)
    out.push({ kind: "context", text: [t("No automated workloads in these envs.")] });
  const items = d.autoReleases.map((r): RichText => {
    const sha = r.url ? link(r.sha.slice(0, 7), r.url) : code(r.sha.slice(0, 7));
    return [sha, t(` ${r.changes.length === 1 ? r.changes[0] : r.subject}`)];
  });
  out.push({
    kind: "text",
    text: items.length
      ? [b(`Auto-releases (${items.length})`), t("\n"), ...lines(items, opts, "auto-releases")]
      : [t("No auto-releases in this period.")],
  });
  return out;
}

function automationText(d: AutomationData): string {
  const out: string[] = [];
  if (d.off) out.push(`image automation is off: ${d.off}`);
  const last = lastLine(d);
  if (last) out.push(last);
  for (const f of d.frozen) out.push(`${f.env}: frozen ${freezeText(f)}`.trimEnd());
  for (const i of d.images) {
    const to = i.candidate ? ` -> ${i.candidate}` : "";
    out.push(`${i.env}/${nameOf(i)}: ${i.repository}:${i.current}${to} ${state(i)}`);
  }
  if (!d.off && d.images.length === 0) out.push("No automated workloads in these envs.");
  if (d.autoReleases.length === 0) out.push("No auto-releases in this period.");
  else {
    out.push(`auto-releases (${d.autoReleases.length}):`);
    for (const r of d.autoReleases) {
      out.push(`  ${r.sha.slice(0, 7)} ${when(r.time)}: ${r.subject}${r.url ? ` <${r.url}>` : ""}`);
      for (const c of r.changes) out.push(`    ${c}`);
    }
    if (d.capped) out.push("  (only the newest commits were read)");
  }
  return out.join("\n");
}

export function automationSection(deps: AutomationDeps): ReportSection<AutomationData> {
  return {
    id: "automation",
    title: "Image automation",
    collect: (scope) => automationCollect(deps, scope),
    problems: automationProblems,
    count: (d) => d.images.length,
    blocks: automationBlocks,
    text: automationText,
  };
}
