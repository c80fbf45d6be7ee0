import { z } from "zod";
import { isUserError } from "../../core/errors.js";
import { b, code, type Message, type RichText, t } from "../../core/message.js";
import { defineCommand } from "../registry.js";
import { lockText, requireInstance } from "./format.js";

/** `diff <app> <from-env> <to-env>`: what `promote` would change, without changing anything. */
export const diff = defineCommand({
  name: "diff",
  summary: "show what promoting an app from one environment to another would change",
  params: [
    { key: "app", label: "app", kind: "app" },
    { key: "from", label: "from-env", kind: "env" },
    { key: "to", label: "to-env", kind: "env" },
  ],
  args: z
    .object({ app: z.string(), from: z.string(), to: z.string() })
    .refine((a) => a.from !== a.to, { message: "from-env and to-env must differ" }),
  sideEffects: "none",
  permission: (a) => ({ verb: "diff", env: a.to }),
  examples: ["diff podinfo stg prod"],
  async run(a, ctx) {
    const model = await ctx.model();
    requireInstance(model, a.app, a.from);
    const target = requireInstance(model, a.app, a.to);
    const plan = await ctx.ops.plan({ app: a.app, from: a.from, to: a.to });
    ctx.output({ plan });
    const facts: { label: string; value: RichText }[] = plan.imageChanges.map((c) => ({
      label: c.container,
      value: [code(c.from || "-"), t(" → "), code(c.to)],
    }));
    if (plan.chartChange && plan.chartChange.from !== plan.chartChange.to) {
      facts.push({
        label: "chart",
        value: [code(plan.chartChange.from ?? "-"), t(" → "), code(plan.chartChange.to ?? "-")],
      });
    }
    const blocks: Message["blocks"] = [];
    if (facts.length === 0) {
      blocks.push({ kind: "text", text: [t(`${a.app} in ${a.to} already runs what ${a.from} runs.`)] });
    } else blocks.push({ kind: "facts", facts });
    for (const c of plan.filterConflicts) {
      blocks.push({
        kind: "text",
        text: [
          b("Filter: "),
          t(
            `${c.tag} (${c.container}) does not match ${a.to}'s filter ${c.filter.kind}:${c.filter.expr}; promote needs --force, which pins it.`,
          ),
        ],
      });
    }
    if (plan.targetLocked) {
      blocks.push({
        kind: "text",
        text: [b("Locked: "), t(`${lockText(target) ?? "locked"}; unlock it before promoting.`)],
      });
    }
    if (facts.length > 0 && plan.filterConflicts.length === 0 && !plan.targetLocked) {
      try {
        const r = await ctx.ops.promote({ app: a.app, from: a.from, to: a.to, ...ctx.opts(true) });
        if (r.commit.diff) blocks.push({ kind: "code", text: r.commit.diff, language: "diff" });
      } catch (e) {
        // The plan above already says what matters; a refusal here only means no file diff.
        if (!isUserError(e)) throw e;
      }
    }
    return {
      title: [t(`promote ${a.app} ${a.from} → ${a.to}`)],
      severity: plan.filterConflicts.length || plan.targetLocked ? "warning" : "info",
      blocks,
      fallbackText: facts.length
        ? `promote ${a.app} ${a.from} -> ${a.to}: ${plan.imageChanges.map((c) => `${c.container} ${c.from} -> ${c.to}`).join(", ")}`
        : "no changes",
    };
  },
});
