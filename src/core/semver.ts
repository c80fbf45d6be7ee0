/**
 * `semver:` tag filters with the semantics of Masterminds/semver v3 (the Go library Flux uses), so a
 * filter means here what it meant to Flux: comma is AND (`>= 1.0, < 2.0`), `||` is OR, `~0.4`,
 * `^1.2`, `1.2.x`, `1.2 - 1.4.5`, `!=`, `=>`/`=<`, `~0.0.0` admits everything, lenient versions
 * (`1`, `1.3`, `v1.3.0`, `01.2.3`), and prereleases only in an OR-group whose own comparators name a
 * prerelease. A translation of the library's grammar and checks (not of npm `semver`, which differs
 * on every one of those points: ../shared/research/image-automation.md §4), proven against the
 * golden cases the Go library produced (test/fixtures/semver/golden.json).
 *
 * The grammar's regular expressions run on RE2JS, as they run on RE2 in Go: the same leftmost-first
 * submatch rules, and linear time on a hostile constraint.
 */
import { RE2JS } from "re2js";

/** A version as Masterminds reads it. Numbers are bigint: Go parses them as uint64. */
export interface SemVersion {
  major: bigint;
  minor: bigint;
  patch: bigint;
  /** Prerelease without the `-` (`rc.1`), or "". */
  pre: string;
  /** Build metadata without the `+`, or "" (ignored by ordering, as in semver). */
  metadata: string;
  /** The text it was read from (`v1.3`). */
  original: string;
}

/** Longest constraint accepted (a filter is an annotation value, not a program). */
export const MAX_CONSTRAINT_LENGTH = 256;

const UINT64_MAX = 2n ** 64n - 1n;

const looseVersion = RE2JS.compile(
  "^v?([0-9]+)(\\.[0-9]+)?(\\.[0-9]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?$",
);

/** Constraint version: like a version, but each number may be `x`, `X` or `*` (and, as in the Go
 * source, the character class also admits `|`, which then fails as a version). */
const cv =
  "v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?";
/** Operators in the Go source's order; RE2 alternation is leftmost-first, so the order matters. */
const ops = "=||!=|>|<|>=|=>|<=|=<|~|~>|\\^";
const constraintRe = RE2JS.compile(`^\\s*(${ops})\\s*(${cv})\\s*$`);
const rangeRe = RE2JS.compile(`\\s*(${cv})\\s+-\\s+(${cv})\\s*`);
const findRe = RE2JS.compile(`(${ops})\\s*(${cv})`);
const validRe = RE2JS.compile(`^(\\s*(${ops})\\s*(${cv})\\s*)((?:\\s+|,\\s*)(${ops})\\s*(${cv})\\s*)*$`);

function groups(m: ReturnType<RE2JS["matcher"]>, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i <= n; i++) out.push(m.group(i) ?? "");
  return out;
}

function uint(text: string): bigint | undefined {
  const n = BigInt(text);
  return n > UINT64_MAX ? undefined : n;
}

function onlyDigits(s: string): boolean {
  return /^[0-9]+$/.test(s);
}

function validPrerelease(p: string): boolean {
  for (const part of p.split(".")) {
    if (part === "") return false;
    if (onlyDigits(part)) {
      if (part.length > 1 && part[0] === "0") return false;
    } else if (!/^[0-9A-Za-z-]+$/.test(part)) return false;
  }
  return true;
}

function validMetadata(m: string): boolean {
  return m.split(".").every((p) => /^[0-9A-Za-z-]+$/.test(p));
}

/**
 * Reads a version the way Masterminds `NewVersion` does (coercing): `1` is 1.0.0, `1.3` is 1.3.0,
 * `v1.3.0` and `01.2.3` are versions; `V1.4.0`, `1.2.3.4`, `latest` are not (undefined).
 */
export function parseVersion(text: string): SemVersion | undefined {
  if (text.length > MAX_CONSTRAINT_LENGTH) return undefined;
  const m = looseVersion.matcher(text);
  if (!m.find()) return undefined;
  const g = groups(m, 8);
  const major = uint(g[1] ?? "");
  const minor = g[2] ? uint(g[2].slice(1)) : 0n;
  const patch = g[3] ? uint(g[3].slice(1)) : 0n;
  if (major === undefined || minor === undefined || patch === undefined) return undefined;
  const pre = g[5] ?? "";
  const metadata = g[8] ?? "";
  if (pre !== "" && !validPrerelease(pre)) return undefined;
  if (metadata !== "" && !validMetadata(metadata)) return undefined;
  return { major, minor, patch, pre, metadata, original: text };
}

/** `1.3.0-rc.1+b5`: the canonical form (no `v`, all three numbers). */
export function formatVersion(v: SemVersion): string {
  return `${v.major}.${v.minor}.${v.patch}${v.pre ? `-${v.pre}` : ""}${v.metadata ? `+${v.metadata}` : ""}`;
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePrePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === "") return -1;
  if (o === "") return 1;
  const sNum = onlyDigits(s) ? uint(s) : undefined;
  const oNum = onlyDigits(o) ? uint(o) : undefined;
  if (sNum === undefined && oNum === undefined) return s > o ? 1 : -1;
  if (oNum === undefined) return -1; // numeric identifiers sort before alphanumeric ones
  if (sNum === undefined) return 1;
  return sNum > oNum ? 1 : -1;
}

function comparePrerelease(v: string, o: string): number {
  const a = v.split(".");
  const b = o.split(".");
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = comparePrePart(a[i] ?? "", b[i] ?? "");
    if (d !== 0) return d;
  }
  return 0;
}

/** Semver precedence (build metadata ignored): negative, zero or positive. */
export function compareVersions(a: SemVersion, b: SemVersion): number {
  const d = cmp(a.major, b.major) || cmp(a.minor, b.minor) || cmp(a.patch, b.patch);
  if (d !== 0) return d;
  if (a.pre === "" && b.pre === "") return 0;
  if (a.pre === "") return 1;
  if (b.pre === "") return -1;
  return comparePrerelease(a.pre, b.pre);
}

/**
 * Orders tags for a `semver:` filter: by version, and between equal versions (`1.10` vs `1.10.0`)
 * the more explicit tag (longer, then lexically greater) is newer, as Flux v1 did.
 */
export function compareSemverTags(a: string, va: SemVersion, b: string, vb: SemVersion): number {
  return compareVersions(va, vb) || a.length - b.length || (a === b ? 0 : a > b ? 1 : -1);
}

type Op = "" | "=" | "!=" | ">" | "<" | ">=" | "=>" | "<=" | "=<" | "~" | "~>" | "^";

interface Comparator {
  op: Op;
  /** The version text as written. */
  orig: string;
  con: SemVersion;
  dirty: boolean;
  minorDirty: boolean;
  patchDirty: boolean;
}

const isX = (s: string) => s === "x" || s === "X" || s === "*";

function parseComparator(text: string): Comparator | string {
  const m = constraintRe.matcher(text);
  if (!m.find()) return `improper constraint: "${text}"`;
  const g = groups(m, 6);
  const [op, orig, major, minorDot, patchDot, preDash] = [g[1], g[2], g[3], g[4], g[5], g[6]].map(
    (s) => s ?? "",
  ) as [Op, string, string, string, string, string];
  let ver = orig;
  let dirty = false;
  let minorDirty = false;
  let patchDirty = false;
  if (isX(major) || major === "") {
    ver = `0.0.0${preDash}`;
    dirty = true;
  } else if (isX(minorDot.slice(1)) || minorDot === "") {
    ver = `${major}.0.0${preDash}`;
    dirty = minorDirty = true;
  } else if (isX(patchDot.slice(1)) || patchDot === "") {
    ver = `${major}${minorDot}.0${preDash}`;
    dirty = patchDirty = true;
  }
  const con = parseVersion(ver);
  if (!con) return `"${orig}" is not a version`;
  return { op, orig, con, dirty, minorDirty, patchDirty };
}

function tilde(v: SemVersion, c: Comparator): boolean {
  if (compareVersions(v, c.con) < 0) return false;
  // `~0.0.0` (and `~0`? no: that one is minor-dirty) admits everything at or above 0.0.0.
  if (c.con.major === 0n && c.con.minor === 0n && c.con.patch === 0n && !c.minorDirty && !c.patchDirty) {
    return true;
  }
  if (v.major !== c.con.major) return false;
  return v.minor === c.con.minor || c.minorDirty;
}

function caret(v: SemVersion, c: Comparator): boolean {
  if (compareVersions(v, c.con) < 0) return false;
  if (c.con.major > 0n || c.minorDirty) return v.major === c.con.major;
  if (v.major > 0n) return false;
  if (c.con.minor > 0n || c.patchDirty) return v.minor === c.con.minor;
  if (v.minor > 0n) return false;
  return v.patch === c.con.patch;
}

function notEqual(v: SemVersion, c: Comparator): boolean {
  if (c.dirty) {
    if (c.con.major !== v.major) return true;
    if (c.con.minor !== v.minor && !c.minorDirty) return true;
    if (c.minorDirty) return false;
    if (c.con.patch !== v.patch && !c.patchDirty) return true;
    if (c.patchDirty) {
      if (v.pre !== "" || c.con.pre !== "") return comparePrerelease(v.pre, c.con.pre) !== 0;
      return false;
    }
  }
  return compareVersions(v, c.con) !== 0;
}

function greaterThan(v: SemVersion, c: Comparator): boolean {
  if (!c.dirty) return compareVersions(v, c.con) > 0;
  if (v.major > c.con.major) return true;
  if (v.major < c.con.major || c.minorDirty) return false;
  if (c.patchDirty) return v.minor > c.con.minor;
  return compareVersions(v, c.con) > 0;
}

function lessThanEqual(v: SemVersion, c: Comparator): boolean {
  if (!c.dirty) return compareVersions(v, c.con) <= 0;
  if (v.major > c.con.major) return false;
  return !(v.major === c.con.major && v.minor > c.con.minor && !c.minorDirty);
}

function check(v: SemVersion, c: Comparator, includePre: boolean): boolean {
  if (v.pre !== "" && !includePre) return false;
  switch (c.op) {
    case "":
    case "=":
      return c.dirty ? tilde(v, c) : compareVersions(v, c.con) === 0;
    case "!=":
      return notEqual(v, c);
    case ">":
      return greaterThan(v, c);
    case "<":
      return compareVersions(v, c.con) < 0;
    case ">=":
    case "=>":
      return compareVersions(v, c.con) >= 0;
    case "<=":
    case "=<":
      return lessThanEqual(v, c);
    case "~":
    case "~>":
      return tilde(v, c);
    case "^":
      return caret(v, c);
  }
}

/** `1.2 - 1.4.5` becomes `>= 1.2, <= 1.4.5 ` (each occurrence in turn, as the Go source does). */
function rewriteRange(text: string): string {
  const m = rangeRe.matcher(text);
  let out = text;
  while (m.find()) {
    const whole = m.group(0) ?? "";
    const from = m.group(1) ?? "";
    const to = m.group(11) ?? "";
    const i = out.indexOf(whole);
    if (i >= 0) out = `${out.slice(0, i)}>= ${from}, <= ${to} ${out.slice(i + whole.length)}`;
  }
  return out;
}

/** A parsed `semver:` constraint: OR-groups of AND-ed comparators. */
export interface SemverConstraint {
  /** The constraint as written. */
  readonly text: string;
  /** Whether `v` satisfies it (prereleases only where the OR-group names one). */
  check(v: SemVersion): boolean;
}

export type ConstraintResult = { ok: true; constraint: SemverConstraint } | { ok: false; error: string };

/** Parses a constraint as Masterminds `NewConstraint` does; an invalid one is an error value whose
 * message says what is wrong, never a constraint that admits anything. */
export function parseConstraint(text: string): ConstraintResult {
  if (text.length > MAX_CONSTRAINT_LENGTH) {
    return {
      ok: false,
      error: `the constraint is too long (${text.length} characters; the limit is ${MAX_CONSTRAINT_LENGTH})`,
    };
  }
  const groupsOut: { comparators: Comparator[]; pre: boolean }[] = [];
  for (const part of rewriteRange(text).split("||")) {
    if (!validRe.matcher(part).find()) return { ok: false, error: `improper constraint: "${part.trim()}"` };
    const found: string[] = [];
    const m = findRe.matcher(part);
    while (m.find()) found.push(m.group(0) ?? "");
    if (found.length === 0) found.push(part);
    const comparators: Comparator[] = [];
    let pre = false;
    for (const s of found) {
      const c = parseComparator(s);
      if (typeof c === "string") return { ok: false, error: c };
      if (c.con.pre !== "") pre = true;
      comparators.push(c);
    }
    groupsOut.push({ comparators, pre });
  }
  return {
    ok: true,
    constraint: {
      text,
      check: (v) => groupsOut.some((g) => g.comparators.every((c) => check(v, c, g.pre))),
    },
  };
}
