import { z } from "zod";
import { code, type Message, t } from "../../core/message.js";
import type { HelmRevisionSummary } from "../../core/ports.js";
import { type CommandContext, defineCommand } from "../registry.js";
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
    const w = requireInstance(await ctx.model(), a.app, a.env).workload;
    const entries = await ctx.ops.history({ app: a.app, env: a.env, limit: 10 });
    const helm = await helmRevisions(ctx, w);
    ctx.output({ entries, ...(helm ? { helm } : {}) });
    if (entries.length === 0 && !helm?.length) {
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
    if (helm?.length) {
      blocks.push({ kind: "context", text: [t("Helm revisions of the release in the cluster:")] });
      blocks.push({
        kind: "table",
        columns: ["revision", "status", "when", "chart digest"],
        rows: helm
          .slice(0, 10)
          .map((h) => [[t(String(h.revision))], [t(h.status)], [t(h.time ?? "-")], [code(h.chart ?? "-")]]),
      });
    }
    return {
      title: [t(`History of ${a.app} in ${a.env}`)],
      severity: "info",
      blocks,
      fallbackText: entries
        .map(
          (e) =>
            `${e.time} ${e.action} ${e.images.map((i) => i.tag).join(",")} by ${e.by} ${e.sha.slice(0, 7)}`,
        )
        .concat(
          (helm ?? [])
            .slice(0, 10)
            .map((h) => `helm revision ${h.revision} ${h.status}${h.time ? ` ${h.time}` : ""}`),
        )
        .join("\n"),
    };
  },
});

/** The Helm revisions of a HelmRelease (through the Helm port), or undefined when there are none to show. */
async function helmRevisions(
  ctx: CommandContext,
  w: { kind: string; namespace: string; name: string },
): Promise<HelmRevisionSummary[] | undefined> {
  if (w.kind !== "HelmRelease" || !ctx.helm?.revisions) return undefined;
  try {
    return await ctx.helm.revisions({ namespace: w.namespace, name: w.name });
  } catch (err) {
    ctx.logger.warn({ err }, "could not read the Helm revisions");
    return undefined;
  }
}
