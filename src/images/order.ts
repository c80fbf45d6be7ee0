/**
 * Which tag is newer, by the filter's ordering (Flux v1): `semver:` by version (between equal
 * versions the more explicit tag), `glob:`/`regex:` by image creation time. A creation time that is
 * missing, zero or 1970 (reproducible builds), or shared by different images, cannot order: that is
 * an answer ("cannot order", with the tags), never a guess.
 */
import type { TagFilter } from "../core/release.js";
import { compareSemverTags, compareVersions, parseVersion, type SemVersion } from "../core/semver.js";
import type { TagTime } from "./scan-result.js";

/** True when the filter orders candidates by creation time, so the scanner must read timestamps. */
export function needsTimestamps(filter: TagFilter): boolean {
  return filter.kind !== "semver";
}

/** A creation time that can order images: after 1970-01-02 (zero and epoch are what reproducible
 * builds write) and a real date. */
export function usableTime(d: Date | undefined): d is Date {
  return d !== undefined && !Number.isNaN(d.getTime()) && d.getTime() > 86_400_000;
}

/** The answer to "what is the newest candidate, and is it newer than what runs?". */
export type NewestResult =
  /** `tag` is strictly newer than the running tag. */
  | { kind: "newer"; tag: string; created?: Date }
  /** Nothing is newer than the running tag (`newest` is the best candidate, if any). */
  | { kind: "current"; newest?: string }
  /** The tags cannot be ordered; `tags` are those at fault. */
  | { kind: "cannot-order"; message: string; tags: string[] }
  /** No tag passes the filter. */
  | { kind: "none" };

/**
 * Semver ordering: the highest candidate that parses, compared with the running tag by version
 * (an equal version is not newer, so `1.3` never "moves" to `1.3.0`). A running tag that is not a
 * version cannot be compared, so nothing is newer than it: cannot order.
 */
export function newestBySemver(candidates: readonly string[], running: string): NewestResult {
  let best: { tag: string; v: SemVersion } | undefined;
  for (const tag of candidates) {
    const v = parseVersion(tag);
    if (!v) continue;
    if (!best || compareSemverTags(tag, v, best.tag, best.v) > 0) best = { tag, v };
  }
  if (!best) return { kind: "none" };
  const cur = parseVersion(running);
  if (!cur) {
    return {
      kind: "cannot-order",
      message: `the running tag ${running} is not a semantic version, so no candidate can be shown to be newer`,
      tags: [running],
    };
  }
  return compareVersions(best.v, cur) > 0
    ? { kind: "newer", tag: best.tag }
    : { kind: "current", newest: best.tag };
}

/**
 * Creation-time ordering over `candidates` (the tags the filter admits) and the running tag.
 * Newer means strictly later than the running image. Cannot order when the running image or any
 * candidate has no usable time, or when the latest time is shared by different images (or by
 * several tags of one image that is not the running one: which name would be a guess).
 */
export function newestByTime(
  candidates: readonly string[],
  running: string,
  times: ReadonlyMap<string, TagTime>,
): NewestResult {
  if (candidates.length === 0) return { kind: "none" };
  const cur = times.get(running);
  if (!usableTime(cur?.created)) {
    return {
      kind: "cannot-order",
      message: `the running image ${running} has no usable creation time (missing, zero or 1970)`,
      tags: [running],
    };
  }
  const untimed = candidates.filter((t) => !usableTime(times.get(t)?.created));
  if (untimed.length > 0) {
    return {
      kind: "cannot-order",
      message: `${untimed.length} candidate image(s) have no usable creation time (missing, zero or 1970): ${preview(untimed)}`,
      tags: untimed,
    };
  }
  let max = cur.created.getTime();
  for (const t of candidates) max = Math.max(max, times.get(t)?.created?.getTime() ?? 0);
  const top = [...new Set([...candidates, running])].filter((t) => times.get(t)?.created?.getTime() === max);
  const digests = new Set(top.map((t) => times.get(t)?.digest ?? `tag:${t}`));
  if (top.includes(running) && digests.size === 1) {
    const newest = candidates.find((t) => top.includes(t));
    return newest ? { kind: "current", newest } : { kind: "current" };
  }
  if (top.length === 1 && top[0] !== undefined) {
    const created = times.get(top[0])?.created;
    return created ? { kind: "newer", tag: top[0], created } : { kind: "newer", tag: top[0] };
  }
  return {
    kind: "cannot-order",
    message: `${top.length} tags have the same creation time ${new Date(max).toISOString()}: ${preview(top)}`,
    tags: top,
  };
}

/** Candidates newest first, for display (`images <app> <env>`): by version for semver (non-versions
 * dropped), else by time (untimed last, in the order given). */
export function sortNewestFirst(
  filter: TagFilter,
  candidates: readonly string[],
  times: ReadonlyMap<string, TagTime>,
): string[] {
  if (filter.kind === "semver") {
    return candidates
      .map((t) => ({ t, v: parseVersion(t) }))
      .filter((x): x is { t: string; v: SemVersion } => x.v !== undefined)
      .sort((a, b) => compareSemverTags(b.t, b.v, a.t, a.v))
      .map((x) => x.t);
  }
  const at = (t: string) => {
    const c = times.get(t)?.created;
    return usableTime(c) ? c.getTime() : -1;
  };
  return [...candidates].sort((a, b) => at(b) - at(a));
}

function preview(tags: readonly string[]): string {
  return tags.length > 5 ? `${tags.slice(0, 5).join(", ")}, …` : tags.join(", ");
}
