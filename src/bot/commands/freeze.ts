import { z } from "zod";
import { b, code, type Message, t } from "../../core/message.js";
import type { OpResult } from "../../gitops/operations.js";
import { type CommandContext, defineCommand } from "../registry.js";
import { commitSpan, short } from "./format.js";

/** The reply to a freeze or an unfreeze: what it means for automation, the commit, or the dry run. */
export function freezeMessage(r: OpResult, ctx: CommandContext, dryRun: boolean, reason?: string): Message {
  const frozen = r.action === "freeze";
  const meaning = frozen
    ? "No automated change until someone runs "
    : "Image automation may change it again; the next scan picks up what is new.";
  const facts = [
    ...(frozen ? [{ label: "by", value: [t(ctx.actor.name)] }] : []),
    ...(frozen && reason?.trim() ? [{ label: "reason", value: [t(reason.trim())] }] : []),
  ];
  if (dryRun || ctx.preview) {
    return {
      title: [b("Dry run: "), t(r.subject)],
      severity: "info",
      blocks: [
        ...(facts.length ? [{ kind: "facts" as const, facts }] : []),
        { kind: "code", text: r.commit.diff, language: "diff" },
        { kind: "context", text: [t("Dry run: nothing was committed.")] },
      ],
      fallbackText: `Dry run: ${r.subject}\n${r.commit.diff}`,
      visibility: "actor",
    };
  }
  const sha = r.commit.sha ?? "";
  return {
    title: [t(frozen ? "Froze automation in " : "Unfroze automation in "), b(r.env)],
    severity: frozen ? "warning" : "success",
    blocks: [
      {
        kind: "text",
        text: frozen
          ? [t(meaning), code(`unfreeze ${r.env}`), t(". Manual releases still work.")]
          : [t(meaning)],
      },
      { kind: "facts", facts: [...facts, { label: "commit", value: [commitSpan(ctx, sha)] }] },
    ],
    fallbackText: `${frozen ? "Froze" : "Unfroze"} automation in ${r.env}${frozen && reason?.trim() ? `: ${reason.trim()}` : ""} (${short(sha)})`,
    visibility: "channel",
  };
}

/** `freeze <env> [reason…]`: no automation changes the env until `unfreeze <env>`. */
export const freeze = defineCommand({
  name: "freeze",
  summary: "stop all automation in an environment (a commit records who, why and since when)",
  params: [
    { key: "env", label: "env", kind: "env" },
    { key: "reason", label: "reason", kind: "text", rest: true, optional: true },
  ],
  args: z.object({
    env: z.string(),
    reason: z.string().optional(),
    dryRun: z.boolean().default(false),
  }),
  sideEffects: "write",
  permission: (a) => ({ verb: "freeze", env: a.env }),
  examples: ["freeze prod release weekend, back on monday"],
  details:
    "Image automation commits nothing to a frozen environment; manual releases, promotions and " +
    "rollbacks still work. The freeze is a commit to .gitops-bot/freezes.yaml in the config repo, " +
    "so it is audited and survives restarts. `status` shows it.",
  async run(a, ctx) {
    const r = await ctx.ops.freeze({
      env: a.env,
      ...ctx.opts(a.dryRun),
      ...(a.reason ? { message: a.reason } : {}),
    });
    return freezeMessage(r, ctx, a.dryRun, a.reason);
  },
});
