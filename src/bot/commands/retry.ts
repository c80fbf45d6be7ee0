import { z } from "zod";
import { UserError } from "../../core/errors.js";
import { code, t } from "../../core/message.js";
import { defineCommand } from "../registry.js";
import { requireInstance } from "./format.js";

/**
 * `retry <app> <env>`: the Helm release of that app failed (or was rolled back) and waits for a
 * change in git; this forgets those failures and reconciles it now with the same chart and values.
 * Authorized like a write in that env (a protected env needs approval).
 */
export const retry = defineCommand({
  name: "retry",
  summary: "run a failed or rolled-back Helm release again with the same chart and values",
  params: [
    { key: "app", label: "app", kind: "app" },
    { key: "env", label: "env", kind: "env" },
  ],
  args: z.object({ app: z.string(), env: z.string() }),
  sideEffects: "write",
  permission: (a) => ({ verb: "retry", env: a.env }),
  examples: ["retry podinfo dev"],
  async run(a, ctx) {
    const w = requireInstance(await ctx.model(), a.app, a.env).workload;
    if (w.kind !== "HelmRelease") {
      throw new UserError(
        `${a.app} in ${a.env} is a ${w.kind}, not a HelmRelease: there is no Helm release to retry`,
        {
          code: "not-helm",
          hint: "`retry` runs a HelmRelease's failed upgrade again; for other workloads use `sync`.",
        },
      );
    }
    if (!ctx.helm) {
      throw new UserError("no HelmRelease reconciler runs in this process, so there is nothing to retry", {
        code: "no-helm",
        hint: "Run the service (`gitops-bot serve`) with a cluster configured and `helm.enabled` on.",
      });
    }
    const what = `${w.namespace}/${w.name}`;
    if (ctx.preview) {
      return {
        title: [t(`Retry the Helm release of ${a.app} in ${a.env}`)],
        severity: "info",
        blocks: [{ kind: "context", text: [t("HelmRelease "), code(what), t(` (${w.file})`)] }],
        fallbackText: `Retry the Helm release of ${a.app} in ${a.env}`,
      };
    }
    const r = await ctx.helm.retry({ namespace: w.namespace, name: w.name }, { actor: ctx.actor.name });
    ctx.output({ accepted: r.accepted, message: r.message, ...(r.status ? { status: r.status } : {}) });
    const ok = r.accepted && r.status !== "failed" && r.status !== "stalled";
    const head = r.accepted
      ? `Retried the Helm release of ${a.app} in ${a.env}`
      : `Could not retry ${a.app} in ${a.env}`;
    return {
      title: [t(head)],
      severity: ok ? "success" : r.accepted ? "error" : "warning",
      blocks: [{ kind: "context", text: [t(r.message)] }],
      fallbackText: `${head}: ${r.message}`,
    };
  },
});
