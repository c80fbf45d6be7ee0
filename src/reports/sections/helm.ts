/**
 * The Helm section: the HelmReleases of the report's envs that are not deployed (failed, rolled
 * back, stalled, pending), grouped by env, with Helm's message as the reconciler stored it (it
 * redacts before storing); "all N releases deployed" when every one is. Owned by the HelmRelease
 * reconciler: the composition root passes `HelmCommands.releases` (its status record), or says why
 * it is off. Failed, rolled-back and stalled releases need attention; pending ones are in progress.
 */
import { b, code, type RichText, t } from "../../core/message.js";
import type { HelmReleaseSummary } from "../../core/ports.js";
import type { ReleaseModel } from "../../core/release.js";
import type { ReportScope, ReportSection } from "../../core/report.js";
import { byEnv, envHeading, lines } from "../format.js";

export interface HelmRow {
  env?: string;
  app?: string;
  /** `namespace/name` of the HelmRelease. */
  key: string;
  file: string;
  release: string;
  namespace: string;
  phase: string;
  revision?: number;
  message?: string;
}

export interface HelmData {
  /** Why the HelmRelease reconciler is not part of this process (instead of the lists). */
  off?: string;
  envs: string[];
  /** Releases of the report's envs, and how many of them are deployed. */
  total: number;
  deployed: number;
  /** Not deployed: failed, rolled back, stalled first, then pending. */
  releases: HelmRow[];
}

export interface HelmDeps {
  model(): Promise<ReleaseModel>;
  /** The recorded phase of every HelmRelease; undefined when Helm does not run here. */
  releases?: () => Promise<HelmReleaseSummary[]>;
  /** Why Helm is off (shown in one line when there is no `releases`). */
  off?: string;
}

/** Phases that need attention, in the order they are listed. */
const BAD = ["Failed", "RolledBack", "Stalled"];
/** Phases that are fine without being "deployed". */
const QUIET = new Set(["Deployed", "Uninstalled", "Skipped", "NotOwned"]);

const rank = (p: string) => (BAD.includes(p) ? BAD.indexOf(p) : BAD.length);

async function helmCollect(deps: HelmDeps, scope: ReportScope): Promise<HelmData> {
  const model = await deps.model();
  const envs = model.envs.filter((e) => scope.envs.includes(e));
  if (!deps.releases)
    return { off: deps.off ?? "Helm does not run here", envs, total: 0, deployed: 0, releases: [] };
  const allEnvs = model.envs.every((e) => envs.includes(e));
  const rows: HelmRow[] = [];
  for (const r of await deps.releases()) {
    const inst = model.instances.find((i) => i.workload.file === r.file && i.workload.kind === "HelmRelease");
    // A release of no known env shows only in a report over every env.
    if (inst ? !envs.includes(inst.env) : !allEnvs) continue;
    rows.push({ ...(inst ? { env: inst.env, app: inst.app } : {}), ...r });
  }
  const releases = rows
    .filter((r) => !QUIET.has(r.phase))
    .sort((x, y) => rank(x.phase) - rank(y.phase) || x.key.localeCompare(y.key));
  return { envs, total: rows.length, deployed: rows.filter((r) => r.phase === "Deployed").length, releases };
}

function helmProblems(d: HelmData): string[] {
  const out: string[] = [];
  const n = (p: string) => d.releases.filter((r) => r.phase === p).length;
  const words: Record<string, string> = { Failed: "failed", RolledBack: "rolled back", Stalled: "stalled" };
  for (const p of BAD) if (n(p) > 0) out.push(`${n(p)} Helm release(s) ${words[p]}`);
  return out;
}

const phaseWord = (p: string) =>
  p === "RolledBack" ? "rolled back" : p === "Progressing" ? "pending" : p.toLowerCase();
const nameOf = (r: HelmRow) => r.app ?? r.key;
/** Chat shows the start of a long Helm message; `--print` and `--json` keep all of it. */
const clip = (m: string) => (m.length > 300 ? `${m.slice(0, 299)}…` : m);

function row(r: HelmRow): RichText {
  const rev = r.revision !== undefined ? ` rev ${r.revision}` : "";
  const head = [t(`${nameOf(r)} `), BAD.includes(r.phase) ? b(phaseWord(r.phase)) : t(phaseWord(r.phase))];
  return [
    ...head,
    t(` (`),
    code(`${r.namespace}/${r.release}`),
    t(`${rev})`),
    ...(r.message ? [t(`: ${clip(r.message)}`)] : []),
  ];
}

function summary(d: HelmData): string {
  if (d.total === 0) return "No Helm releases in these envs.";
  if (d.deployed === d.total) return `All ${d.total} release(s) deployed.`;
  return `${d.deployed} of ${d.total} release(s) deployed.`;
}

function helmBlocks(
  d: HelmData,
  opts: Parameters<ReportSection["blocks"]>[1],
): ReturnType<ReportSection["blocks"]> {
  if (d.off) return [{ kind: "context", text: [t(`Helm is off: ${d.off}.`)] }];
  const out: ReturnType<ReportSection["blocks"]> = [{ kind: "context", text: [t(summary(d))] }];
  for (const [env, xs] of byEnv(d.releases, d.envs))
    out.push({ kind: "text", text: [...envHeading(env), t("\n"), ...lines(xs.map(row), opts, "releases")] });
  return out;
}

function helmText(d: HelmData): string {
  if (d.off) return `Helm is off: ${d.off}`;
  const out = [summary(d)];
  for (const r of d.releases) {
    const rev = r.revision !== undefined ? ` rev ${r.revision}` : "";
    out.push(
      `${r.env ?? "other"}/${nameOf(r)}: ${phaseWord(r.phase)} (${r.namespace}/${r.release}${rev}, ${r.file})${r.message ? `: ${r.message}` : ""}`,
    );
  }
  return out.join("\n");
}

export function helmSection(deps: HelmDeps): ReportSection<HelmData> {
  return {
    id: "helm",
    title: "Helm releases",
    collect: (scope) => helmCollect(deps, scope),
    problems: helmProblems,
    count: (d) => d.releases.length,
    blocks: helmBlocks,
    text: helmText,
  };
}
