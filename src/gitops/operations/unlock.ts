/** `unlock <app> <env>`: removes every lock key of either annotation prefix. Refused when not locked. */
import { UserError } from "../../core/errors.js";
import type { OpOptions } from "../operations.js";
import { resourceId } from "../trailers.js";
import { unlockText } from "./edits.js";
import { resolveInstance } from "./guards.js";
import type { Operation } from "./runner.js";

/** Arguments of `unlock`. */
export type UnlockArgs = { app: string; env: string } & OpOptions;

/** The unlock operation (see the file comment). */
export const unlockOp: Operation<UnlockArgs, null> = {
  action: "unlock",
  plan: (model, a) => ({ inst: resolveInstance(model, a.app, a.env), plan: null }),
  check(inst) {
    if (!inst.workload.policies.locked) {
      throw new UserError(`${inst.env}/${inst.app} is not locked`, { code: "not-locked" });
    }
  },
  apply: (text, now) => unlockText(text, now),
  describe: (inst) => ({ subject: "unlock", body: [`Unlocked: ${resourceId(inst.workload)}`] }),
};
