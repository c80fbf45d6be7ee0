import { z } from "zod";
import { code, type Message, t } from "../../core/message.js";
import { defineCommand } from "../registry.js";
import { commitSpan, requireInstance } from "./format.js";

/** `history <app> <env>`: who deployed what when, newest first, with commit links. */
export const history = defineCommand({
  name: "history",
  summary: "show who deployed what when for an app in an environment",
  params: [
    { key: "app", label: "app", kind: "app" },
    { key: "env", label: "env", kind: "env" },
  ],
  args: z.object({ app: z.string(), env: z.string() }),
  sideEffects: "none",
  permission: (a) => ({ verb: "history", env: a.env }),
  examples: ["history podinfo prod"],
  async run(a, ctx) {
    requireInstance(await ctx.model(), a.app, a.env);
    const entries = await ctx.ops.history({ app: a.app, env: a.env, limit: 10 });
    ctx.output({ entries });
    if (entries.length === 0) {
      return {
        title: [t(`No history for ${a.app} in ${a.env}`)],
        severity: "info",
        blocks: [],
        fallbackText: "no history",
      };
    }
    const rows = entries.map((e) => [
      [t(e.time)],
      [t(e.action)],
      [
        code(
          e.images
            .map((i) => (entries.some((x) => x.images.length > 1) ? `${i.container}=${i.tag}` : i.tag))
            .join(", ") || "-",
        ),
        ...(e.chartVersion ? [t(` chart ${e.chartVersion}`)] : []),
      ],
      [t(e.by)],
      [t(e.approvers.join(", ") || "-")],
      [commitSpan(ctx, e.sha)],
    ]);
    const blocks: Message["blocks"] = [
      { kind: "table", columns: ["when", "action", "version", "by", "approved by", "commit"], rows },
    ];
    return {
      title: [t(`History of ${a.app} in ${a.env}`)],
      severity: "info",
      blocks,
      fallbackText: entries
        .map(
          (e) =>
            `${e.time} ${e.action} ${e.images.map((i) => i.tag).join(",")} by ${e.by} ${e.sha.slice(0, 7)}`,
        )
        .join("\n"),
    };
  },
});
