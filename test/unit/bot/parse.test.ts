import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lock } from "../../../src/bot/commands/lock.js";
import { policy } from "../../../src/bot/commands/policy.js";
import { promote } from "../../../src/bot/commands/promote.js";
import { rollback } from "../../../src/bot/commands/rollback.js";
import {
  bindArgs,
  checkFilter,
  didYouMean,
  MAX_INPUT_LENGTH,
  parseLine,
  quote,
  stripPrefix,
  tokenize,
} from "../../../src/bot/parse.js";
import { UserError } from "../../../src/core/errors.js";

function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error("expected a UserError");
}

describe("tokenize", () => {
  it("splits on whitespace and honours quotes", () => {
    expect(tokenize(`lock podinfo prod "db migration" 'until 5'`).map((t) => t.text)).toEqual([
      "lock",
      "podinfo",
      "prod",
      "db migration",
      "until 5",
    ]);
  });
  it("accepts typographic quotes that chat clients substitute", () => {
    expect(tokenize("lock podinfo prod \u201cdb migration\u201d").map((t) => t.text)).toEqual([
      "lock",
      "podinfo",
      "prod",
      "db migration",
    ]);
  });
  it("keeps backslashes that escape nothing special (regex filters)", () => {
    expect(tokenize("policy a b c=regex:^v\\d+$").map((t) => t.text)).toEqual([
      "policy",
      "a",
      "b",
      "c=regex:^v\\d+$",
    ]);
  });
  it("marks flags, but not after -- or when quoted", () => {
    const toks = tokenize(`promote a b c --dry-run "--force" -- --x`);
    expect(toks.map((t) => [t.text, t.flag])).toEqual([
      ["promote", false],
      ["a", false],
      ["b", false],
      ["c", false],
      ["--dry-run", true],
      ["--force", false],
      ["--x", false],
    ]);
  });
  it("rejects an unterminated quote", () => {
    expect(userError(() => tokenize(`lock a b "oops`)).code).toBe("bad-quote");
  });

  it("quotes a literal `--` so it is not read back as the end of options", () => {
    expect(tokenize(quote(["--", ""])).map((t) => t.text)).toEqual(["--", ""]);
  });

  const word = fc.string({ minLength: 0, maxLength: 30 }).filter((s) => !/[\u0000-\u001f]/.test(s));
  it("round-trips: tokenize(quote(ts)) == ts (property)", () => {
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 8 }), (ts) => {
        const back = tokenize(quote(ts)).map((t) => t.text);
        expect(back).toEqual(ts);
      }),
    );
  });
  it("never throws anything but a UserError on arbitrary input (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: "binary" }), (s) => {
        try {
          parseLine(s);
        } catch (e) {
          expect(e).toBeInstanceOf(UserError);
        }
      }),
      { numRuns: 500 },
    );
  });
  it("rejects any text containing a zero-width or bidi character (property)", () => {
    const invisible = fc.constantFrom(
      "\u200b",
      "\u200c",
      "\u200d",
      "\u2060",
      "\ufeff",
      "\u202e",
      "\u2066",
      "\u00ad",
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), invisible, fc.string({ maxLength: 20 }), (a, z, c) => {
        expect(() => parseLine(`status ${a}${z}${c}`)).toThrow(UserError);
      }),
    );
  });
  it("tokens never contain unquoted whitespace and verbs are lower-cased (property)", () => {
    const safe = fc.stringMatching(/^[a-zA-Z0-9 ._-]{1,60}$/);
    fc.assert(
      fc.property(safe, (s) => {
        let p: ReturnType<typeof parseLine>;
        try {
          p = parseLine(s);
        } catch (e) {
          expect(e).toBeInstanceOf(UserError);
          return;
        }
        expect(p.verb).toBe(p.verb.toLowerCase());
        for (const t of p.tokens) expect(t.text).not.toMatch(/\s/);
      }),
    );
  });
});

describe("parseLine: hostile input", () => {
  const rejected: [string, string][] = [
    ["10 kB argument", `release podinfo dev ${"a".repeat(10_000)}`],
    ["long token", `release podinfo dev ${"a".repeat(300)}`],
    ["zero-width space in a name", "promote pod\u200binfo dev stg"],
    ["bidi override", "promote podinfo dev \u202estg"],
    ["BOM", "\ufeffstatus"],
    ["Cyrillic o in prod", "promote podinfo stg pr\u043ed"],
    ["Greek omicron", "status p\u03bfdinfo"],
    ["full-width letters", "status \uff50odinfo"],
    ["Slack link markup", "promote <http://podinfo.io|podinfo.io> dev stg"],
    ["Slack mention markup", "lock podinfo prod <@U123>"],
    ["Slack channel markup", "status <#C123|general>"],
    ["newline", "status\nrelease podinfo prod evil"],
    ["NUL", "status\u0000"],
    ["escape sequence", "status \u001b[2J"],
    ["unterminated quote", `lock podinfo prod "x`],
    ["flag as verb", "--help"],
  ];
  for (const [name, text] of rejected) {
    it(`rejects ${name}`, () => {
      const e = userError(() => parseLine(text));
      expect(e.message.length).toBeLessThan(300);
    });
  }
  it("caps input length", () => {
    expect(userError(() => parseLine("x".repeat(MAX_INPUT_LENGTH + 1))).code).toBe("too-long");
  });
  it("allows a lock reason written in another script", () => {
    const p = parseLine("lock podinfo prod \u0440\u0435\u043b\u0438\u0437");
    expect(p.tokens.map((t) => t.text)).toEqual(["podinfo", "prod", "\u0440\u0435\u043b\u0438\u0437"]);
  });
  it("strips the /gitops prefix", () => {
    expect(stripPrefix("/gitops status")).toBe("status");
    expect(stripPrefix("  /GITOPS   promote a b c")).toBe("promote a b c");
    expect(stripPrefix("gitopsy")).toBe("gitopsy");
  });
});

describe("bindArgs", () => {
  const bind = (cmd: Parameters<typeof bindArgs>[0], text: string) => bindArgs(cmd, parseLine(text).tokens);
  it("binds positionals and flags", () => {
    expect(bind(promote, "promote Podinfo dev stg --dry-run --force")).toEqual({
      app: "podinfo",
      from: "dev",
      to: "stg",
      dryRun: true,
      force: true,
    });
  });
  it("rejects unknown flags with the usage", () => {
    const e = userError(() => bind(promote, "promote podinfo dev stg --upload-pack=evil"));
    expect(e.code).toBe("unknown-flag");
    expect(e.hint).toContain("promote <app> <from-env> <to-env>");
  });
  it("rejects flags a command does not take", () => {
    expect(userError(() => bind(lock, "lock podinfo dev --force")).code).toBe("unknown-flag");
  });
  it("rejects missing and extra arguments", () => {
    expect(userError(() => bind(promote, "promote podinfo dev")).code).toBe("usage");
    expect(userError(() => bind(promote, "promote podinfo dev stg prod")).code).toBe("usage");
  });
  it("joins the rest into a reason", () => {
    expect(() => bind(lock, "lock podinfo prod rm -rf /")).toThrow(/unknown flag -rf/);
    expect(bind(lock, `lock podinfo prod db migration; "rm -rf /" $(reboot)`)).toEqual({
      app: "podinfo",
      env: "prod",
      reason: "db migration; rm -rf / $(reboot)",
    });
  });
  it("reads rollback's optional `to` keyword", () => {
    expect(bind(rollback, "rollback podinfo prod to 0.4.9")).toEqual({
      app: "podinfo",
      env: "prod",
      to: "0.4.9",
    });
    expect(bind(rollback, "rollback podinfo prod abc1234")).toEqual({
      app: "podinfo",
      env: "prod",
      to: "abc1234",
    });
    expect(bind(rollback, "rollback podinfo prod")).toEqual({ app: "podinfo", env: "prod" });
  });
  const badNames = [
    "../../etc/passwd",
    "podinfo;rm",
    "$(id)",
    "`id`",
    "a|b",
    "pod info",
    "/abs",
    "..",
    "a/../b",
    "-rf",
    "%2e%2e",
  ];
  for (const n of badNames) {
    it(`neutralises the name ${JSON.stringify(n)}`, () => {
      expect(() => bind(promote, `promote ${quote([n])} dev stg`)).toThrow(UserError);
    });
  }
  it("rejects tags that are not tags", () => {
    for (const tag of ["../x", "a;b", "$(id)", "-x", "x".repeat(200), "v1 2"]) {
      expect(() =>
        bindArgs(rollback, [...parseLine("rollback a b to").tokens, { text: tag, flag: false }]),
      ).toThrow(UserError);
    }
  });
  it("checks policies", () => {
    expect(bind(policy, "policy podinfo dev chart-image=glob:dev-*")).toMatchObject({
      spec: "chart-image=glob:dev-*",
    });
    expect(bind(policy, "policy podinfo dev chart-image=dev-*")).toMatchObject({
      spec: "chart-image=glob:dev-*",
    });
    expect(() => bind(policy, "policy podinfo dev chart-image=regex:(")).toThrow(UserError);
    expect(() => bind(policy, "policy podinfo dev chart-image=glob:$(id)")).toThrow(UserError);
    expect(() => bind(policy, "policy podinfo dev =glob:x")).toThrow(UserError);
    expect(() => bind(policy, "policy podinfo dev chart-image=foo:bar")).toThrow(UserError);
  });
});

describe("bindArgs properties", () => {
  it("binds only safe names and tags, or throws a UserError (property)", () => {
    const tok = fc.record({ text: fc.string({ maxLength: 40 }), flag: fc.boolean() });
    fc.assert(
      fc.property(fc.array(tok, { maxLength: 6 }), (tokens) => {
        let raw: Record<string, unknown>;
        try {
          raw = bindArgs(promote, tokens);
        } catch (e) {
          expect(e).toBeInstanceOf(UserError);
          return;
        }
        for (const k of ["app", "from", "to"]) expect(raw[k]).toMatch(/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/);
      }),
      { numRuns: 500 },
    );
  });
});

describe("filters and suggestions", () => {
  it("normalises filters", () => {
    expect(checkFilter("semver:~0.4")).toBe("semver:~0.4");
    expect(checkFilter("regexp:^v\\d+$")).toBe("regex:^v\\d+$");
  });
  it("uses the one tag-filter grammar: RE2 regexes, unknown kinds refused", () => {
    expect(checkFilter("regex:^(?P<n>\\d+)$")).toBe("regex:^(?P<n>\\d+)$");
    expect(checkFilter("regex:^(a+)+b$")).toBe("regex:^(a+)+b$");
    expect(checkFilter("dev-*")).toBe("glob:dev-*");
    expect(userError(() => checkFilter("regex:(a)\\1")).code).toBe("bad-filter");
    expect(userError(() => checkFilter("foo:bar")).message).toContain("unknown tag filter kind");
  });
  it("suggests close names", () => {
    expect(didYouMean("prmote", ["promote", "policy", "status"])).toEqual(["promote"]);
    expect(didYouMean("prd", ["dev", "stg", "prod"])).toEqual(["prod"]);
    expect(didYouMean("zzz", ["dev", "stg", "prod"])).toEqual([]);
  });
});
