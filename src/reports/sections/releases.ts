/**
 * The release matrix section: apps x envs with tag and chart version, how long each version has
 * been in each env (from the config repo's history), and where neighbouring envs differ (what a
 * promotion would carry). Owned by the release model (`src/gitops/`); envs in model order.
 */
import { b, code, type RichText, t } from "../../core/message.js";
import { type AppInstance, findInstance, type ReleaseModel } from "../../core/release.js";
import type { ReportScope, ReportSection } from "../../core/report.js";
import { chartVersionOf } from "../../gitops/history.js";
import type { HistoryEntry } from "../../gitops/operations.js";
import { age, envHeading, lines, textTable } from "../format.js";

export interface ReleaseCell {
  tag: string;
  chart?: string;
  /** When the running version got into this env (the newest commit that set it). */
  since?: string;
  automated: boolean;
  locked: boolean;
}

/** Neighbouring envs that run different versions: promoting `from` -> `to` would carry `tag`. */
export interface PromotionGap {
  app: string;
  from: string;
  to: string;
  tag: string;
  current: string;
  chart?: string;
  currentChart?: string;
}

export interface ReleasesData {
  revision: string;
  envs: string[];
  apps: { app: string; cells: Record<string, ReleaseCell> }[];
  gaps: PromotionGap[];
  unreadable: { file: string; message: string }[];
  /** Envs where automation is frozen (`freeze <env>`); details are in the locks section. */
  frozen?: string[];
  now: string;
}

export interface ReleasesDeps {
  model(): Promise<ReleaseModel>;
  history(a: { app: string; env: string; limit?: number }): Promise<HistoryEntry[]>;
}

function tagsOf(i: AppInstance): string {
  const imgs = i.workload.images;
  if (imgs.length === 0) return "-";
  if (imgs.length === 1) return imgs[0]?.tag ?? "-";
  return imgs.map((x) => `${x.container}=${x.tag}`).join(", ");
}

/** The newest history entry that set one of the running tags (or the running chart). */
function sinceOf(i: AppInstance, history: HistoryEntry[]): string | undefined {
  const tags = new Set(i.workload.images.map((x) => `${x.container}=${x.tag}`));
  const chart = chartVersionOf(i.workload);
  const hit = history.find(
    (h) =>
      h.images.some((x) => tags.has(`${x.container}=${x.tag}`)) ||
      (i.workload.images.length === 0 && chart !== undefined && h.chartVersion === chart),
  );
  return hit?.time;
}

function cellText(c: ReleaseCell, now: Date): string {
  const since = age(c.since, now);
  return `${c.tag}${c.chart ? ` chart ${c.chart}` : ""}${since ? ` (${since})` : ""}`;
}

/** The matrix of the envs in scope: one cell per app and env, and the gaps between neighbours. */
async function releasesCollect(deps: ReleasesDeps, scope: ReportScope): Promise<ReleasesData> {
  const model = await deps.model();
  const envs = model.envs.filter((e) => scope.envs.includes(e));
  const apps: ReleasesData["apps"] = [];
  const gaps: PromotionGap[] = [];
  for (const app of model.apps) {
    const cells: Record<string, ReleaseCell> = {};
    for (const env of envs) {
      const i = findInstance(model, app, env);
      if (!i) continue;
      const history = await deps.history({ app, env, limit: 10 }).catch(() => []);
      const chart = i.workload.chart?.version;
      const since = sinceOf(i, history);
      cells[env] = {
        tag: tagsOf(i),
        ...(chart ? { chart } : {}),
        ...(since ? { since } : {}),
        automated: i.workload.policies.automated,
        locked: i.workload.policies.locked !== null,
      };
    }
    if (Object.keys(cells).length === 0) continue;
    apps.push({ app, cells });
    envs.forEach((to, k) => {
      const from = envs[k - 1];
      const a = from ? cells[from] : undefined;
      const z = cells[to];
      if (!from || !a || !z || (a.tag === z.tag && a.chart === z.chart)) return;
      gaps.push({
        app,
        from,
        to,
        tag: a.tag,
        current: z.tag,
        ...(a.chart ? { chart: a.chart } : {}),
        ...(z.chart ? { currentChart: z.chart } : {}),
      });
    });
  }
  const unreadable = model.problems.map((p) => ({ file: p.file, message: p.message }));
  const frozen = envs.filter((e) => model.freezes?.some((f) => f.env === e));
  return { revision: model.revision, envs, apps, gaps, unreadable, frozen, now: scope.now.toISOString() };
}

/** Chat blocks: one text block per env, then what a promotion would carry. */
function releasesBlocks(
  d: ReleasesData,
  opts: Parameters<ReportSection["blocks"]>[1],
): ReturnType<ReportSection["blocks"]> {
  const now = new Date(d.now);
  const out: ReturnType<ReportSection["blocks"]> = [];
  for (const env of d.envs) {
    const items: RichText[] = [];
    for (const a of d.apps) {
      const c = a.cells[env];
      if (!c) continue;
      const since = age(c.since, now);
      const gap = d.gaps.find((g) => g.app === a.app && g.to === env);
      items.push([
        t(`${a.app} `),
        code(c.tag),
        ...(c.chart ? [t(` chart ${c.chart}`)] : []),
        ...(since ? [t(` · ${since}`)] : []),
        ...(c.locked ? [t(" · locked")] : []),
        ...(gap ? [t(" · "), b(`${gap.from} has ${gap.tag}`)] : []),
      ]);
    }
    const note = d.frozen?.includes(env) ? "· automation frozen" : undefined;
    if (items.length > 0)
      out.push({ kind: "text", text: [...envHeading(env, note), t("\n"), ...lines(items, opts, "apps")] });
  }
  if (d.gaps.length > 0) {
    const items = d.gaps.map(
      (g): RichText => [
        t(`${g.app} ${g.from} → ${g.to}: `),
        code(g.current),
        t(" → "),
        code(g.tag),
        ...(g.chart !== g.currentChart ? [t(` (chart ${g.currentChart ?? "-"} → ${g.chart ?? "-"})`)] : []),
      ],
    );
    out.push({
      kind: "text",
      text: [b(`A promotion would carry (${d.gaps.length})`), t("\n"), ...lines(items, opts, "differences")],
    });
  } else if (d.apps.length > 0) out.push({ kind: "context", text: [t("Every env runs the same versions.")] });
  if (d.apps.length === 0) out.push({ kind: "context", text: [t("No apps in these envs.")] });
  if (d.unreadable.length > 0)
    out.push({
      kind: "context",
      text: [t(`${d.unreadable.length} file(s) could not be read: ${d.unreadable[0]?.file}…`)],
    });
  return out;
}

/** Plain text: a table of apps x envs, then the gaps. */
function releasesText(d: ReleasesData): string {
  const now = new Date(d.now);
  const rows = d.apps.map((a) => [
    a.app,
    ...d.envs.map((e) => {
      const c = a.cells[e];
      if (!c) return "-";
      const gap = d.gaps.some((g) => g.app === a.app && g.to === e);
      return `${cellText(c, now)}${gap ? " *" : ""}`;
    }),
  ]);
  const heads = d.envs.map((e) => (d.frozen?.includes(e) ? `${e} (frozen)` : e));
  const out = [d.apps.length ? textTable(["app", ...heads], rows) : "No apps in these envs."];
  if (d.gaps.length > 0) {
    out.push("", "* differs from the env before it; a promotion would carry:");
    for (const g of d.gaps)
      out.push(
        `  ${g.app} ${g.from} -> ${g.to}: ${g.current} -> ${g.tag}${g.chart !== g.currentChart ? ` (chart ${g.currentChart ?? "-"} -> ${g.chart ?? "-"})` : ""}`,
      );
  }
  for (const u of d.unreadable) out.push(`unreadable: ${u.file}: ${u.message}`);
  return out.join("\n");
}

export function releasesSection(deps: ReleasesDeps): ReportSection<ReleasesData> {
  return {
    id: "releases",
    title: "Release matrix",
    collect: (scope) => releasesCollect(deps, scope),
    problems: (d) =>
      d.unreadable.length > 0 ? [`${d.unreadable.length} file(s) of the config repo could not be read`] : [],
    blocks: releasesBlocks,
    text: releasesText,
  };
}
