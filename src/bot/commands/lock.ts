import { z } from "zod";
import { defineCommand } from "../registry.js";
import { requireInstance, resultMessage } from "./format.js";

/** `lock <app> <env> [reason…]`: no manual or automated release until unlocked. */
export const lock = defineCommand({
  name: "lock",
  summary: "stop releases (manual and automated) of an app in an environment",
  params: [
    { key: "app", label: "app", kind: "app" },
    { key: "env", label: "env", kind: "env" },
    { key: "reason", label: "reason", kind: "text", rest: true, optional: true },
  ],
  args: z.object({
    app: z.string(),
    env: z.string(),
    reason: z.string().optional(),
    dryRun: z.boolean().default(false),
  }),
  sideEffects: "write",
  permission: (a) => ({ verb: "lock", env: a.env }),
  examples: ["lock podinfo prod database migration until 15:00"],
  async run(a, ctx) {
    requireInstance(await ctx.model(), a.app, a.env);
    const r = await ctx.ops.lock({
      app: a.app,
      env: a.env,
      ...ctx.opts(a.dryRun),
      ...(a.reason ? { message: a.reason } : {}),
    });
    return resultMessage(r, ctx, a.dryRun);
  },
});
