/**
 * The locks section: who locked what, why and since when, grouped by env, with a nudge for locks
 * older than the report's `staleLockDays`; and the env freezes (`freeze <env>`: no automation in the
 * whole env) the same way, first in their env. Read from the release model (the lock annotations
 * and `.gitops-bot/freezes.yaml`).
 */
import { b, code, type RichText, t } from "../../core/message.js";
import type { ReleaseModel } from "../../core/release.js";
import type { ReportScope, ReportSection } from "../../core/report.js";
import { daysSince, envHeading, lines, when } from "../format.js";

export interface LockEntry {
  env: string;
  app: string;
  user?: string;
  message?: string;
  since?: string;
  days?: number;
  stale: boolean;
}

/** A frozen env: automation changes nothing there. */
export interface FreezeEntry {
  env: string;
  user?: string;
  message?: string;
  since?: string;
  days?: number;
  stale: boolean;
}

export interface LocksData {
  envs: string[];
  locks: LockEntry[];
  /** Frozen envs (absent in data recorded before freezes existed). */
  freezes?: FreezeEntry[];
  /** Mistakes in the freezes file, `file: message`. */
  freezeProblems?: string[];
  staleLockDays: number;
}

function describe(l: { user?: string; message?: string; days?: number }): string {
  return `${l.user ? `by ${l.user}` : "by ?"}${l.message ? `: ${l.message}` : ""}${l.days !== undefined ? ` (${l.days} d)` : ""}`;
}

/** Locks and freezes of the report's envs, with their age. */
async function locksCollect(model: ReleaseModel, scope: ReportScope): Promise<LocksData> {
  const envs = model.envs.filter((e) => scope.envs.includes(e));
  const entry = (user?: string, message?: string, since?: string) => {
    const days = daysSince(since, scope.now);
    return {
      ...(user ? { user } : {}),
      ...(message ? { message } : {}),
      ...(since ? { since } : {}),
      ...(days !== undefined ? { days } : {}),
      stale: days !== undefined && days >= scope.staleLockDays,
    };
  };
  const locks: LockEntry[] = [];
  for (const i of model.instances) {
    const l = i.workload.policies.locked;
    if (l && envs.includes(i.env))
      locks.push({ env: i.env, app: i.app, ...entry(l.user, l.message, l.since) });
  }
  const freezes: FreezeEntry[] = (model.freezes ?? [])
    .filter((f) => envs.includes(f.env))
    .map((f) => ({ env: f.env, ...entry(f.by, f.reason, f.at) }));
  const freezeProblems = (model.freezeProblems ?? [])
    .filter((p) => p.env === undefined || envs.includes(p.env))
    .map((p) => `${p.file}: ${p.message}`);
  return { envs, locks, freezes, freezeProblems, staleLockDays: scope.staleLockDays };
}

/** Per env: its freeze first, then its locks; stale ones get a nudge. */
function locksBlocks(
  d: LocksData,
  opts: Parameters<ReportSection["blocks"]>[1],
): ReturnType<ReportSection["blocks"]> {
  const freezes = d.freezes ?? [];
  const mistakes: ReturnType<ReportSection["blocks"]> = (d.freezeProblems ?? []).map((p) => ({
    kind: "context",
    text: [t(p)],
  }));
  if (d.locks.length === 0 && freezes.length === 0)
    return [{ kind: "context", text: [t("Nothing is locked or frozen.")] }, ...mistakes];
  // Both lists only hold envs of the report (see locksCollect).
  const shown = d.envs.filter((e) => freezes.some((f) => f.env === e) || d.locks.some((l) => l.env === e));
  const out: ReturnType<ReportSection["blocks"]> = shown.map((env) => {
    const f = freezes.find((x) => x.env === env);
    const items = d.locks
      .filter((l) => l.env === env)
      .map(
        (l): RichText => [
          t(`${l.app} locked ${describe(l)}`),
          ...(l.stale ? [t(" · "), b("still needed? unlock when done")] : []),
        ],
      );
    const frozenLine: RichText = f
      ? [
          b(`automation frozen ${describe(f)}`),
          ...(f.stale ? [t(" · still needed? "), code(`unfreeze ${env}`), t(" when done")] : []),
        ]
      : [];
    return {
      kind: "text" as const,
      text: [
        ...envHeading(env),
        t("\n"),
        ...frozenLine,
        ...(f && items.length > 0 ? [t("\n")] : []),
        ...(items.length > 0 ? lines(items, opts, "locks") : []),
      ],
    };
  });
  out.push(...mistakes);
  const stale = d.locks.filter((l) => l.stale).length;
  if (stale > 0)
    out.push({
      kind: "context",
      text: [
        t(
          `${stale} lock(s) are older than ${d.staleLockDays} days: automation and releases stay blocked there.`,
        ),
      ],
    });
  return out;
}

function locksText(d: LocksData): string {
  const freezes = d.freezes ?? [];
  const mistakes = (d.freezeProblems ?? []).map((p) => `mistake: ${p}`);
  if (d.locks.length === 0 && freezes.length === 0)
    return ["Nothing is locked or frozen.", ...mistakes].join("\n");
  const tail = (x: { since?: string; stale: boolean }) =>
    `${x.since ? ` since ${when(x.since)}` : ""}${x.stale ? `  <- older than ${d.staleLockDays} days, still needed?` : ""}`;
  return [
    ...freezes.map((f) => `${f.env}: automation frozen ${describe(f)}${tail(f)}`),
    ...d.locks.map((l) => `${l.env}/${l.app}: locked ${describe(l)}${tail(l)}`),
    ...mistakes,
  ].join("\n");
}

export function locksSection(deps: { model(): Promise<ReleaseModel> }): ReportSection<LocksData> {
  return {
    id: "locks",
    title: "Locks and freezes",
    collect: async (scope) => locksCollect(await deps.model(), scope),
    problems: (d) => {
      const stale = d.locks.filter((l) => l.stale).length;
      const staleFreezes = (d.freezes ?? []).filter((f) => f.stale).length;
      const mistakes = d.freezeProblems?.length ?? 0;
      return [
        ...(mistakes > 0 ? [`${mistakes} mistake(s) in the freezes file (.gitops-bot/freezes.yaml)`] : []),
        ...(staleFreezes > 0 ? [`${staleFreezes} freeze(s) older than ${d.staleLockDays} days`] : []),
        ...(stale > 0 ? [`${stale} lock(s) older than ${d.staleLockDays} days`] : []),
      ];
    },
    count: (d) => d.locks.length + (d.freezes?.length ?? 0),
    blocks: locksBlocks,
    text: locksText,
  };
}
