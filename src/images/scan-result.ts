/**
 * What the planner needs to know about repositories, and what the scanner answers: the shared types
 * between `wantedScans` (src/images/plan.ts), `ImageScanner` (src/images/scan.ts) and `planImageUpdates`.
 */
import type { TagFilter } from "../core/release.js";

/** A repository as the registry client addresses it: `host` (`docker.io`, `127.0.0.1:5000`) and
 * `path` (`library/nginx`), both normalised. `key` is `host/path`, one per repository. */
export interface RepositoryId {
  key: string;
  host: string;
  path: string;
}

/** One repository to scan, once, for every container that uses it. */
export interface ScanRequest {
  repository: RepositoryId;
  /** The filters that order by creation time (glob/regex) of the containers using this repository:
   * timestamps are read only for tags one of them admits. Empty: a listing is all that is needed. */
  timeFilters: TagFilter[];
  /** The running tags under a time filter: their timestamps are needed to refuse going backwards. */
  runningTags: string[];
}

/** When an image was built, as far as the registry says (per tag). */
export interface TagTime {
  /** Manifest digest the tag pointed to when its time was read. */
  digest?: string;
  /** Undefined when the image has no usable time (none, zero, 1970). */
  created?: Date;
  /** Where `created` came from: the config's `created`, or a label that overrides it. */
  source?: "config" | "label";
  /** Set when reading this tag's time failed (the message names registry and repository). */
  error?: string;
}

/** The outcome of scanning one repository. A failed or incomplete listing is `ok: false`: the
 * planner never acts on it. */
export type RepositoryScan =
  | {
      ok: true;
      repository: RepositoryId;
      /** Every tag of the repository (a complete listing). */
      tags: string[];
      /** Times of the tags a time filter admits (and the running ones); absent for others. */
      times: Map<string, TagTime>;
    }
  | {
      ok: false;
      repository: RepositoryId;
      error: string;
      /** True when retrying cannot help until something changes (repository not found, credentials
       * refused): a fix of the image name or the config, not a registry outage. */
      permanent?: boolean;
    };

/** Docker Hub's names: image references say `docker.io`, its notifications and API other hosts. */
const DOCKER_HUB = new Set([
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com",
]);

/** `host[:port]` split, lowercased, Docker Hub's aliases as `docker.io`. */
function hostParts(host: string): { name: string; port?: string } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host.toLowerCase());
  const name = m?.[1] ?? host.toLowerCase();
  if (DOCKER_HUB.has(name)) return { name: "docker.io" };
  return m?.[2] ? { name, port: m[2] } : { name };
}

/**
 * Whether a repository a registry notification names (`host/path`) is `scanned`, the repository of
 * an image reference: the same path on the same registry, where Docker Hub's hosts are one
 * (`registry-1.docker.io/library/nginx` = `docker.io/library/nginx`) and a port missing on one side
 * is not a difference (registries behind a proxy report their host without it).
 */
export function notifiedRepositoryIs(notified: string, scanned: RepositoryId): boolean {
  const slash = notified.indexOf("/");
  if (slash < 0) return false;
  const a = hostParts(notified.slice(0, slash));
  const b = hostParts(scanned.host);
  let path = notified.slice(slash + 1);
  if (a.name === "docker.io" && !path.includes("/")) path = `library/${path}`;
  if (a.name !== b.name || path !== scanned.path) return false;
  return a.port === undefined || b.port === undefined || a.port === b.port;
}
