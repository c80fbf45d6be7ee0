/**
 * Release history of one app in one env, read back from the config repo's log (issue #2). Commits
 * the bot made are read from their trailers; for foreign commits (a person editing the file, another
 * tool) the deployed tags are inferred by diffing the image values between the commit and its parent.
 * Rollback uses `previous` to find the version deployed before the current one.
 */
import type { AppInstance, Workload } from "../core/release.js";
import type { CommitInfo, ConfigRepo } from "./config-repo.js";
import { type DiscoveryOptions, discoverFile } from "./discovery.js";
import type { HistoryEntry } from "./operations.js";
import { parseTrailerBlock, readTrailers } from "./trailers.js";

/** A history entry plus what it replaced (for rollback). */
export interface HistoryRecord extends HistoryEntry {
  /** Tags before this commit for the containers it changed (absent when the container was new). */
  previous: { container: string; tag: string }[];
  /** Chart version/ref before this commit, when it changed. */
  chartPrevious?: string;
  /** The commit's parents (first parent first). */
  parents: string[];
}

/** Identifies the instance inside a file at another revision: same app+env, else same workload. */
export function sameInstance(target: AppInstance, candidate: AppInstance): boolean {
  return (
    (candidate.app === target.app && candidate.env === target.env) ||
    (candidate.workload.kind === target.workload.kind &&
      candidate.workload.name === target.workload.name &&
      candidate.workload.namespace === target.workload.namespace)
  );
}

/** Finds `target`'s instance in `text` (the file at some revision), or undefined. */
export function findInFile(
  target: AppInstance,
  text: string | undefined,
  opts: DiscoveryOptions,
): AppInstance | undefined {
  if (text === undefined) return undefined;
  const found = discoverFile(target.workload.file, text, opts).instances;
  const names = [target.app, ...(target.aliases ?? [])];
  const hit =
    found.find((c) => names.includes(c.app) && c.env === target.env) ??
    found.find((c) => sameInstance(target, c));
  // One file alone cannot tell whether the app is named after it or its chart: keep the model's names.
  return hit && { ...hit, app: target.app, ...(target.aliases ? { aliases: target.aliases } : {}) };
}

/** The chart "version" shown in history and compared by promote: the version, else the git ref. */
export function chartVersionOf(w: Workload | undefined): string | undefined {
  return w?.chart?.version ?? w?.chart?.ref;
}

/** Reads up to `limit` history entries (newest first) for `target`, scanning at most `scan` commits
 * that touch its file; `stop` ends the scan early once it returns true for an entry. */
export async function readHistory(
  repo: ConfigRepo,
  target: AppInstance,
  opts: DiscoveryOptions & { limit?: number; scan?: number; stop?: (rec: HistoryRecord) => boolean } = {},
): Promise<HistoryRecord[]> {
  const limit = opts.limit ?? 20;
  const file = target.workload.file;
  // Scan more commits than we return: foreign commits that change no image are skipped.
  const scan = opts.scan ?? Math.max(limit * 4, 50);
  const cache = new Map<string, Promise<string | undefined>>();
  const readAt = (sha: string) => {
    let p = cache.get(sha);
    if (!p) {
      p = repo.read(file, sha).catch(() => undefined);
      cache.set(sha, p);
    }
    return p;
  };
  const commits = await repo.log({ paths: [file], limit: scan });
  const out: HistoryRecord[] = [];
  for (const c of commits) {
    if (out.length >= limit) break;
    const rec = await entryFor(c, target, readAt, opts);
    if (rec) {
      out.push(rec);
      if (opts.stop?.(rec)) break;
    }
  }
  return out;
}

async function entryFor(
  c: CommitInfo,
  target: AppInstance,
  readAt: (sha: string) => Promise<string | undefined>,
  opts: DiscoveryOptions,
): Promise<HistoryRecord | undefined> {
  const t = readTrailers(c.trailers.length > 0 ? c.trailers : parseTrailerBlock(c.body));
  const ours = t.action !== undefined && t.envs.includes(target.env) && t.apps.includes(target.app);
  const after = findInFile(target, await readAt(c.sha), opts);
  const parent = c.parents[0];
  const before = parent ? findInFile(target, await readAt(parent), opts) : undefined;
  const images: { container: string; tag: string }[] = [];
  const previous: { container: string; tag: string }[] = [];
  if (after) {
    for (const img of after.workload.images) {
      const prev = before?.workload.images.find((i) => i.container === img.container);
      if (!prev || prev.tag !== img.tag) {
        images.push({ container: img.container, tag: img.tag });
        if (prev) previous.push({ container: prev.container, tag: prev.tag });
      }
    }
  } else if (ours) {
    // The file is gone or unreadable at that commit: fall back to what the trailers say.
    for (const i of t.images) {
      const colon = i.image.lastIndexOf(":");
      if (colon > i.image.lastIndexOf("/"))
        images.push({ container: i.container, tag: i.image.slice(colon + 1) });
    }
  }
  const chartAfter = chartVersionOf(after?.workload);
  const chartBefore = chartVersionOf(before?.workload);
  const chartChanged = after !== undefined && chartAfter !== chartBefore;
  if (!ours && images.length === 0 && !chartChanged) return undefined;
  const rec: HistoryRecord = {
    sha: c.sha,
    time: c.author.time,
    images,
    action: ours ? (t.action ?? "commit") : "commit",
    by: ours && t.requestedBy ? (t.requestedBy.name ?? t.requestedBy.id) : c.author.name,
    approvers: ours ? t.approvedBy.map((a) => a.name ?? a.id) : [],
    subject: c.subject,
    fromTrailers: ours,
    previous,
    parents: c.parents,
  };
  if (chartAfter !== undefined && (chartChanged || ours)) rec.chartVersion = chartAfter;
  if (chartChanged && chartBefore !== undefined) rec.chartPrevious = chartBefore;
  return rec;
}
