/**
 * Tag filters as Flux v1 wrote them in annotations (REFERENCE §2): `glob:dev-*` (the default kind;
 * `*` is the only wildcard and the pattern is anchored), `semver:~0.4` (highest satisfying version
 * wins, non-semver tags are ignored), `regex:`/`regexp:` (anchor it yourself).
 */
import semver from "semver";
import { UserError } from "../core/errors.js";
import type { TagFilter } from "../core/release.js";

/** Parses an annotation value into a filter. No prefix means glob. Throws a `UserError` for a
 * filter that can never work (an invalid regex or semver range). */
export function parseTagFilter(text: string): TagFilter {
  const s = text.trim();
  const colon = s.indexOf(":");
  const prefix = colon >= 0 ? s.slice(0, colon) : "";
  let filter: TagFilter;
  if (prefix === "glob") filter = { kind: "glob", expr: s.slice(colon + 1) };
  else if (prefix === "semver") filter = { kind: "semver", expr: s.slice(colon + 1).trim() };
  else if (prefix === "regex" || prefix === "regexp") filter = { kind: "regex", expr: s.slice(colon + 1) };
  else filter = { kind: "glob", expr: s };
  validateTagFilter(filter);
  return filter;
}

/** Like `parseTagFilter`, but returns undefined instead of throwing. */
export function tryParseTagFilter(text: string): TagFilter | undefined {
  try {
    return parseTagFilter(text);
  } catch {
    return undefined;
  }
}

/** Throws a `UserError` when the filter's expression is invalid. */
export function validateTagFilter(f: TagFilter): void {
  if (f.kind === "semver") {
    if (f.expr === "" || semver.validRange(f.expr) === null) {
      throw new UserError(`"${f.expr}" is not a valid semver range`, {
        code: "bad-filter",
        hint: "Use a constraint such as semver:~0.4, semver:^1.2 or semver:>=1.0.0 <2.0.0.",
      });
    }
  } else if (f.kind === "regex") {
    try {
      new RegExp(f.expr);
    } catch (e) {
      throw new UserError(`"${f.expr}" is not a valid regular expression`, {
        code: "bad-filter",
        hint: "Use a JavaScript regular expression, e.g. regex:^v\\d+\\.\\d+$ (anchor it yourself).",
        cause: e,
      });
    }
  }
}

/** Formats a filter back into its annotation form (`glob:dev-*`). `parseTagFilter(formatTagFilter(f))`
 * equals `f` for every valid filter. */
export function formatTagFilter(f: TagFilter): string {
  return `${f.kind}:${f.expr}`;
}

const globCache = new Map<string, RegExp>();

function globToRegExp(expr: string): RegExp {
  let re = globCache.get(expr);
  if (!re) {
    // Everything but `*` is literal, so escape every regex metacharacter first.
    const body = expr
      .split("*")
      .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
      .join(".*");
    re = new RegExp(`^${body}$`, "s");
    if (globCache.size > 500) globCache.clear();
    globCache.set(expr, re);
  }
  return re;
}

/** True when `tag` passes the filter. Semver accepts a leading `v` (`v1.2.3`), as Flux did. */
export function matchesTagFilter(f: TagFilter, tag: string): boolean {
  switch (f.kind) {
    case "glob":
      return globToRegExp(f.expr).test(tag);
    case "regex":
      try {
        return new RegExp(f.expr).test(tag);
      } catch {
        return false;
      }
    case "semver": {
      const v = semver.valid(tag);
      if (v === null) return false;
      try {
        return semver.satisfies(v, f.expr);
      } catch {
        return false;
      }
    }
  }
}

/** Picks the tag automation would move to among `tags`: for semver the highest satisfying version
 * (non-semver tags ignored); for glob/regex the last matching tag in the order given (callers pass
 * candidates ordered oldest to newest by image creation time, as Flux v1 did). Undefined when none. */
export function pickLatest(f: TagFilter, tags: readonly string[]): string | undefined {
  const candidates = tags.filter((t) => matchesTagFilter(f, t));
  if (candidates.length === 0) return undefined;
  if (f.kind === "semver") {
    let best: string | undefined;
    let bestV: string | undefined;
    for (const t of candidates) {
      const v = semver.valid(t);
      if (v === null) continue;
      if (bestV === undefined || semver.gt(v, bestV)) {
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
