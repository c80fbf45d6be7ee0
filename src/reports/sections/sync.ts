/**
 * The sync section: per cluster the last applied revision, when, the result, whether it is behind
 * the config repo, the objects that failed to apply and the drift seen. Owned by the sync
 * reconciler: the composition root passes a reader of its status record (any replica can read it).
 */
import { b, code, type RichText, t } from "../../core/message.js";
import type { ReportScope, ReportSection } from "../../core/report.js";
import { age, lines, when } from "../format.js";

/** What the sync status record says (the fields of `SyncStatus` the report shows). */
export interface SyncSnapshot {
  result: "never" | "success" | "partial" | "failed";
  revision?: string;
  time?: string;
  message?: string;
  failed: { id: string; file: string; error: string }[];
  drift: { id: string; fields: string[]; corrected: boolean }[];
}

export interface SyncData {
  cluster: string;
  /** Why there is no sync status (no cluster, unreadable), instead of the fields below. */
  unavailable?: string;
  result?: SyncSnapshot["result"];
  revision?: string;
  head?: string;
  behind?: boolean;
  time?: string;
  message?: string;
  failed: SyncSnapshot["failed"];
  drift: SyncSnapshot["drift"];
  now: string;
}

export interface SyncDeps {
  cluster: string;
  /** Reads the sync status; undefined when no sync reconciler runs here (no cluster). */
  read?: () => Promise<SyncSnapshot>;
  /** The config repo's head revision. */
  head(): Promise<string>;
}

const short = (s: string) => s.slice(0, 7);

function headline(d: SyncData, now: Date): RichText {
  if (d.unavailable) return [t(d.unavailable)];
  if (d.result === "never") return [t("not synced yet")];
  const what = d.result === "success" ? "synced" : d.result === "partial" ? "partly synced" : "sync failed";
  const out: RichText = [d.result === "success" ? t(`cluster ${what}`) : b(`cluster ${what}`)];
  if (d.revision) out.push(t(" at "), code(short(d.revision)));
  if (d.behind) out.push(t(" · "), b(`behind the config repo (${short(d.head ?? "")})`));
  else if (d.revision) out.push(t(" · up to date"));
  const ago = age(d.time, now);
  if (ago) out.push(t(` · ${ago} ago`));
  if (d.result === "failed" && d.message) out.push(t(`: ${d.message}`));
  return out;
}

/** The sync status record as report data, or why it is unavailable. */
async function syncCollect(deps: SyncDeps, scope: ReportScope): Promise<SyncData> {
  const base = { cluster: deps.cluster, failed: [], drift: [], now: scope.now.toISOString() };
  if (!deps.read) return { ...base, unavailable: "no sync reconciler runs (no cluster configured)" };
  let s: SyncSnapshot;
  try {
    s = await deps.read();
  } catch {
    return { ...base, unavailable: "the sync status could not be read from the cluster" };
  }
  const head = await deps.head();
  return {
    ...base,
    result: s.result,
    ...(s.revision ? { revision: s.revision, behind: s.revision !== head } : {}),
    head,
    ...(s.time ? { time: s.time } : {}),
    ...(s.message ? { message: s.message } : {}),
    failed: s.failed,
    drift: s.drift,
  };
}

/** Chat blocks: the headline, then failed objects and drift. */
function syncBlocks(
  d: SyncData,
  opts: Parameters<ReportSection["blocks"]>[1],
): ReturnType<ReportSection["blocks"]> {
  const now = new Date(d.now);
  const out: ReturnType<ReportSection["blocks"]> = [
    { kind: "text", text: [b(d.cluster), t(": "), ...headline(d, now)] },
  ];
  if (d.failed.length > 0) {
    const items = d.failed.map((f): RichText => [code(f.id), t(` (${f.file}): ${f.error}`)]);
    out.push({
      kind: "text",
      text: [b(`Failed to apply (${d.failed.length})`), t("\n"), ...lines(items, opts, "objects")],
    });
  }
  if (d.drift.length > 0) {
    const items = d.drift.map(
      (x): RichText => [
        code(x.id),
        t(` ${x.fields.join(", ")}${x.corrected ? " (corrected)" : " (not corrected)"}`),
      ],
    );
    out.push({
      kind: "text",
      text: [b(`Drift (${d.drift.length})`), t("\n"), ...lines(items, opts, "objects")],
    });
  }
  return out;
}

/** Plain text: one fact a line, then failed objects and drift. */
function syncText(d: SyncData): string {
  const out: string[] = [];
  if (d.unavailable) out.push(`${d.cluster}: ${d.unavailable}`);
  else {
    out.push(`cluster:   ${d.cluster}`);
    out.push(`result:    ${d.result}${d.message && d.result === "failed" ? ` (${d.message})` : ""}`);
    if (d.revision)
      out.push(
        `revision:  ${short(d.revision)}${d.behind ? ` (behind the config repo at ${short(d.head ?? "")})` : " (up to date)"}`,
      );
    if (d.time) out.push(`when:      ${when(d.time)}`);
  }
  if (d.failed.length > 0) {
    out.push(`failed to apply (${d.failed.length}):`);
    for (const f of d.failed) out.push(`  ${f.id} (${f.file}): ${f.error}`);
  }
  if (d.drift.length > 0) {
    out.push(`drift (${d.drift.length}):`);
    for (const x of d.drift)
      out.push(`  ${x.id}: ${x.fields.join(", ")}${x.corrected ? " (corrected)" : ""}`);
  }
  return out.join("\n");
}

export function syncSection(deps: SyncDeps): ReportSection<SyncData> {
  return {
    id: "sync",
    title: "Sync",
    collect: (scope) => syncCollect(deps, scope),
    problems(d) {
      const out: string[] = [];
      if (d.unavailable?.includes("could not be read")) out.push(`sync: ${d.unavailable}`);
      if (d.result === "failed") out.push(`the last sync of ${d.cluster} failed`);
      if (d.failed.length > 0) out.push(`${d.failed.length} object(s) failed to apply`);
      if (d.drift.length > 0) out.push(`${d.drift.length} object(s) drifted`);
      return out;
    },
    blocks: syncBlocks,
    text: syncText,
  };
}
