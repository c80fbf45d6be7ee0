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
