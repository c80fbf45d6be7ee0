import { z } from "zod";
import { defineCommand } from "../registry.js";
import { requireInstance, resultMessage } from "./format.js";

/** `unlock <app> <env>`: removes a lock; confirms first when someone else holds it. */
export const unlock = defineCommand({
  name: "unlock",
  summary: "remove the lock of an app in an environment",
  params: [
    { key: "app", label: "app", kind: "app" },
    { key: "env", label: "env", kind: "env" },
  ],
  flags: ["yes"],
  args: z.object({
    app: z.string(),
    env: z.string(),
    dryRun: z.boolean().default(false),
    yes: z.boolean().default(false),
  }),
  sideEffects: "write",
  permission: (a) => ({ verb: "unlock", env: a.env }),
  examples: ["unlock podinfo prod"],
  async confirm(a, ctx) {
    const lock = requireInstance(await ctx.model(), a.app, a.env).workload.policies.locked;
    if (!lock?.user) return undefined;
    const id = ctx.actor.identity;
    const me = [ctx.actor.id, ctx.actor.name, id.email, id.name, `${id.name} <${id.email}>`];
    if (me.includes(lock.user)) return undefined;
    return `${a.app} in ${a.env} was locked by ${lock.user}${lock.message ? ` ("${lock.message}")` : ""}, not by you`;
  },
  async run(a, ctx) {
    requireInstance(await ctx.model(), a.app, a.env);
    const r = await ctx.ops.unlock({ app: a.app, env: a.env, ...ctx.opts(a.dryRun) });
    return resultMessage(r, ctx, a.dryRun);
  },
});
