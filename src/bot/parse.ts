/**
 * Command-line parsing for every front end (Slack, Teams, shell, `gitops-bot cmd`): one grammar.
 *
 * Stage 1, `parseLine`: checks the raw text (length cap, control, invisible and bidi characters,
 * Slack link markup, homoglyphs mixed into Latin words), tokenizes it with shell-like quoting and
 * lower-cases the verb. Stage 2, `bindArgs`: maps the tokens after the verb onto a command's
 * declared parameters and flags, rejecting unknown flags and malformed values. Nothing here ever
 * reaches a shell: names are checked against the release model by the engine afterwards.
 *
 * Every rejection is a `UserError` with a message that says which character, where, and why.
 */
import { checkText, describeChar } from "../core/command-text.js";
import { UserError } from "../core/errors.js";
import { isSafeName, printable } from "../core/names.js";
import { isValidTag } from "../gitops/image-ref.js";
import { formatTagFilter, parseTagFilter } from "../gitops/tag-filter.js";

/** Re-exported while callers move to `core/command-text.ts`. */
export { checkText, describeChar, MAX_INPUT_LENGTH } from "../core/command-text.js";
/** Re-exported while callers move to `core/suggest.ts`. */
export { didYouMean, editDistance } from "../core/suggest.js";

/** Longest single token. */
export const MAX_TOKEN_LENGTH = 200;

/** One token of the command line. `flag` is true for `--name` tokens before a `--` terminator. */
export interface Token {
  text: string;
  flag: boolean;
}

/** The result of `parseLine`: the verb (lower-cased) and the remaining tokens. */
export interface ParsedLine {
  verb: string;
  tokens: Token[];
}

const QUOTES: Record<string, string> = {
  '"': '"',
  "'": "'",
  "\u201c": "\u201d",
  "\u2018": "\u2019",
  "\u201e": "\u201c",
};

/**
 * Splits text into tokens like a POSIX shell, minus everything dangerous: `'…'` is literal, `"…"`
 * honours `\"` and `\\`, typographic quotes (which chat clients substitute) count as quotes, a
 * backslash outside quotes escapes only whitespace, quotes and backslashes (so `regex:^v\d+$`
 * survives unquoted). A token starting with `-` is a flag unless it comes after `--`.
 * Throws a `UserError` for an unterminated quote or a token over `MAX_TOKEN_LENGTH`.
 */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let cur = "";
  let inToken = false;
  let quotedStart = false;
  let afterTerminator = false;
  const chars = [...text];
  const push = () => {
    if (!inToken) return;
    if (cur.length > MAX_TOKEN_LENGTH) {
      throw new UserError(
        `an argument is too long (${cur.length} characters; the limit is ${MAX_TOKEN_LENGTH})`,
        {
          code: "too-long",
        },
      );
    }
    if (!afterTerminator && !quotedStart && cur === "--") afterTerminator = true;
    else
      out.push({
        text: cur,
        flag: !afterTerminator && !quotedStart && cur.startsWith("-") && cur.length > 1,
      });
    cur = "";
    inToken = false;
    quotedStart = false;
  };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === " " || c === "\t") {
      push();
      continue;
    }
    const close = QUOTES[c];
    if (close !== undefined) {
      if (!inToken) quotedStart = true;
      inToken = true;
      let j = i + 1;
      let closed = false;
      for (; j < chars.length; j++) {
        const d = chars[j] as string;
        if (d === close || (close !== "'" && close !== '"' && (d === '"' || d === c))) {
          closed = true;
          break;
        }
        if (c === '"' && d === "\\" && (chars[j + 1] === '"' || chars[j + 1] === "\\")) {
          cur += chars[j + 1];
          j++;
          continue;
        }
        cur += d;
      }
      if (!closed) {
        throw new UserError(`the quote ${c} opened at position ${i + 1} is never closed`, {
          code: "bad-quote",
          hint: "Close the quote, or leave quotes out: only text with spaces needs them.",
        });
      }
      i = j;
      continue;
    }
    if (c === "\\") {
      const n = chars[i + 1];
      if (n !== undefined && /[\s"'\\]/u.test(n)) {
        cur += n;
        i++;
        inToken = true;
        continue;
      }
    }
    cur += c;
    inToken = true;
  }
  push();
  return out;
}

/** Quotes tokens so that `tokenize(quote(ts))` gives `ts` back (used to store and replay commands). */
export function quote(tokens: string[]): string {
  return (
    tokens
      // `--` bare ends the options; as a value it must be quoted to come back as itself.
      .map((s) =>
        s !== "" && s !== "--" && /^[A-Za-z0-9_./:=@+,^$*~%-]+$/u.test(s)
          ? s
          : `'${s.replace(/'/g, `'"'"'`)}'`,
      )
      .join(" ")
  );
}

/** Removes a leading `/gitops`, `gitops` or `@gitops-bot` the way users type it in the shell. */
export function stripPrefix(text: string): string {
  return text.replace(/^\s*(?:\/gitops(?:-bot)?|@gitops-bot|gitops-bot)(?=\s|$)/iu, "").trim();
}

/** Checks and tokenizes one command line. An empty line gives verb `help`. */
export function parseLine(text: string): ParsedLine {
  checkText(text);
  const tokens = tokenize(text.trim());
  const first = tokens.shift();
  if (!first) return { verb: "help", tokens: [] };
  if (first.flag) {
    throw new UserError(`a command starts with a verb, not with the flag ${printable(first.text)}`, {
      code: "bad-verb",
      hint: "For example `status`, `promote podinfo dev stg` or `help`.",
    });
  }
  return { verb: first.text.toLowerCase(), tokens };
}

// --- Binding tokens to a command's parameters -------------------------------------------------

/** What a positional parameter holds; decides how it is checked. */
export type ParamKind =
  | "app"
  | "env"
  | "tag"
  | "ref"
  | "container-filter"
  | "filter"
  | "id"
  | "command"
  | "text";

/** A positional parameter of a command. */
export interface Param {
  /** Key in the args object. */
  key: string;
  /** Name in the usage line, e.g. `from-env`. */
  label: string;
  kind: ParamKind;
  optional?: boolean;
  /** Takes all remaining tokens, joined by one space (free text such as a lock reason). */
  rest?: boolean;
  /** A literal word that introduces the value: `rollback podinfo prod to v1` (optional to type). */
  keyword?: string;
  /** How the parameter reads in the usage line, when `<label>` is not right. */
  display?: string;
}

/** Flags any command may declare; all are boolean. */
export const FLAGS = {
  "dry-run": { key: "dryRun", summary: "show the change (the diff) and commit nothing" },
  force: {
    key: "force",
    summary: "pin the tag even when it does not match the target's filter (locks the target)",
  },
  yes: { key: "yes", summary: "skip the confirmation question" },
} as const;

export type FlagName = keyof typeof FLAGS;

const FLAG_ALIASES: Record<string, FlagName> = {
  "-n": "dry-run",
  "--dryrun": "dry-run",
  "-f": "force",
  "-y": "yes",
};

/** Names the engine resolves against (from the release model). */
export interface KnownNames {
  apps: string[];
  envs: string[];
}

/** Usage line of a command from its parameters and flags: `promote <app> <from-env> <to-env> [--dry-run]`. */
export function usageLine(name: string, params: Param[], flags: FlagName[]): string {
  const parts = [name];
  for (const p of params) {
    const inner =
      p.display ?? (p.keyword ? `${p.keyword} <${p.label}>` : p.rest ? `${p.label}…` : `<${p.label}>`);
    parts.push(p.optional ? `[${inner}]` : p.rest ? `<${p.label}…>` : inner);
  }
  for (const f of flags) parts.push(`[--${f}]`);
  return parts.join(" ");
}

function nonAsciiError(value: string, label: string): UserError | undefined {
  for (const c of value) {
    if (c.charCodeAt(0) > 0x7e) {
      return new UserError(
        `the ${label} "${printable(value)}" contains the non-ASCII character ${describeChar(c)}`,
        {
          code: "homoglyph",
          hint: `Retype the ${label} with plain letters, digits, '.', '-' and '_'.`,
        },
      );
    }
  }
  return undefined;
}

/** Checks a tag filter such as `glob:dev-*`, `semver:~0.4`, `regex:^v\d+$` with the one tag-filter
 * grammar (strict: unknown kinds and impossible globs are refused); returns it normalised
 * (`regexp:` becomes `regex:`, no prefix becomes `glob:`). */
export function checkFilter(value: string): string {
  const bad = nonAsciiError(value, "filter");
  if (bad) throw bad;
  return formatTagFilter(parseTagFilter(value, { strict: true }));
}

/** Checks one positional value by kind (names, tags, filters); returns the normalised value. */
export function checkValue(p: Param, value: string): string {
  const label = p.label;
  switch (p.kind) {
    case "app":
    case "env":
    case "id": {
      const bad = nonAsciiError(value, label);
      if (bad) throw bad;
      const v = value.toLowerCase();
      if (!isSafeName(v)) {
        throw new UserError(`"${printable(value)}" is not a valid ${label} name`, {
          code: "bad-name",
          hint: `${label} names use lower-case letters, digits, '.', '-' and '_'.`,
        });
      }
      return v;
    }
    case "tag":
    case "ref": {
      const bad = nonAsciiError(value, label);
      if (bad) throw bad;
      if (!isValidTag(value)) {
        throw new UserError(`"${printable(value)}" is not a valid ${label}`, {
          code: "bad-tag",
          hint: "Image tags and commits use letters, digits, '.', '-' and '_' (at most 128 characters).",
        });
      }
      return value;
    }
    case "container-filter": {
      const eq = value.indexOf("=");
      const container = eq > 0 ? value.slice(0, eq) : "";
      const bad = nonAsciiError(container, "container");
      if (bad) throw bad;
      if (eq <= 0 || !isSafeName(container)) {
        throw new UserError(`"${printable(value)}" is not <container>=<filter>`, {
          code: "bad-policy",
          hint: "For example chart-image=glob:dev-* or podinfo=semver:~0.4",
        });
      }
      return `${container}=${checkFilter(value.slice(eq + 1))}`;
    }
    case "filter":
      return checkFilter(value);
    case "command": {
      const bad = nonAsciiError(value, label);
      if (bad) throw bad;
      return value.toLowerCase();
    }
    case "text":
      return value;
  }
}

/** A command's shape as far as binding needs it. */
export interface Bindable {
  name: string;
  params: Param[];
  flags: FlagName[];
  usage: string;
}

/**
 * Maps tokens onto `cmd`'s parameters and flags. Returns the raw args object (values checked by
 * kind, flags as booleans under their keys) for the command's zod schema. Throws a `UserError`
 * with the usage line for unknown flags, missing or extra arguments.
 */
export function bindArgs(cmd: Bindable, tokens: Token[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (const tok of tokens) {
    if (!tok.flag) {
      positionals.push(tok.text);
      continue;
    }
    const name = (FLAG_ALIASES[tok.text.toLowerCase()] ??
      tok.text.toLowerCase().replace(/^--/u, "")) as FlagName;
    if (!tok.text.startsWith("--") && !FLAG_ALIASES[tok.text.toLowerCase()]) throw unknownFlag(cmd, tok.text);
    if (!cmd.flags.includes(name)) throw unknownFlag(cmd, tok.text);
    out[FLAGS[name].key] = true;
  }
  let i = 0;
  for (const p of cmd.params) {
    if (p.keyword && positionals[i]?.toLowerCase() === p.keyword) i++;
    if (p.rest) {
      const rest = positionals.slice(i);
      i = positionals.length;
      if (rest.length === 0) {
        if (!p.optional) throw missing(cmd, p);
        continue;
      }
      const joined = rest.map((v) => checkValue(p, v)).join(" ");
      if (joined.length > MAX_TOKEN_LENGTH) {
        throw new UserError(`the ${p.label} is too long (at most ${MAX_TOKEN_LENGTH} characters)`, {
          code: "too-long",
        });
      }
      out[p.key] = joined;
      continue;
    }
    const v = positionals[i];
    if (v === undefined) {
      if (!p.optional) throw missing(cmd, p);
      continue;
    }
    out[p.key] = checkValue(p, v);
    i++;
  }
  if (i < positionals.length) {
    throw new UserError(
      `too many arguments for ${cmd.name}: "${printable(positionals.slice(i).join(" "))}"`,
      {
        code: "usage",
        hint: `Usage: ${cmd.usage}`,
      },
    );
  }
  return out;
}

function unknownFlag(cmd: Bindable, flag: string): UserError {
  const known = cmd.flags.map((f) => `--${f}`);
  return new UserError(`unknown flag ${printable(flag)} for ${cmd.name}`, {
    code: "unknown-flag",
    hint: `${known.length ? `${cmd.name} accepts ${known.join(", ")}. ` : `${cmd.name} takes no flags. `}Usage: ${cmd.usage}`,
  });
}

function missing(cmd: Bindable, p: Param): UserError {
  return new UserError(`${cmd.name} needs the ${p.label}`, { code: "usage", hint: `Usage: ${cmd.usage}` });
}
