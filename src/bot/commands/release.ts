import { z } from "zod";
import { defineCommand } from "../registry.js";
import { requireInstance, resultMessage } from "./format.js";

/** `release <app> <env> <tag>`: sets the image tag of an app in one environment. */
export const release = defineCommand({
  name: "release",
  summary: "deploy an image tag of an app to an environment",
  params: [
    { key: "app", label: "app", kind: "app" },
    { key: "env", label: "env", kind: "env" },
    { key: "tag", label: "tag", kind: "tag" },
  ],
  flags: ["force"],
  args: z.object({
    app: z.string(),
    env: z.string(),
    tag: z.string(),
    dryRun: z.boolean().default(false),
    force: z.boolean().default(false),
  }),
  sideEffects: "write",
  permission: (a) => ({ verb: "release", env: a.env }),
  examples: ["release podinfo dev dev-abc123"],
  async run(a, ctx) {
    requireInstance(await ctx.model(), a.app, a.env);
    const r = await ctx.ops.release({
      app: a.app,
      env: a.env,
      tag: a.tag,
      force: a.force,
      ...ctx.opts(a.dryRun),
    });
    return resultMessage(r, ctx, a.dryRun);
  },
});
