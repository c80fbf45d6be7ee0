/**
 * The locks section: who locked what, why and since when, grouped by env, with a nudge for locks
 * older than the report's `staleLockDays`. Read from the release model (the lock annotations).
 */
import { b, type RichText, t } from "../../core/message.js";
import type { ReleaseModel } from "../../core/release.js";
import type { ReportSection } from "../../core/report.js";
import { byEnv, daysSince, envHeading, lines, when } from "../format.js";

export interface LockEntry {
  env: string;
  app: string;
  user?: string;
  message?: string;
  since?: string;
  days?: number;
  stale: boolean;
}

export interface LocksData {
  envs: string[];
  locks: LockEntry[];
  staleLockDays: number;
}

function describe(l: LockEntry): string {
  return `${l.user ? `by ${l.user}` : "by ?"}${l.message ? `: ${l.message}` : ""}${l.days !== undefined ? ` (${l.days} d)` : ""}`;
}

export function locksSection(deps: { model(): Promise<ReleaseModel> }): ReportSection<LocksData> {
  return {
    id: "locks",
    title: "Locks",
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
      return { envs, locks, staleLockDays: scope.staleLockDays };
    },
    problems: (d) => {
      const stale = d.locks.filter((l) => l.stale).length;
      return stale > 0 ? [`${stale} lock(s) older than ${d.staleLockDays} days`] : [];
    },
    count: (d) => d.locks.length,
    blocks(d, opts) {
      if (d.locks.length === 0) return [{ kind: "context", text: [t("Nothing is locked.")] }];
      const out: ReturnType<ReportSection["blocks"]> = byEnv(d.locks, d.envs).map(([env, ls]) => ({
        kind: "text" as const,
        text: [
          ...envHeading(env),
          t("\n"),
          ...lines(
            ls.map(
              (l): RichText => [
                t(`${l.app} locked ${describe(l)}`),
                ...(l.stale ? [t(" · "), b("still needed? unlock when done")] : []),
              ],
            ),
            opts,
            "locks",
          ),
        ],
      }));
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
      if (d.locks.length === 0) return "Nothing is locked.";
      return d.locks
        .map(
          (l) =>
            `${l.env}/${l.app}: locked ${describe(l)}${l.since ? ` since ${when(l.since)}` : ""}${l.stale ? `  <- older than ${d.staleLockDays} days, still needed?` : ""}`,
        )
        .join("\n");
    },
  };
}
