import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareSemverTags,
  compareVersions,
  formatVersion,
  parseConstraint,
  parseVersion,
  type SemVersion,
} from "../../../src/core/semver.js";

interface Golden {
  parse: Record<string, string>;
  versions: string[];
  cases: { range: string; error?: string; admits: string[]; highest?: string }[];
}

const golden = JSON.parse(
  readFileSync(new URL("../../fixtures/semver/golden.json", import.meta.url), "utf8"),
) as Golden;

describe("semver versions (Masterminds NewVersion)", () => {
  for (const [text, want] of Object.entries(golden.parse)) {
    it(`reads ${JSON.stringify(text)} as ${want}`, () => {
      const v = parseVersion(text);
      expect(v ? formatVersion(v) : "not a version").toBe(want);
    });
  }

  it("refuses numbers above uint64 and prereleases with leading zeros", () => {
    expect(parseVersion("18446744073709551615.0.0")).toBeDefined();
    expect(parseVersion("18446744073709551616.0.0")).toBeUndefined();
    expect(parseVersion("1.0.0-01")).toBeUndefined();
    expect(parseVersion("1.0.0-0a")).toBeDefined();
  });

  it("orders prereleases as semver does (numeric < alphanumeric, shorter < longer)", () => {
    const order = [
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
    ];
    const vs = order.map((t) => parseVersion(t) as SemVersion);
    for (let i = 1; i < vs.length; i++)
      expect(compareVersions(vs[i - 1] as SemVersion, vs[i] as SemVersion)).toBeLessThan(0);
  });
});

describe("semver constraints: every golden case of Masterminds v3.5.0", () => {
  for (const c of golden.cases) {
    it(`${JSON.stringify(c.range)}${c.error ? " is invalid" : ""}`, () => {
      const r = parseConstraint(c.range);
      if (c.error) {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toBeTruthy();
        return;
      }
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const admitted = golden.versions
        .map((t) => ({ t, v: parseVersion(t) }))
        .filter((x): x is { t: string; v: SemVersion } => x.v !== undefined && r.constraint.check(x.v))
        .sort((a, b) => compareSemverTags(b.t, b.v, a.t, a.v));
      expect(admitted.map((x) => x.t)).toEqual(c.admits);
      expect(admitted[0]?.t).toBe(c.highest);
    });
  }
});

describe("semver constraints: robustness", () => {
  it("a hostile constraint is refused or answered without hanging", () => {
    const r = parseConstraint(`${"1".repeat(40)}${" ,".repeat(100)}x`);
    expect(r.ok).toBe(false);
    expect(parseConstraint("1".repeat(300))).toMatchObject({ ok: false, error: /too long/ });
  });

  it("never throws, whatever the text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const r = parseConstraint(s);
        if (r.ok) r.constraint.check(parseVersion("1.2.3") as SemVersion);
        parseVersion(s);
      }),
    );
  });

  it("a comparator's version itself satisfies `=v`, `>=v` and `<=v`", () => {
    fc.assert(
      fc.property(fc.nat(50), fc.nat(50), fc.nat(50), (a, b, c) => {
        const v = parseVersion(`${a}.${b}.${c}`) as SemVersion;
        for (const op of ["=", ">=", "<=", "~", "^"]) {
          const r = parseConstraint(`${op}${a}.${b}.${c}`);
          expect(r.ok && r.constraint.check(v)).toBe(true);
        }
        const ne = parseConstraint(`!=${a}.${b}.${c}`);
        expect(ne.ok && ne.constraint.check(v)).toBe(false);
      }),
    );
  });
});
