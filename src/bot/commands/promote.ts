import { z } from "zod";
import { ActionableUserError, defineCommand } from "../registry.js";
import { requireInstance, resultMessage } from "./format.js";

/** `promote <app> <from-env> <to-env>`: copies the image tag(s), and the chart version where it differs. */
export const promote = defineCommand({
  name: "promote",
  summary: "copy the image tags (and chart version) of an app from one environment to another",
  params: [
    { key: "app", label: "app", kind: "app" },
    { key: "from", label: "from-env", kind: "env" },
    { key: "to", label: "to-env", kind: "env" },
  ],
  flags: ["force"],
  args: z
    .object({
      app: z.string(),
      from: z.string(),
      to: z.string(),
      dryRun: z.boolean().default(false),
      force: z.boolean().default(false),
    })
    .refine((a) => a.from !== a.to, { message: "from-env and to-env must differ" }),
  sideEffects: "write",
  permission: (a) => ({ verb: "promote", env: a.to }),
  examples: ["promote podinfo dev stg", "promote podinfo stg prod --dry-run"],
  details:
    "If the target is automated and the tag does not match its filter, promote refuses; --force pins the tag (locks the target) instead.",
  async run(a, ctx) {
    const model = await ctx.model();
    requireInstance(model, a.app, a.from);
    requireInstance(model, a.app, a.to);
    const plan = await ctx.ops.plan({ app: a.app, from: a.from, to: a.to });
    if (plan.filterConflicts.length > 0 && !a.force) {
      const c = plan.filterConflicts[0] as (typeof plan.filterConflicts)[number];
      const forced = `promote ${a.app} ${a.from} ${a.to} --force`;
      throw new ActionableUserError(
        `${a.app} in ${a.to} is automated with the filter ${c.filter.kind}:${c.filter.expr}, and ${c.tag} (${c.container}) does not match it, so image automation would replace it again`,
        {
          code: "filter-mismatch",
          hint: `To pin ${c.tag} in ${a.to} anyway, add --force: that also locks ${a.app} in ${a.to} until someone unlocks it. Or change the filter with the policy command.`,
          actions: [{ label: `Pin ${c.tag} in ${a.to}`, command: forced, style: "danger" }],
        },
      );
    }
    const r = await ctx.ops.promote({
      app: a.app,
      from: a.from,
      to: a.to,
      force: a.force,
      ...ctx.opts(a.dryRun),
    });
    return resultMessage(r, ctx, a.dryRun);
  },
});
