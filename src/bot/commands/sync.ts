import { z } from "zod";
import { UserError } from "../../core/errors.js";
import { t } from "../../core/message.js";
import { defineCommand } from "../registry.js";

/** `sync [env]`: asks the git -> cluster sync reconciler to run now. */
export const sync = defineCommand({
  name: "sync",
  summary: "ask the sync reconciler to apply the config repo to the cluster now",
  params: [{ key: "env", label: "env", kind: "env", optional: true }],
  args: z.object({ env: z.string().optional() }),
  sideEffects: "none",
  permission: (a) => ({ verb: "sync", ...(a.env ? { env: a.env } : {}) }),
  examples: ["sync", "sync prod"],
  async run(a, ctx) {
    if (!ctx.sync) {
      throw new UserError("no sync reconciler runs in this process, so there is nothing to trigger", {
        code: "no-sync",
        hint: "Run the service (`gitops-bot serve`) with a cluster configured; it syncs on its own schedule and on `sync`.",
      });
    }
    const r = await ctx.sync.trigger(a.env ? { env: a.env } : {});
    // What it printed before the trigger contract moved to core: the reply, not `accepted`.
    ctx.output({ ...(r.revision ? { revision: r.revision } : {}), message: r.message });
    const what = a.env ? `environment ${a.env}` : "all environments";
    return {
      title: [t(`Sync of ${what} started`)],
      severity: "info",
      blocks:
        r.message || r.revision
          ? [
              {
                kind: "context",
                text: [
                  t(
                    [r.revision ? `revision ${r.revision.slice(0, 7)}` : "", r.message ?? ""]
                      .filter(Boolean)
                      .join(": "),
                  ),
                ],
              },
            ]
          : [],
      fallbackText: `Sync of ${what} started`,
    };
  },
});
