import { z } from "zod";
import { defineCommand } from "../registry.js";
import { requireInstance, resultMessage } from "./format.js";

/** `deautomate <app> <env>`: turns image automation off. */
export const deautomate = defineCommand({
  name: "deautomate",
  summary: "turn off image automation for an app in an environment",
  params: [
    { key: "app", label: "app", kind: "app" },
    { key: "env", label: "env", kind: "env" },
  ],
  args: z.object({ app: z.string(), env: z.string(), dryRun: z.boolean().default(false) }),
  sideEffects: "write",
  permission: (a) => ({ verb: "deautomate", env: a.env }),
  examples: ["deautomate podinfo stg"],
  async run(a, ctx) {
    requireInstance(await ctx.model(), a.app, a.env);
    const r = await ctx.ops.deautomate({ app: a.app, env: a.env, ...ctx.opts(a.dryRun) });
    return resultMessage(r, ctx, a.dryRun);
  },
});
