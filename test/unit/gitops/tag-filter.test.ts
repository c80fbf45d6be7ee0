import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import type { TagFilter } from "../../../src/core/release.js";
import {
  formatTagFilter,
  matchesTagFilter,
  parseTagFilter,
  pickLatest,
  tryParseTagFilter,
} from "../../../src/gitops/tag-filter.js";

const glob = (expr: string): TagFilter => ({ kind: "glob", expr });
const tagChars = fc.constantFrom(..."abcxyz019.-_+()[]{}^$|?\\/".split(""));
const tagLike = fc.array(tagChars, { maxLength: 12 }).map((a) => a.join(""));

describe("parseTagFilter", () => {
  it("reads each kind, and no prefix means glob", () => {
    expect(parseTagFilter("glob:dev-*")).toEqual(glob("dev-*"));
    expect(parseTagFilter("dev-*")).toEqual(glob("dev-*"));
    expect(parseTagFilter("semver:~0.4")).toEqual({ kind: "semver", expr: "~0.4" });
    expect(parseTagFilter("regex:^v\\d+$")).toEqual({ kind: "regex", expr: "^v\\d+$" });
    expect(parseTagFilter("regexp:^v\\d+$")).toEqual({ kind: "regex", expr: "^v\\d+$" });
    // An unknown prefix is part of a glob (tags may contain ':' only in globs like this).
    expect(parseTagFilter("foo:bar")).toEqual(glob("foo:bar"));
  });

  it("rejects invalid semver ranges and regexes with a UserError", () => {
    expect(() => parseTagFilter("semver:not a range")).toThrow(/not a valid semver range/);
    expect(() => parseTagFilter("semver:")).toThrow(/semver/);
    expect(() => parseTagFilter("regex:(")).toThrow(/regular expression/);
    expect(tryParseTagFilter("regex:(")).toBeUndefined();
  });

  it("round-trips through formatTagFilter", () => {
    fc.assert(
      fc.property(fc.constantFrom("glob", "regex", "semver"), tagLike, (kind, expr) => {
        const f = tryParseTagFilter(`${kind}:${expr}`);
        if (f) expect(parseTagFilter(formatTagFilter(f))).toEqual(f);
      }),
    );
  });
});

describe("glob", () => {
  it("without * matches only itself", () => {
    fc.assert(
      fc.property(
        tagLike.filter((s) => !s.includes("*")),
        tagLike,
        (pattern, tag) => {
          expect(matchesTagFilter(glob(pattern), tag)).toBe(tag === pattern);
        },
      ),
    );
  });
  it("treats regex metacharacters literally", () => {
    expect(matchesTagFilter(glob("1.0"), "1x0")).toBe(false);
    expect(matchesTagFilter(glob("a+"), "aa")).toBe(false);
    expect(matchesTagFilter(glob("(x)"), "(x)")).toBe(true);
    expect(matchesTagFilter(glob("^x$"), "^x$")).toBe(true);
  });
  it("is anchored, and * matches any run", () => {
    fc.assert(
      fc.property(tagLike, tagLike, tagLike, (pre, mid, post) => {
        const p = `${pre.replace(/\*/g, "")}*${post.replace(/\*/g, "")}`;
        expect(matchesTagFilter(glob(p), `${pre.replace(/\*/g, "")}${mid}${post.replace(/\*/g, "")}`)).toBe(
          true,
        );
      }),
    );
    expect(matchesTagFilter(glob("dev-*"), "xdev-1")).toBe(false);
    expect(matchesTagFilter(glob("dev-*"), "dev-")).toBe(true);
    expect(matchesTagFilter(glob("*"), "")).toBe(true);
  });
});

describe("semver and regex", () => {
  it("semver matches satisfying versions and ignores non-semver tags", () => {
    const f = parseTagFilter("semver:~0.4");
    expect(matchesTagFilter(f, "0.4.10")).toBe(true);
    expect(matchesTagFilter(f, "v0.4.2")).toBe(true);
    expect(matchesTagFilter(f, "0.5.0")).toBe(false);
    expect(matchesTagFilter(f, "stg-9ij63o4c")).toBe(false);
    expect(matchesTagFilter(f, "latest")).toBe(false);
  });
  it("regex is not anchored unless written so", () => {
    expect(matchesTagFilter(parseTagFilter("regex:dev"), "my-dev-1")).toBe(true);
    expect(matchesTagFilter(parseTagFilter("regex:^dev$"), "my-dev-1")).toBe(false);
  });
});

describe("pickLatest", () => {
  it("semver: highest satisfying version, non-semver ignored", () => {
    const f = parseTagFilter("semver:~0.4");
    expect(pickLatest(f, ["0.4.2", "latest", "0.4.10", "0.5.0", "0.4.9", "stg-x"])).toBe("0.4.10");
    expect(pickLatest(f, ["latest"])).toBeUndefined();
  });
  it("semver: the pick satisfies the range and no candidate is higher", () => {
    const version = fc.tuple(fc.nat(3), fc.nat(12), fc.nat(12)).map(([a, b, c]) => `${a}.${b}.${c}`);
    fc.assert(
      fc.property(fc.array(fc.oneof(version, fc.string({ maxLength: 6 })), { maxLength: 20 }), (tags) => {
        const f = parseTagFilter("semver:^1.2");
        const best = pickLatest(f, tags);
        const ok = tags.filter((t) => matchesTagFilter(f, t));
        if (ok.length === 0) expect(best).toBeUndefined();
        else {
          expect(ok).toContain(best);
          const [bm, bn, bp] = best!.split(".").map(Number) as [number, number, number];
          for (const t of ok) {
            const [m, n, p] = t.split(".").map(Number) as [number, number, number];
            expect(m * 1e6 + n * 1e3 + p).toBeLessThanOrEqual(bm * 1e6 + bn * 1e3 + bp);
          }
        }
      }),
    );
  });
  it("glob/regex: the last matching tag in the order given", () => {
    expect(pickLatest(glob("dev-*"), ["dev-a", "stg-b", "dev-c", "x"])).toBe("dev-c");
    expect(pickLatest(glob("dev-*"), [])).toBeUndefined();
  });
});

describe("regex: RE2 semantics in linear time", () => {
  it("a hostile pattern on a long tag finishes fast (JS RegExp would backtrack for ages)", () => {
    const f = parseTagFilter("regex:^(a+)+b$");
    const t0 = performance.now();
    // 2^128 backtracking paths for a JS RegExp; linear for RE2.
    expect(matchesTagFilter(f, "a".repeat(128))).toBe(false);
    expect(matchesTagFilter(f, `${"a".repeat(100_000)}c`)).toBe(false);
    expect(matchesTagFilter(f, "aaab")).toBe(true);
    expect(
      pickLatest(
        f,
        Array.from({ length: 200 }, () => "a".repeat(127)),
      ),
    ).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("accepts RE2 syntax and refuses what RE2 does not support, with a UserError", () => {
    expect(matchesTagFilter(parseTagFilter("regex:^(?P<major>\\d+)\\.\\d+$"), "12.3")).toBe(true);
    expect(matchesTagFilter(parseTagFilter("regex:(?i)^DEV-"), "dev-1")).toBe(true);
    for (const bad of ["regex:(a)\\1", "regex:^(?=v)", "regex:a{1001}", `regex:${"a".repeat(300)}`]) {
      expect(() => parseTagFilter(bad), bad).toThrow(UserError);
    }
    expect(() => parseTagFilter("regex:(a)\\1")).toThrow(/not a valid regular expression/);
    expect(() => parseTagFilter(`regex:${"a".repeat(300)}`)).toThrow(/too long/);
  });

  it("strict mode (user input) refuses unknown kinds, empty and impossible filters", () => {
    expect(parseTagFilter("regexp:^v1", { strict: true })).toEqual({ kind: "regex", expr: "^v1" });
    expect(parseTagFilter("dev-*", { strict: true })).toEqual(glob("dev-*"));
    for (const bad of ["foo:bar", "glob:", "glob:a b", "semver:nope"]) {
      expect(() => parseTagFilter(bad, { strict: true }), bad).toThrow(UserError);
    }
  });
});

/** A line-by-line translation of ryanuber/go-glob's `Glob`, the matcher Flux v1 used, as the oracle. */
function goGlob(pattern: string, subj: string): boolean {
  if (pattern === "") return subj === pattern;
  if (pattern === "*") return true;
  const parts = pattern.split("*");
  if (parts.length === 1) return subj === pattern;
  const leading = pattern.startsWith("*");
  const trailing = pattern.endsWith("*");
  const end = parts.length - 1;
  let s = subj;
  for (let i = 0; i < end; i++) {
    const part = parts[i] ?? "";
    const idx = s.indexOf(part);
    if (i === 0 ? !leading && idx !== 0 : idx < 0) return false;
    s = s.slice(idx + part.length);
  }
  return trailing || s.endsWith(parts[end] ?? "");
}

describe("Flux semantics", () => {
  it("glob agrees with go-glob on any pattern and tag (property), `*` crossing `/`", () => {
    const chars = fc.constantFrom(..."ab*/?[]{}!.".split(""));
    const str = fc.array(chars, { maxLength: 10 }).map((a) => a.join(""));
    fc.assert(
      fc.property(str, str, (p, s) => {
        expect(matchesTagFilter(glob(p), s.replaceAll("*", "x"))).toBe(goGlob(p, s.replaceAll("*", "x")));
      }),
      { numRuns: 3000 },
    );
    expect(matchesTagFilter(glob("team/*"), "team/a/b")).toBe(true);
    expect(matchesTagFilter(glob("v1.?"), "v1.2")).toBe(false);
    expect(matchesTagFilter(glob("{a,b}"), "{a,b}")).toBe(true);
  });

  it("semver: comma is AND, prereleases only when asked, lenient tags, `!=`, `~0.0.0`", () => {
    const f = (e: string) => parseTagFilter(`semver:${e}`);
    expect(matchesTagFilter(f(">= 1.0, < 2.0"), "0.4.0")).toBe(false);
    expect(matchesTagFilter(f(">= 1.0, < 2.0"), "1.3")).toBe(true);
    expect(matchesTagFilter(f(">= 1.0, < 2.0"), "v1.3.0")).toBe(true);
    expect(matchesTagFilter(f("^1.2"), "1.5.0-beta.1")).toBe(false);
    expect(matchesTagFilter(f(">=1.0.0-0 <2.0.0"), "1.5.0-beta.1")).toBe(true);
    expect(matchesTagFilter(f("!=1.2.3"), "1.2.3")).toBe(false);
    expect(matchesTagFilter(f("!=1.2.3"), "1.2.4")).toBe(true);
    expect(matchesTagFilter(f("~0.0.0"), "5.1.2")).toBe(true);
    expect(pickLatest(f("^1.x-0"), ["1.2.3", "1.5.0-beta.1", "2.0.0"])).toBe("1.5.0-beta.1");
    expect(pickLatest(f(">=1.0"), ["1.3", "1.3.0", "v1.3.0"])).toBe("v1.3.0");
  });

  it("an invalid semver filter is an error with the reason, and matches nothing", () => {
    expect(() => parseTagFilter("semver:>=1.0 <=")).toThrow(/not a valid semver range.*improper constraint/);
    expect(matchesTagFilter({ kind: "semver", expr: "not-a-range" }, "1.0.0")).toBe(false);
    expect(pickLatest({ kind: "semver", expr: "~" }, ["1.0.0"])).toBeUndefined();
  });

  it("regex: RE2 named groups and flags, unanchored unless anchored", () => {
    expect(matchesTagFilter(parseTagFilter("regex:(?P<v>\\d+)"), "build-12")).toBe(true);
    expect(matchesTagFilter(parseTagFilter("regexp:(?i)^DEV-"), "dev-1")).toBe(true);
    expect(matchesTagFilter(parseTagFilter("regex:^dev-\\z"), "dev-")).toBe(true);
    expect(matchesTagFilter(parseTagFilter("regex:^dev-$"), "dev-1")).toBe(false);
  });
});
