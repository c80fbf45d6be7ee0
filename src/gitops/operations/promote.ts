/**
 * `promote <app> <from> <to>`: copies the source env's tags (and chart version or git ref) to the
 * target. Refused when the target is locked, when automation would undo a tag (unless forced: then
 * pinned by a lock in the same commit), or when the target already runs what the source runs.
 * `planPromotion` is also the `diff` command's preview.
 */
import { UserError } from "../../core/errors.js";
import type { ReleaseModel } from "../../core/release.js";
import { chartVersionOf } from "../history.js";
import { sameRepository } from "../image-ref.js";
import type { ImageChange, OpOptions, PromotionPlan } from "../operations.js";
import { resourceId } from "../trailers.js";
import { setChartRef, setChartVersion } from "../yaml-edit.js";
import { imageTrailers, lockText, releaseBody, setTags } from "./edits.js";
import { assertUnlocked, conflictsOf, mismatchError, resolveInstance } from "./guards.js";
import type { Operation } from "./runner.js";

/** Arguments of `promote`. */
export type PromoteArgs = { app: string; from: string; to: string; force?: boolean } & OpOptions;

/** What a promotion from `a.from` to `a.to` would change, from the model. Throws a `UserError` for
 * unknown names or promoting an env to itself. */
export function planPromotion(
  model: ReleaseModel,
  a: { app: string; from: string; to: string },
): PromotionPlan {
  const from = resolveInstance(model, a.app, a.from);
  const to = resolveInstance(model, a.app, a.to);
  if (a.from === a.to) {
    throw new UserError("cannot promote an environment to itself", { code: "same-env" });
  }
  const imageChanges: ImageChange[] = [];
  for (const target of to.workload.images) {
    const source =
      from.workload.images.find((i) => i.container === target.container) ??
      from.workload.images.find((i) => sameRepository(i.repository, target.repository));
    if (source && source.tag !== target.tag) {
      imageChanges.push({
        container: target.container,
        repository: target.repository,
        from: target.tag,
        to: source.tag,
      });
    }
  }
  const plan: PromotionPlan = {
    app: a.app,
    from,
    to,
    imageChanges,
    filterConflicts: conflictsOf(to, imageChanges),
    targetLocked: to.workload.policies.locked !== null,
  };
  const fc = from.workload.chart;
  const tc = to.workload.chart;
  if (fc && tc && fc.type === tc.type && chartVersionOf(from.workload) !== chartVersionOf(to.workload)) {
    const fv = chartVersionOf(from.workload);
    if (fv !== undefined) {
      const cc: { from?: string; to?: string } = { to: fv };
      const tv = chartVersionOf(to.workload);
      if (tv !== undefined) cc.from = tv;
      plan.chartChange = cc;
    }
  }
  return plan;
}

/** The promote operation (see the file comment). */
export const promoteOp: Operation<PromoteArgs, PromotionPlan> = {
  action: "promote",
  plan(model, a) {
    const plan = planPromotion(model, a);
    return { inst: plan.to, plan };
  },
  check(inst, plan, a) {
    assertUnlocked(inst);
    const conflicts = conflictsOf(inst, plan.imageChanges);
    if (conflicts.length > 0 && !a.force) throw mismatchError(inst, conflicts);
    if (plan.imageChanges.length === 0 && !plan.chartChange) {
      throw new UserError(`${a.to}/${a.app} already runs what ${a.from} runs`, { code: "no-change" });
    }
  },
  apply(text, now, plan, a, ctx) {
    let out = setTags(text, now, plan.imageChanges);
    const chart = plan.chartChange?.to;
    if (chart !== undefined) {
      out =
        now.workload.chart?.type === "git"
          ? setChartRef(out, now.workload.docIndex, chart)
          : setChartVersion(out, now.workload.docIndex, chart);
    }
    if (plan.filterConflicts.length === 0) return out;
    const msg = a.message?.trim() || `pinned by a forced promotion from ${a.from} by ${a.actor.name}`;
    return lockText(out, now, a.actor, msg, ctx.clock.now());
  },
  describe(inst, plan, a, t) {
    const changes = plan.imageChanges;
    const chart = plan.chartChange;
    const pin = plan.filterConflicts.length > 0;
    const main = changes[0];
    t.sourceEnv = a.from;
    if (main) {
      t.from = main.from;
      t.to = main.to;
    }
    t.images = imageTrailers(changes);
    if (chart?.to) t.chart = chart.to;
    const body = releaseBody(inst, changes);
    if (chart?.to)
      body.push(`Chart ${chart.from ?? "(none)"} -> ${chart.to} for ${resourceId(inst.workload)}`);
    if (pin) body.push(`Locked: ${resourceId(inst.workload)}`);
    const what = main ? main.to : `chart ${chart?.to ?? ""}`;
    return {
      subject: `promote ${what} from ${a.from}${pin ? " (forced, locked)" : ""}`,
      body,
      imageChanges: changes,
      ...(chart ? { chartChange: chart } : {}),
      locked: pin,
    };
  },
};
