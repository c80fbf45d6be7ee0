/**
 * `freeze <env> [reason…]`: records in `.gitops-bot/freezes.yaml` that no automation may change
 * `env` (who, why, since). Refused when the env is unknown or already frozen; the freeze of
 * another env, even a broken entry of it, is kept as it is.
 */
import { UserError } from "../../core/errors.js";
import { assertSafeName } from "../../core/names.js";
import type { ReleaseModel } from "../../core/release.js";
import { addFreeze, describeFreeze, freezeOf } from "../freezes.js";
import type { OpOptions } from "../operations.js";
import { unknownEnv } from "./guards.js";
import type { EnvOperation } from "./runner.js";

/** Arguments of `freeze`; `message` is the reason. */
export type FreezeArgs = { env: string } & OpOptions;

/** The env named by a freeze command: a safe name the model knows (with "did you mean"). */
export function knownEnv(model: ReleaseModel, env: string): string {
  assertSafeName(env, "environment");
  if (!model.envs.includes(env)) throw unknownEnv(env, model.envs);
  return env;
}

/** The freeze operation (see the file comment). */
export const freezeOp: EnvOperation<FreezeArgs> = {
  action: "freeze",
  resolve: (model, _f, a) => knownEnv(model, a.env),
  check(freezes, env) {
    const f = freezeOf(freezes, env);
    if (f) {
      throw new UserError(`${env} is already ${describeFreeze(f)}`, {
        code: "already-frozen",
        hint: `Nothing was changed. To change the reason, unfreeze ${env} and freeze it again.`,
      });
    }
  },
  apply: (text, env, a, ctx) =>
    addFreeze(text, {
      env,
      ...(a.message?.trim() ? { reason: a.message } : {}),
      by: `${a.actor.identity.name} <${a.actor.identity.email}>`,
      at: ctx.clock.now().toISOString(),
    }),
  describe: (_f, env, a) => ({
    subject: "freeze automation",
    body: [
      `Froze automation in ${env}: no automated change until unfreeze.`,
      ...(a.message?.trim() ? ["", a.message.replace(/\s+/g, " ").trim()] : []),
    ],
  }),
};
