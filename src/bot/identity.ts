/**
 * How an invocation is recorded: the git identity a chat user commits as, and the canonical text
 * of a command line (what an approval request stores and replays).
 */
import type { Actor } from "../gitops/operations.js";
import { type ParsedLine, quote } from "./parse.js";
import type { ChatUser } from "./platform.js";

/** The identity a chat user commits as. */
export function actorFor(user: ChatUser): Actor {
  const local = user.id.replace(/[^A-Za-z0-9._-]+/g, ".").replace(/^\.+|\.+$/g, "") || "user";
  return {
    id: user.id,
    name: user.name,
    identity: { name: user.name, email: user.email ?? `${local}@users.gitops-bot.invalid` },
  };
}

/** Canonical text of a parsed line: verb, quoted positionals, then flags (used to store and replay). */
export function canonicalText(p: ParsedLine, drop: string[] = []): string {
  const pos = p.tokens.filter((x) => !x.flag).map((x) => x.text);
  const flags = p.tokens.filter((x) => x.flag && !drop.includes(x.text)).map((x) => x.text);
  // A positional that starts with '-' must stay quoted, or it would come back as a flag.
  const quoted = pos.map((s) => (s.startsWith("-") ? `'${s.replace(/'/g, `'"'"'`)}'` : quote([s])));
  return [p.verb, ...quoted, ...flags].join(" ");
}
