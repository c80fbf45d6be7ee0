import { z } from "zod";
import { UserError } from "../../core/errors.js";
import { defineCommand } from "../registry.js";
import { requireInstance, resultMessage } from "./format.js";

/** `policy <app> <env> <container>=<filter>`: sets the tag filter of one container. */
export const policy = defineCommand({
  name: "policy",
  summary: "set the tag filter (glob:, semver:, regex:) of a container",
  params: [
    { key: "app", label: "app", kind: "app" },
    { key: "env", label: "env", kind: "env" },
    {
      key: "spec",
      label: "container=filter",
      kind: "container-filter",
      display: "<container>=<glob:…|semver:…|regex:…>",
    },
  ],
  args: z.object({ app: z.string(), env: z.string(), spec: z.string(), dryRun: z.boolean().default(false) }),
  sideEffects: "write",
  permission: (a) => ({ verb: "policy", env: a.env }),
  examples: ["policy podinfo dev chart-image=glob:dev-*", "policy podinfo prod chart-image=semver:~0.5"],
  async run(a, ctx) {
    const inst = requireInstance(await ctx.model(), a.app, a.env);
    const eq = a.spec.indexOf("=");
    const container = a.spec.slice(0, eq);
    const filter = a.spec.slice(eq + 1);
    const containers = inst.workload.images.map((i) => i.container);
    if (containers.length > 0 && !containers.includes(container)) {
      throw new UserError(`${a.app} in ${a.env} has no container "${container}"`, {
        code: "unknown-container",
        hint: `Containers: ${containers.join(", ")}.`,
      });
    }
    const r = await ctx.ops.policy({ app: a.app, env: a.env, container, filter, ...ctx.opts(a.dryRun) });
    return resultMessage(r, ctx, a.dryRun);
  },
});
