/**
 * `automate <app> <env> [filter]`: turns image automation on (and sets the filter of every container
 * when one is given). Refused when already automated and no filter is given.
 */
import { UserError } from "../../core/errors.js";
import type { TagFilter } from "../../core/release.js";
import { annotationsOf } from "../discovery.js";
import type { OpOptions } from "../operations.js";
import { filterKeyFor, POLICY_PREFIXES, policyKeys } from "../policies.js";
import { formatTagFilter, parseTagFilter } from "../tag-filter.js";
import { resourceId } from "../trailers.js";
import { removeAnnotation, setAnnotation } from "../yaml-edit.js";
import { resolveInstance } from "./guards.js";
import type { Operation } from "./runner.js";

/** Arguments of `automate`. */
export type AutomateArgs = { app: string; env: string; filter?: string } & OpOptions;

/** The automate operation (see the file comment). */
export const automateOp: Operation<AutomateArgs, TagFilter | undefined> = {
  action: "automate",
  plan(model, a) {
    const inst = resolveInstance(model, a.app, a.env);
    return { inst, plan: a.filter !== undefined ? parseTagFilter(a.filter) : undefined };
  },
  check(inst, filter) {
    if (inst.workload.policies.automated && !filter) {
      throw new UserError(`${inst.env}/${inst.app} is already automated`, { code: "no-change" });
    }
  },
  apply(text, now, filter) {
    const i = now.workload.docIndex;
    const k = policyKeys(now.workload.policies.prefix);
    // Drop a key under the other prefix (or a YAML boolean) so only one `automated` remains.
    let out = text;
    for (const p of POLICY_PREFIXES)
      if (p !== now.workload.policies.prefix) out = removeAnnotation(out, i, policyKeys(p).automated);
    out = setAnnotation(out, i, k.automated, "true");
    if (filter) {
      for (const img of now.workload.images) {
        const key = filterKeyFor(img.container, now.workload.policies.prefix, annotationsOf(out, i));
        out = setAnnotation(out, i, key, formatTagFilter(filter));
      }
    }
    return out;
  },
  describe(inst, filter) {
    const f = filter ? ` (${formatTagFilter(filter)})` : "";
    return { subject: `automate${f}`, body: [`Automated: ${resourceId(inst.workload)}${f}`] };
  },
};
