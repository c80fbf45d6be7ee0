/** `lock <app> <env> [reason]`: sets the lock annotations (who, why, since). Refused when already locked. */
import { UserError } from "../../core/errors.js";
import type { OpOptions } from "../operations.js";
import { resourceId } from "../trailers.js";
import { lockText } from "./edits.js";
import { resolveInstance } from "./guards.js";
import type { Operation } from "./runner.js";

/** Arguments of `lock`. */
export type LockArgs = { app: string; env: string } & OpOptions;

/** The lock operation (see the file comment). */
export const lockOp: Operation<LockArgs, null> = {
  action: "lock",
  plan: (model, a) => ({ inst: resolveInstance(model, a.app, a.env), plan: null }),
  check(inst) {
    const l = inst.workload.policies.locked;
    if (l) {
      throw new UserError(`${inst.env}/${inst.app} is already locked${l.user ? ` by ${l.user}` : ""}`, {
        code: "already-locked",
        hint: l.message ? `Reason: "${l.message}".` : undefined,
      });
    }
  },
  apply: (text, now, _p, a, ctx) => lockText(text, now, a.actor, a.message?.trim(), ctx.clock.now()),
  describe: (inst) => ({ subject: "lock", body: [`Locked: ${resourceId(inst.workload)}`], locked: true }),
};
