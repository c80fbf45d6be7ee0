/**
 * The locks section: who locked what, why and since when, grouped by env, with a nudge for locks
 * older than the report's `staleLockDays`; and the env freezes (`freeze <env>`: no automation in the
 * whole env) the same way, first in their env. Read from the release model (the lock annotations
 * and `.gitops-bot/freezes.yaml`).
 */
import { b, code, type RichText, t } from "../../core/message.js";
import type { ReleaseModel } from "../../core/release.js";
import type { ReportSection } from "../../core/report.js";
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
  staleLockDays: number;
}

function describeFreeze(f: FreezeEntry): string {
  return `${f.user ? `by ${f.user}` : "by ?"}${f.message ? `: ${f.message}` : ""}${f.days !== undefined ? ` (${f.days} d)` : ""}`;
}

function describe(l: LockEntry): string {
  return `${l.user ? `by ${l.user}` : "by ?"}${l.message ? `: ${l.message}` : ""}${l.days !== undefined ? ` (${l.days} d)` : ""}`;
}

export function locksSection(deps: { model(): Promise<ReleaseModel> }): ReportSection<LocksData> {
  return {
    id: "locks",
    title: "Locks and freezes",
    async collect(scope) {
      const model = await deps.model();
      const envs = model.envs.filter((e) => scope.envs.includes(e));
      const locks: LockEntry[] = [];
      for (const i of model.instances) {
        const l = i.workload.policies.locked;
        if (!l || !envs.includes(i.env)) continue;
        const days = daysSince(l.since, scope.now);
        locks.push({
          env: i.env,
          app: i.app,
          ...(l.user ? { user: l.user } : {}),
          ...(l.message ? { message: l.message } : {}),
          ...(l.since ? { since: l.since } : {}),
          ...(days !== undefined ? { days } : {}),
          stale: days !== undefined && days >= scope.staleLockDays,
        });
      }
      const freezes: FreezeEntry[] = (model.freezes ?? [])
        .filter((f) => envs.includes(f.env))
        .map((f) => {
          const days = daysSince(f.at, scope.now);
          return {
            env: f.env,
            ...(f.by ? { user: f.by } : {}),
            ...(f.reason ? { message: f.reason } : {}),
            ...(f.at ? { since: f.at } : {}),
            ...(days !== undefined ? { days } : {}),
            stale: days !== undefined && days >= scope.staleLockDays,
          };
        });
      return { envs, locks, freezes, staleLockDays: scope.staleLockDays };
    },
    problems: (d) => {
      const stale = d.locks.filter((l) => l.stale).length;
      const staleFreezes = (d.freezes ?? []).filter((f) => f.stale).length;
      return [
        ...(staleFreezes > 0 ? [`${staleFreezes} freeze(s) older than ${d.staleLockDays} days`] : []),
        ...(stale > 0 ? [`${stale} lock(s) older than ${d.staleLockDays} days`] : []),
      ];
    },
    count: (d) => d.locks.length + (d.freezes?.length ?? 0),
    blocks(d, opts) {
      const freezes = d.freezes ?? [];
      if (d.locks.length === 0 && freezes.length === 0)
        return [{ kind: "context", text: [t("Nothing is locked or frozen.")] }];
      // Both lists only hold envs of the report (see collect).
      const shown = d.envs.filter(
        (e) => freezes.some((f) => f.env === e) || d.locks.some((l) => l.env === e),
      );
      const out: ReturnType<ReportSection["blocks"]> = shown.map((env) => {
        const f = freezes.find((x) => x.env === env);
        const ls = d.locks.filter((l) => l.env === env);
        const items = ls.map(
          (l): RichText => [
            t(`${l.app} locked ${describe(l)}`),
            ...(l.stale ? [t(" · "), b("still needed? unlock when done")] : []),
          ],
        );
        const frozenLine: RichText = f
          ? [
              b(`automation frozen ${describeFreeze(f)}`),
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
    },
    text(d) {
      const freezes = d.freezes ?? [];
      if (d.locks.length === 0 && freezes.length === 0) return "Nothing is locked or frozen.";
      return [
        ...freezes.map(
          (f) =>
            `${f.env}: automation frozen ${describeFreeze(f)}${f.since ? ` since ${when(f.since)}` : ""}${f.stale ? `  <- older than ${d.staleLockDays} days, still needed?` : ""}`,
        ),
        ...d.locks.map(
          (l) =>
            `${l.env}/${l.app}: locked ${describe(l)}${l.since ? ` since ${when(l.since)}` : ""}${l.stale ? `  <- older than ${d.staleLockDays} days, still needed?` : ""}`,
        ),
      ].join("\n");
    },
  };
}
