import { z } from "zod";
import { code, t } from "../../core/message.js";
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
    const model = await ctx.model();
    requireInstance(model, a.app, a.env);
    const r = await ctx.ops.automate({
      app: a.app,
      env: a.env,
      ...(a.filter ? { filter: a.filter } : {}),
      ...ctx.opts(a.dryRun),
    });
    const reply = resultMessage(r, ctx, a.dryRun);
    // Automated, but nothing will move while the env is frozen: say so rather than let them wait.
    if (model.freezes?.some((f) => f.env === a.env)) {
      reply.blocks.push({
        kind: "context",
        text: [t(`${a.env} is frozen: automation starts there after `), code(`unfreeze ${a.env}`), t(".")],
      });
    }
    return reply;
  },
});
