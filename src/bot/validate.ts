/**
 * Validation of a parsed command line against its command (the "validate" step of the engine's
 * pipeline): tokens bound to parameters, app and env names checked against the release model
 * with a "did you mean", then the command's zod schema. Every failure is a `UserError` with the
 * command's usage as the hint.
 */
import { UserError } from "../core/errors.js";
import type { ReleaseModel } from "../core/release.js";
import { bindArgs, didYouMean, type ParsedLine } from "./parse.js";
import type { Command } from "./registry.js";

/** Binds tokens, checks app and env names against the model, and applies the zod schema. */
export async function validateArgs(
  cmd: Command<unknown>,
  parsed: ParsedLine,
  model: () => Promise<ReleaseModel>,
): Promise<unknown> {
  const raw = bindArgs(cmd, parsed.tokens);
  const named = cmd.params.filter((p) => (p.kind === "app" || p.kind === "env") && raw[p.key] !== undefined);
  if (named.length > 0) {
    const m = await model();
    for (const p of named) {
      const v = raw[p.key] as string;
      const known = p.kind === "app" ? m.apps : m.envs;
      if (!known.includes(v)) {
        const close = didYouMean(v, known);
        throw new UserError(
          `unknown ${p.kind} "${v}"${close.length ? `; did you mean ${close.join(" or ")}?` : ""}`,
          {
            code: p.kind === "app" ? "unknown-app" : "unknown-env",
            hint: `${p.kind === "app" ? "Apps" : "Environments"}: ${known.join(", ") || "none found"}. Usage: ${cmd.usage}`,
          },
        );
      }
    }
  }
  const r = cmd.args.safeParse(raw);
  if (!r.success) {
    const what = r.error.issues.map((i) => `${i.path.join(".") || "arguments"}: ${i.message}`).join("; ");
    throw new UserError(`invalid arguments for ${cmd.name}: ${what}`, {
      code: "usage",
      hint: `Usage: ${cmd.usage}`,
    });
  }
  return r.data;
}
