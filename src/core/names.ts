import { UserError } from "./errors.js";

/**
 * Names of apps and envs come from the release model, but user text is checked before it is
 * looked up: DNS-1123-ish labels only, so no `/`, `..`, control, zero-width or homoglyph
 * characters ever reach a path or a git ref.
 */
const NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

export function isSafeName(s: string): boolean {
  return NAME.test(s) && !s.includes("..");
}

/** Throws a `UserError` naming `what` when `s` is not a safe name. */
export function assertSafeName(s: string, what: string): string {
  if (!isSafeName(s)) {
    throw new UserError(`"${printable(s)}" is not a valid ${what} name`, {
      code: "bad-name",
      hint: `${what} names use lower-case letters, digits, '.', '-' and '_' (at most 63 characters).`,
    });
  }
  return s;
}

/** Renders a string safe for an error message: control and invisible characters become \u escapes,
 * and it is cut to 80 characters. */
export function printable(s: string): string {
  const cut = s.length > 80 ? `${s.slice(0, 80)}…` : s;
  return cut.replace(
    /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
