/** `deautomate <app> <env>`: turns image automation off (either prefix). Refused when not automated. */
import { UserError } from "../../core/errors.js";
import type { OpOptions } from "../operations.js";
import { POLICY_PREFIXES, policyKeys } from "../policies.js";
import { resourceId } from "../trailers.js";
import { removeAnnotation } from "../yaml-edit.js";
import { resolveInstance } from "./guards.js";
import type { Operation } from "./runner.js";

/** Arguments of `deautomate`. */
export type DeautomateArgs = { app: string; env: string } & OpOptions;

/** The deautomate operation (see the file comment). */
export const deautomateOp: Operation<DeautomateArgs, null> = {
  action: "deautomate",
  plan: (model, a) => ({ inst: resolveInstance(model, a.app, a.env), plan: null }),
  check(inst) {
    if (!inst.workload.policies.automated) {
      throw new UserError(`${inst.env}/${inst.app} is not automated`, { code: "no-change" });
    }
  },
  apply(text, now) {
    let out = text;
    for (const p of POLICY_PREFIXES)
      out = removeAnnotation(out, now.workload.docIndex, policyKeys(p).automated);
    return out;
  },
  describe: (inst) => ({ subject: "deautomate", body: [`Deautomated: ${resourceId(inst.workload)}`] }),
};
