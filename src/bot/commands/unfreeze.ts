import { z } from "zod";
import { defineCommand } from "../registry.js";
import { freezeMessage } from "./freeze.js";

/** `unfreeze <env>`: lifts a freeze, so automation may change the env again; confirms first when
 * someone else froze it. */
export const unfreeze = defineCommand({
  name: "unfreeze",
  summary: "let automation change an environment again",
  params: [{ key: "env", label: "env", kind: "env" }],
  flags: ["yes"],
  args: z.object({ env: z.string(), dryRun: z.boolean().default(false), yes: z.boolean().default(false) }),
  sideEffects: "write",
  permission: (a) => ({ verb: "unfreeze", env: a.env }),
  examples: ["unfreeze prod"],
  async confirm(a, ctx) {
    const f = (await ctx.model()).freezes?.find((x) => x.env === a.env);
    if (!f?.by) return undefined;
    const id = ctx.actor.identity;
    const me = [ctx.actor.id, ctx.actor.name, id.email, id.name, `${id.name} <${id.email}>`];
    if (me.includes(f.by)) return undefined;
    return `${a.env} was frozen by ${f.by}${f.reason ? ` ("${f.reason}")` : ""}, not by you`;
  },
  async run(a, ctx) {
    const r = await ctx.ops.unfreeze({ env: a.env, ...ctx.opts(a.dryRun) });
    return freezeMessage(r, ctx, a.dryRun);
  },
});
