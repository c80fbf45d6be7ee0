/**
 * The config repo port (DESIGN.md `ConfigRepo`). Implementations: `GitConfigRepo` over a remote
 * (HTTP(S)) or a local path, with a native-git or isomorphic-git backend.
 *
 * Guarantees of `commit`:
 * - edits run against the latest HEAD of the branch (the clone is re-synced first);
 * - writes to one repo are serialized in this process;
 * - on a rejected push the edits are re-applied on the new HEAD (bounded, with jitter); never a force push;
 * - if an edit throws (e.g. a `UserError` because the file vanished upstream) nothing is committed;
 * - an edit that changes nothing produces no commit (`CommitResult.sha` is undefined);
 * - `dryRun` computes the diff and commits nothing.
 */

/** A person: the chat user who acted (author) or approved. */
export interface Identity {
  name: string;
  email: string;
}

/** Read/write view of the files at the commit being built. Paths are repo-relative, `/`-separated,
 * and may never leave the repo root (`..`, absolute paths and symlinks are refused). */
export interface FileAccess {
  read(path: string): Promise<string | undefined>;
  write(path: string, content: string): Promise<void>;
  remove(path: string): Promise<void>;
  list(dir: string): Promise<string[]>;
}

/** An edit function: reads and writes files. It may be run more than once (after a rejected push),
 * so it must be a pure function of the files it reads. */
export type Edit = (files: FileAccess) => Promise<void>;

export interface Change {
  /** First line of the commit message, e.g. `[prod/podinfo] promote stg-9ij63o4c from stg`. */
  subject: string;
  body?: string;
  author: Identity;
  /** Audit trailers, e.g. `Gitops-Action: promote`. Repeated keys allowed (Approved-By). */
  trailers: [string, string][];
  edits: Edit[];
  dryRun?: boolean;
  /** The chat invocation that asked for it, for the "committed and pushed" log line (not in the message). */
  invocation?: string;
}

export interface CommitResult {
  /** The pushed commit, or undefined for a dry run or when nothing changed. */
  sha?: string;
  /** The commit the change was applied on. */
  parent: string;
  /** Unified diff of the change (also for dry runs). */
  diff: string;
  /** Repo-relative paths changed. */
  files: string[];
  /** How many times the push was retried after a rejection. */
  retries: number;
}

export interface CommitInfo {
  sha: string;
  parents: string[];
  subject: string;
  body: string;
  author: Identity & { time: string };
  committer: Identity & { time: string };
  trailers: [string, string][];
}

export interface LogFilter {
  /** Only commits touching one of these paths. */
  paths?: string[];
  /** Max commits, newest first. */
  limit?: number;
  /** Start from this commit instead of HEAD. */
  from?: string;
}

export interface ConfigRepo {
  /** Fetches the remote and returns the branch head SHA. */
  sync(): Promise<string>;
  /** Current branch head SHA as last synced (no network). */
  head(): Promise<string>;
  /** File content at `at` (default: head), or undefined when absent. */
  read(path: string, at?: string): Promise<string | undefined>;
  /** Files (repo-relative paths, recursive) under `dir` at `at` (default: head). Symbolic links
   * and submodules are not files: they are never listed nor read. */
  list(dir: string, at?: string): Promise<string[]>;
  /** Symbolic links under `dir` at `at`, so readers can say why such a path is not used. */
  links?(dir: string, at?: string): Promise<string[]>;
  commit(change: Change): Promise<CommitResult>;
  log(filter?: LogFilter): Promise<CommitInfo[]>;
  /** Unified diff between two commits, limited to `paths` when given. */
  diff(from: string, to: string, paths?: string[]): Promise<string>;
  /** Web or clone URL with credentials removed, for commit links. */
  readonly publicUrl: string;
  close(): Promise<void>;
}
