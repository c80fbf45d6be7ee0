/**
 * `unfreeze <env>`: removes the freeze of `env` from `.gitops-bot/freezes.yaml`, so automation
 * resumes there. Refused when the env is not frozen. An env that is frozen but no longer in the
 * model (renamed, removed) may still be unfrozen, so a stale entry can be cleaned up from chat.
 */
import { UserError } from "../../core/errors.js";
import { assertSafeName } from "../../core/names.js";
import { describeFreeze, freezeOf, removeFreeze } from "../freezes.js";
import type { OpOptions } from "../operations.js";
import { knownEnv } from "./freeze.js";
import type { EnvOperation } from "./runner.js";

/** Arguments of `unfreeze`. */
export type UnfreezeArgs = { env: string } & OpOptions;

/** The unfreeze operation (see the file comment). */
export const unfreezeOp: EnvOperation<UnfreezeArgs> = {
  action: "unfreeze",
  resolve(model, freezes, a) {
    assertSafeName(a.env, "environment");
    return freezeOf(freezes, a.env) ? a.env : knownEnv(model, a.env);
  },
  check(freezes, env) {
    if (!freezeOf(freezes, env)) {
      const others = freezes.freezes.map((f) => f.env);
      throw new UserError(`${env} is not frozen`, {
        code: "not-frozen",
        hint: others.length ? `Frozen: ${others.join(", ")}.` : "No environment is frozen.",
      });
    }
  },
  apply: (text, env) => removeFreeze(text, env),
  describe(freezes, env, a) {
    const f = freezeOf(freezes, env);
    return {
      subject: "unfreeze automation",
      body: [
        `Unfroze automation in ${env}${f ? ` (${describeFreeze(f)})` : ""}.`,
        ...(a.message?.trim() ? ["", a.message.replace(/\s+/g, " ").trim()] : []),
      ],
    };
  },
};
