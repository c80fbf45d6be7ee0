/**
 * Tag filters, the one grammar for annotations (REFERENCE §2), chat commands and image automation:
 * `glob:dev-*` (the default kind; `*` is the only wildcard and the pattern is anchored),
 * `semver:~0.4` (Masterminds v3 constraints as Flux reads them, src/core/semver.ts; highest satisfying
 * version wins, non-semver tags are ignored), `regex:`/`regexp:`
 * (anchor it yourself). Regular expressions use RE2 syntax and are matched by RE2JS in time linear
 * in the tag, so a hostile pattern such as `^(a+)+b$` cannot block the event loop; globs are matched
 * without any regular expression.
 */
import { RE2JS } from "re2js";
import { UserError } from "../core/errors.js";
import { printable } from "../core/names.js";
import type { TagFilter } from "../core/release.js";
import {
  compareSemverTags,
  parseConstraint,
  parseVersion,
  type SemVersion,
  type SemverConstraint,
} from "../core/semver.js";

/** The kinds a filter may name (`regexp` is an alias of `regex`). */
export const TAG_FILTER_KINDS = ["glob", "semver", "regex", "regexp"] as const;

/** Longest regular expression accepted (compiled programs stay small; tags are at most 128 characters). */
export const MAX_REGEX_LENGTH = 256;

/** How strictly to read a filter. Annotations are read as Flux v1 did (`lenient`, the default: an
 * unknown prefix is part of a glob); user input is `strict`: an unknown kind, an empty expression or
 * a glob with characters no tag can contain is refused. */
export interface ParseTagFilterOptions {
  strict?: boolean;
}

/** Parses a filter. No prefix means glob. Throws a `UserError` (code `bad-filter`) for a filter that
 * can never work (an invalid RE2 expression or semver range; more in strict mode). */
export function parseTagFilter(text: string, opts: ParseTagFilterOptions = {}): TagFilter {
  const s = text.trim();
  const m = /^([A-Za-z]+):/.exec(s);
  const prefix = m?.[1] ?? "";
  const rest = m ? s.slice(prefix.length + 1) : s;
  let filter: TagFilter;
  if (prefix === "glob") filter = { kind: "glob", expr: rest };
  else if (prefix === "semver") filter = { kind: "semver", expr: rest.trim() };
  else if (prefix === "regex" || prefix === "regexp") filter = { kind: "regex", expr: rest };
  else if (m && opts.strict) {
    throw new UserError(`unknown tag filter kind "${printable(prefix)}"`, {
      code: "bad-filter",
      hint: "Use glob:<pattern>, semver:<range> or regex:<expression>, e.g. glob:dev-* or semver:~0.4.",
    });
  } else filter = { kind: "glob", expr: s };
  if (opts.strict) checkStrict(filter);
  validateTagFilter(filter);
  return filter;
}

function checkStrict(f: TagFilter): void {
  if (f.expr === "") {
    throw new UserError(`the ${f.kind} filter is empty`, {
      code: "bad-filter",
      hint: "For example glob:dev-*, semver:~0.4 or regex:^v\\d+$",
    });
  }
  if (f.kind === "glob" && !/^[A-Za-z0-9_.*-]+$/.test(f.expr)) {
    throw new UserError(
      `the glob "${printable(f.expr)}" may contain only letters, digits, '.', '-', '_' and '*'`,
      { code: "bad-filter" },
    );
  }
}

/** Like `parseTagFilter`, but returns undefined instead of throwing. */
export function tryParseTagFilter(text: string, opts: ParseTagFilterOptions = {}): TagFilter | undefined {
  try {
    return parseTagFilter(text, opts);
  } catch {
    return undefined;
  }
}

/** Throws a `UserError` when the filter's expression is invalid: a semver range `semver` rejects, or
 * a regular expression RE2 cannot compile (backreferences, lookaround) or longer than `MAX_REGEX_LENGTH`. */
export function validateTagFilter(f: TagFilter): void {
  if (f.kind === "semver") {
    const r = f.expr === "" ? { ok: false as const, error: "empty" } : constraintOf(f.expr);
    if (!r.ok) {
      throw new UserError(`"${printable(f.expr)}" is not a valid semver range (${r.error})`, {
        code: "bad-filter",
        hint: "Use a constraint such as semver:~0.4, semver:^1.2 or semver:>= 1.0, < 2.0.",
      });
    }
  } else if (f.kind === "regex") {
    if (f.expr.length > MAX_REGEX_LENGTH) {
      throw new UserError(
        `the regular expression is too long (${f.expr.length} characters; the limit is ${MAX_REGEX_LENGTH})`,
        {
          code: "bad-filter",
          hint: "Tags are short: a short expression such as regex:^v\\d+\\.\\d+$ will do.",
        },
      );
    }
    try {
      compiled(f.expr);
    } catch (e) {
      throw new UserError(
        `"${printable(f.expr)}" is not a valid regular expression: ${(e as Error).message}`,
        {
          code: "bad-filter",
          hint: "Use RE2 syntax (no backreferences or lookaround), e.g. regex:^v\\d+\\.\\d+$ (anchor it yourself).",
          cause: e,
        },
      );
    }
  }
}

/** Formats a filter back into its annotation form (`glob:dev-*`). `parseTagFilter(formatTagFilter(f))`
 * equals `f` for every valid filter. */
export function formatTagFilter(f: TagFilter): string {
  return `${f.kind}:${f.expr}`;
}

const constraintCache = new Map<string, ReturnType<typeof parseConstraint>>();

/** The parsed constraint of `expr` (cached like regexes). */
function constraintOf(expr: string): ReturnType<typeof parseConstraint> {
  let c = constraintCache.get(expr);
  if (!c) {
    c = parseConstraint(expr);
    if (constraintCache.size > 500) constraintCache.clear();
    constraintCache.set(expr, c);
  }
  return c;
}

/** The constraint of a semver filter, or undefined when it is invalid. */
export function semverConstraintOf(f: TagFilter): SemverConstraint | undefined {
  if (f.kind !== "semver" || f.expr === "") return undefined;
  const r = constraintOf(f.expr);
  return r.ok ? r.constraint : undefined;
}

const regexCache = new Map<string, RE2JS>();

/** The compiled RE2 program of `expr` (cached: automation matches one filter against many tags). */
function compiled(expr: string): RE2JS {
  let re = regexCache.get(expr);
  if (!re) {
    re = RE2JS.compile(expr);
    if (regexCache.size > 500) regexCache.clear();
    regexCache.set(expr, re);
  }
  return re;
}

/** Anchored glob match where `*` matches any run (also empty) and everything else is literal.
 * Greedy with one backtrack point, so O(pattern × tag) at worst. */
export function globMatches(pattern: string, s: string): boolean {
  let p = 0;
  let i = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    if (p < pattern.length && pattern[p] !== "*" && pattern[p] === s[i]) {
      p++;
      i++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      mark = i;
    } else if (star >= 0) {
      p = star + 1;
      i = ++mark;
    } else return false;
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

/** True when `tag` passes the filter. Semver reads tags leniently (`v1.2.3`, `1.3`), as Flux did; an
 * invalid filter matches nothing. A regex
 * is searched, not anchored (like `RegExp.test`), in linear time. */
export function matchesTagFilter(f: TagFilter, tag: string): boolean {
  switch (f.kind) {
    case "glob":
      return globMatches(f.expr, tag);
    case "regex":
      try {
        return compiled(f.expr).matcher(tag).find();
      } catch {
        return false;
      }
    case "semver": {
      const c = semverConstraintOf(f);
      const v = parseVersion(tag);
      return c !== undefined && v !== undefined && c.check(v);
    }
  }
}

/** Picks the tag automation would move to among `tags`: for semver the highest satisfying version
 * (non-semver tags ignored; between equal versions the more explicit tag); for glob/regex the last matching tag in the order given (callers pass
 * candidates ordered oldest to newest by image creation time, as Flux v1 did). Undefined when none. */
export function pickLatest(f: TagFilter, tags: readonly string[]): string | undefined {
  const candidates = tags.filter((t) => matchesTagFilter(f, t));
  if (candidates.length === 0) return undefined;
  if (f.kind === "semver") {
    let best: string | undefined;
    let bestV: SemVersion | undefined;
    for (const t of candidates) {
      const v = parseVersion(t);
      if (v === undefined) continue;
      if (best === undefined || bestV === undefined || compareSemverTags(t, v, best, bestV) > 0) {
        best = t;
        bestV = v;
      }
    }
    return best;
  }
  return candidates[candidates.length - 1];
}

/** Short alias of `matchesTagFilter`. */
export const matches = matchesTagFilter;
