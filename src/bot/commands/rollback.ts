import { z } from "zod";
import { defineCommand } from "../registry.js";
import { requireInstance, resultMessage, tagsText } from "./format.js";

/** `rollback <app> <env> [to <tag-or-commit>]`: goes back and pins (locks) the instance there. */
export const rollback = defineCommand({
  name: "rollback",
  summary: "go back to the previous (or a given) version and pin it with a lock",
  params: [
    { key: "app", label: "app", kind: "app" },
    { key: "env", label: "env", kind: "env" },
    { key: "to", label: "tag-or-commit", kind: "ref", optional: true, keyword: "to" },
  ],
  flags: ["yes"],
  args: z.object({
    app: z.string(),
    env: z.string(),
    to: z.string().optional(),
    dryRun: z.boolean().default(false),
    yes: z.boolean().default(false),
  }),
  sideEffects: "write",
  permission: (a) => ({ verb: "rollback", env: a.env }),
  examples: ["rollback podinfo prod", "rollback podinfo stg to stg-1a2b3c4"],
  details:
    "A rollback locks the instance in the same commit, so image automation does not roll it forward again.",
  async confirm(a, ctx) {
    const inst = requireInstance(await ctx.model(), a.app, a.env);
    return `This rolls ${a.app} in ${a.env} back from ${tagsText(inst)}${a.to ? ` to ${a.to}` : " to the previous version"} and locks it there`;
  },
  async run(a, ctx) {
    requireInstance(await ctx.model(), a.app, a.env);
    const r = await ctx.ops.rollback({
      app: a.app,
      env: a.env,
      ...(a.to ? { to: a.to } : {}),
      ...ctx.opts(a.dryRun),
    });
    return resultMessage(r, ctx, a.dryRun);
  },
});
