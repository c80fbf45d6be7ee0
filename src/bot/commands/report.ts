import { z } from "zod";
import { UserError } from "../../core/errors.js";
import { defineCommand } from "../registry.js";

/**
 * `report [name]`: builds a sync report now and replies to the asker only (read-only). The same
 * content the schedule posts: the same builder, sections and period ("since the last slot").
 */
export const report = defineCommand({
  name: "report",
  summary: "show a sync report now: release matrix, sync, locks, approvals and activity",
  params: [{ key: "name", label: "name", kind: "id", optional: true }],
  args: z.object({ name: z.string().optional() }),
  sideEffects: "none",
  permission: () => ({ verb: "report" }),
  examples: ["report", "report weekly"],
  details:
    "Without a name: the only configured report (notifications.reports), else every section for every env over the last 7 days (`all`).",
  async run(a, ctx) {
    if (!ctx.reports) {
      throw new UserError("reports are not available in this process", {
        code: "no-reports",
        hint: "Run `report` in chat against `gitops-bot serve`, or `gitops-bot report <name> --config FILE` in a shell.",
      });
    }
    const built = await ctx.reports.build(a.name);
    ctx.output(built.data);
    return { ...built.message, visibility: "actor" };
  },
});
