/** `policy <app> <env> <container>=<filter>`: sets one container's tag filter. */
import type { TagFilter } from "../../core/release.js";
import { annotationsOf } from "../discovery.js";
import type { OpOptions } from "../operations.js";
import { filterKeyFor } from "../policies.js";
import { formatTagFilter, parseTagFilter } from "../tag-filter.js";
import { resourceId } from "../trailers.js";
import { setAnnotation } from "../yaml-edit.js";
import { pickImage, resolveInstance } from "./guards.js";
import type { Operation } from "./runner.js";

/** Arguments of `policy`. */
export type PolicyArgs = { app: string; env: string; container: string; filter: string } & OpOptions;

interface PolicyPlan {
  container: string;
  filter: TagFilter;
}

/** The policy operation (see the file comment). */
export const policyOp: Operation<PolicyArgs, PolicyPlan> = {
  action: "policy",
  plan(model, a) {
    const inst = resolveInstance(model, a.app, a.env);
    const img = pickImage(inst, a.container);
    return { inst, plan: { container: img.container, filter: parseTagFilter(a.filter) } };
  },
  check(inst, plan) {
    pickImage(inst, plan.container);
  },
  apply(text, now, plan) {
    const i = now.workload.docIndex;
    const key = filterKeyFor(plan.container, now.workload.policies.prefix, annotationsOf(text, i));
    return setAnnotation(text, i, key, formatTagFilter(plan.filter));
  },
  describe(inst, plan) {
    const text = `${plan.container}=${formatTagFilter(plan.filter)}`;
    return { subject: `policy ${text}`, body: [`Policy: ${text} on ${resourceId(inst.workload)}`] };
  },
};
