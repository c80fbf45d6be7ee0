/**
 * The approvals section: pending requests to change protected envs and who they wait for. Owned by
 * the approvals store (`src/bot/approvals/`): the composition root adapts it to `PendingRequest`.
 */
import { b, code, type RichText, t } from "../../core/message.js";
import type { ReportSection } from "../../core/report.js";
import { age, byEnv, envHeading, lines, when } from "../format.js";

export interface PendingRequest {
  id: string;
  command: string;
  env?: string;
  requester: string;
  createdAt: string;
  expiresAt: string;
  /** Approvals still needed. */
  missing: number;
  approvedBy: string[];
  /** Who may give them (the configured approvers, or "anyone allowed, except the requester"). */
  waitingFor: string;
}

export interface ApprovalsData {
  envs: string[];
  pending: PendingRequest[];
  now: string;
}

export function approvalsSection(deps: {
  pending(): Promise<PendingRequest[]>;
}): ReportSection<ApprovalsData> {
  return {
    id: "approvals",
    title: "Pending approvals",
    async collect(scope) {
      const all = await deps.pending();
      const now = scope.now.getTime();
      const pending = all
        .filter((p) => Date.parse(p.expiresAt) > now && (!p.env || scope.envs.includes(p.env)))
        .sort((x, y) => x.createdAt.localeCompare(y.createdAt));
      return { envs: scope.envs, pending, now: scope.now.toISOString() };
    },
    problems: (d) => (d.pending.length > 0 ? [`${d.pending.length} approval(s) pending`] : []),
    count: (d) => d.pending.length,
    blocks(d, opts) {
      if (d.pending.length === 0) return [{ kind: "context", text: [t("No approvals pending.")] }];
      const now = new Date(d.now);
      return byEnv(d.pending, d.envs).map(([env, ps]) => ({
        kind: "text" as const,
        text: [
          ...envHeading(env),
          t("\n"),
          ...lines(
            ps.map(
              (p): RichText => [
                code(p.command),
                t(` by ${p.requester}, ${age(p.createdAt, now) ?? "?"} ago · waits for `),
                b(`${p.missing} more from ${p.waitingFor}`),
                ...(p.approvedBy.length ? [t(` (approved by ${p.approvedBy.join(", ")})`)] : []),
                t(" · "),
                code(`approve ${p.id}`),
              ],
            ),
            opts,
            "requests",
          ),
        ],
      }));
    },
    text(d) {
      if (d.pending.length === 0) return "No approvals pending.";
      return d.pending
        .map(
          (p) =>
            `${p.id}  ${p.command}  by ${p.requester} at ${when(p.createdAt)}; waits for ${p.missing} more from ${p.waitingFor}${p.approvedBy.length ? ` (approved by ${p.approvedBy.join(", ")})` : ""}; expires ${when(p.expiresAt)}`,
        )
        .join("\n");
    },
  };
}
