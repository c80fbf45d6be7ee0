import type { Identity } from "../config-repo.js";

/**
 * The internal interface between `GitConfigRepo` and a git implementation (native CLI or
 * isomorphic-git). It is plumbing-level on purpose: `GitConfigRepo` never touches a work tree,
 * it reads blobs at a commit, writes a new tree from a base tree plus changes, creates a commit
 * and publishes it with compare-and-swap semantics. That keeps the working clone clean by
 * construction and makes the per-write cost independent of the repo size.
 *
 * Paths given to a backend are already validated (`normalizeRepoPath`). Revisions are full SHAs
 * except in `resolveCommit`. All methods may be called concurrently, except `fetchHead`,
 * `writeTree` and `publish`, which `GitConfigRepo` serializes.
 */
export interface GitBackend {
  readonly name: "native" | "isomorphic";
  /** Creates or re-uses the working clone (remote mode) or checks the repo (local mode). */
  open(): Promise<void>;
  /** Re-syncs with the remote branch (local mode: re-reads it) and returns its head SHA.
   * Throws `UserError` (code `repo-branch`) when the branch does not exist. */
  fetchHead(): Promise<string>;
  /** Resolves a user-supplied revision (SHA, ref name, `HEAD~2`…) to a commit SHA, or undefined. */
  resolveCommit(rev: string): Promise<string | undefined>;
  /** Every file of the commit's tree with its mode and blob SHA (directories are implied). */
  listTree(commit: string): Promise<Map<string, TreeFile>>;
  /** The tree SHA of a commit. */
  treeOf(commit: string): Promise<string>;
  /** A blob's content. */
  readBlob(oid: string): Promise<Buffer>;
  /** Stores a blob and returns its SHA. */
  writeBlob(content: Buffer): Promise<string>;
  /** Writes the tree of commit `base` with `changes` applied (new mode + blob SHA, or null to
   * delete); returns the new tree's SHA. */
  writeTree(base: string, changes: Map<string, TreeFile | null>): Promise<string>;
  /** Creates a commit object (does not move any ref). */
  writeCommit(c: NewCommit): Promise<string>;
  /**
   * Moves the branch from `expected` to `commit` (a descendant of `expected`) on the remote (local
   * mode: in the repo, updating its work tree when the branch is checked out). Never forces.
   * Returns `rejected` when the branch no longer points at `expected` (another writer won).
   */
  publish(commit: string, expected: string): Promise<"ok" | "rejected">;
  /** Unified diff between two tree-ish SHAs (commit or tree), limited to `paths` when given. */
  diff(from: string, to: string, paths?: string[]): Promise<string>;
  /** Commits reachable from `from`, newest first, optionally only those touching `paths`. */
  log(from: string, opts: { paths?: string[]; limit?: number }): Promise<RawCommit[]>;
  /** Housekeeping (e.g. `git gc --auto`); called between writes, never on the hot path. */
  maintenance(): Promise<void>;
  close(): Promise<void>;
}

/** One file in a tree: git mode (`100644`, `100755`, `120000` symlink, `160000` submodule) and blob SHA. */
export interface TreeFile {
  mode: string;
  oid: string;
}

export interface Signature extends Identity {
  /** Seconds since the epoch. */
  timestamp: number;
}

export interface NewCommit {
  tree: string;
  parents: string[];
  message: string;
  author: Signature;
  committer: Signature;
}

/** A commit as read from history; the message is raw (trailers not parsed yet). */
export interface RawCommit {
  sha: string;
  parents: string[];
  message: string;
  author: Identity & { time: string };
  committer: Identity & { time: string };
}

/** Commits use UTC in the bot's own commits; times are read back as ISO 8601. */
export function isoTime(timestamp: number, offsetMinutes = 0): string {
  const d = new Date((timestamp + offsetMinutes * 60) * 1000);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  const tz =
    offsetMinutes === 0
      ? "Z"
      : `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return `${d.toISOString().slice(0, 19)}${tz}`;
}
