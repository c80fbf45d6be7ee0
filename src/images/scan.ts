/**
 * The image scanner: answers `ScanRequest`s (src/images/plan.ts `wantedScans`) over a
 * `RegistryClient`, as cheaply as the registry allows.
 *
 * - One complete tag listing per repository per scan (a failed or incomplete listing is a failed
 *   scan, never a partial one).
 * - Timestamps only for tags a time-ordering filter (glob/regex) admits and for the running tags.
 *   A tag seen before costs nothing: tag -> digest and digest -> time are cached (`ScanCache`), the
 *   time for good (a digest's content never changes). So a steady-state rescan makes no manifest or
 *   blob request, and a new tag costs one manifest GET (two for a multi-arch index) and one config
 *   blob GET.
 * - A tag is assumed to keep its digest once seen (re-pushing a tag is not detected; a webhook for
 *   it should `forgetTag`): the cost of not sending a HEAD per tag per scan.
 * - Per-registry concurrency, request rate and `Retry-After` are the client's budget; after a rate
 *   limit error the rest of that repository's timestamps are not asked for in this scan.
 * - A scan limited to some repositories (`ScanOptions.relist`: a registry webhook named them) lists
 *   only those; the others reuse this process's last complete listing of them (a listing is never
 *   reused across a failed one: a failure drops it), and are listed when there is none yet.
 */

import { StalledError } from "../core/errors.js";
import { matchesTagFilter } from "../gitops/tag-filter.js";
import type { Platform, RegistryClient } from "../registry/client.js";
import type { RepositoryId, RepositoryScan, ScanRequest, TagTime } from "./scan-result.js";

/** Where the scanner keeps what it learned (in memory by default; inject a persistent one so a
 * restart does not re-read every timestamp). */
export interface ScanCache {
  /** The digest `tag` had in `repository` when last read. */
  digestOf(repository: string, tag: string): string | undefined;
  setDigest(repository: string, tag: string, digest: string): void;
  /** What is known about a digest's image for a platform (`key` = `digest platform`). */
  timeOf(key: string): TagTime | undefined;
  setTime(key: string, time: TagTime): void;
  /** Forgets a tag (it was re-pushed): the next scan reads it again. */
  forgetTag(repository: string, tag: string): void;
}

/** A `ScanCache` in memory: fine for one process; it holds one small entry per tag and digest. */
export class InMemoryScanCache implements ScanCache {
  private readonly digests = new Map<string, string>();
  private readonly times = new Map<string, TagTime>();

  digestOf(repository: string, tag: string): string | undefined {
    return this.digests.get(`${repository}:${tag}`);
  }
  setDigest(repository: string, tag: string, digest: string): void {
    this.digests.set(`${repository}:${tag}`, digest);
  }
  timeOf(key: string): TagTime | undefined {
    return this.times.get(key);
  }
  setTime(key: string, time: TagTime): void {
    this.times.set(key, time);
  }
  forgetTag(repository: string, tag: string): void {
    this.digests.delete(`${repository}:${tag}`);
  }
}

export interface ImageScannerOptions {
  client: RegistryClient;
  cache?: ScanCache;
  /** The platform whose image of a multi-arch index gives the time (default linux/amd64). */
  platform?: Platform;
  /** Repositories scanned at once (default 4); each registry's own budget still applies. */
  concurrency?: number;
  /** Timestamp reads in flight per repository (default 8). */
  tagConcurrency?: number;
}

/** How one `scan` lists tags. */
export interface ScanOptions {
  /** List only these repositories (keys); reuse the last listing of the others when there is one. */
  relist?: ReadonlySet<string>;
}

/** Scans repositories for the planner (see the file comment). */
export class ImageScanner {
  readonly cache: ScanCache;
  private readonly platform: Platform;
  /** The last complete tag listing of each repository (for `ScanOptions.relist`). */
  private readonly listings = new Map<string, string[]>();

  constructor(private readonly opts: ImageScannerOptions) {
    this.cache = opts.cache ?? new InMemoryScanCache();
    this.platform = opts.platform ?? { os: "linux", architecture: "amd64" };
  }

  /** Scans every request (each repository once), by repository key. Never throws: a failure is
   * that repository's `ok: false` scan, with a message naming the registry and repository. */
  async scan(requests: readonly ScanRequest[], opts: ScanOptions = {}): Promise<Map<string, RepositoryScan>> {
    const byKey = new Map<string, ScanRequest>();
    for (const r of requests) {
      const seen = byKey.get(r.repository.key);
      if (!seen)
        byKey.set(r.repository.key, {
          ...r,
          timeFilters: [...r.timeFilters],
          runningTags: [...r.runningTags],
        });
      else {
        seen.timeFilters.push(...r.timeFilters);
        seen.runningTags.push(...r.runningTags);
      }
    }
    const out = new Map<string, RepositoryScan>();
    await pool([...byKey.values()], this.opts.concurrency ?? 4, async (r) => {
      out.set(r.repository.key, await this.scanOne(r, opts));
    });
    return out;
  }

  /** Scans one repository (see `scan`). */
  async scanOne(req: ScanRequest, opts: ScanOptions = {}): Promise<RepositoryScan> {
    const repo = req.repository;
    let tags: string[];
    try {
      const reuse = opts.relist && !opts.relist.has(repo.key) ? this.listings.get(repo.key) : undefined;
      tags = reuse ?? (await this.opts.client.tags({ host: repo.host, path: repo.path }));
      this.listings.set(repo.key, tags);
    } catch (err) {
      this.listings.delete(repo.key);
      const permanent = err instanceof StalledError;
      return {
        ok: false,
        repository: repo,
        error: messageFor(repo, err),
        ...(permanent ? { permanent } : {}),
      };
    }
    const listed = new Set(tags);
    const wanted = new Set<string>(req.runningTags.filter((t) => listed.has(t)));
    if (req.timeFilters.length > 0) {
      for (const t of tags) if (req.timeFilters.some((f) => matchesTagFilter(f, t))) wanted.add(t);
    }
    const times = new Map<string, TagTime>();
    let stop: string | undefined;
    await pool([...wanted], this.opts.tagConcurrency ?? 8, async (tag) => {
      if (stop) {
        times.set(tag, { error: stop });
        return;
      }
      const t = await this.timeOf(repo, tag);
      if (t.error && /rate limit|asked to wait/.test(t.error)) stop ??= t.error;
      times.set(tag, t);
    });
    return { ok: true, repository: repo, tags, times };
  }

  private platformKey(digest: string): string {
    const p = this.platform;
    return `${digest} ${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
  }

  private async timeOf(repo: RepositoryId, tag: string): Promise<TagTime> {
    const known = this.cache.digestOf(repo.key, tag);
    if (known) {
      const t = this.cache.timeOf(this.platformKey(known));
      if (t) return t;
    }
    try {
      const cfg = await this.opts.client.config({ host: repo.host, path: repo.path }, tag, this.platform);
      const t: TagTime = {
        ...(cfg.digest ? { digest: cfg.digest } : {}),
        ...(cfg.created ? { created: cfg.created } : {}),
        ...(cfg.createdFrom ? { source: cfg.createdFrom } : {}),
      };
      if (cfg.digest) {
        this.cache.setDigest(repo.key, tag, cfg.digest);
        this.cache.setTime(this.platformKey(cfg.digest), t);
      }
      return t;
    } catch (err) {
      return { error: messageFor(repo, err, tag) };
    }
  }
}

/** An error's message, prefixed with the repository when it does not name it already. */
function messageFor(repo: RepositoryId, err: unknown, tag?: string): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (msg.includes(repo.key)) return msg;
  return `${repo.key}${tag ? `:${tag}` : ""}: ${msg}`;
}

async function pool<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}
