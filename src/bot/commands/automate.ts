import { z } from "zod";
import { defineCommand } from "../registry.js";
import { requireInstance, resultMessage } from "./format.js";

/** `automate <app> <env> [filter]`: turns image automation on, optionally with a tag filter. */
export const automate = defineCommand({
  name: "automate",
  summary: "turn on image automation for an app in an environment (optionally with a tag filter)",
  params: [
    { key: "app", label: "app", kind: "app" },
    { key: "env", label: "env", kind: "env" },
    { key: "filter", label: "filter", kind: "filter", optional: true },
  ],
  args: z.object({
    app: z.string(),
    env: z.string(),
    filter: z.string().optional(),
    dryRun: z.boolean().default(false),
  }),
  sideEffects: "write",
  permission: (a) => ({ verb: "automate", env: a.env }),
  examples: ["automate podinfo dev glob:dev-*", "automate podinfo prod semver:~0.4"],
  async run(a, ctx) {
    requireInstance(await ctx.model(), a.app, a.env);
    const r = await ctx.ops.automate({
      app: a.app,
      env: a.env,
      ...(a.filter ? { filter: a.filter } : {}),
      ...ctx.opts(a.dryRun),
    });
    return resultMessage(r, ctx, a.dryRun);
  },
});
