import { resolve } from "node:path";
import type { RepoConfig } from "../config/schema.js";
import { isUserError, StalledError, TransientError, UserError } from "../core/errors.js";
import type { Metrics } from "../core/metrics.js";
import { printable } from "../core/names.js";
import { type Clock, type Logger, systemClock } from "../core/ports.js";
import { Redactor } from "../core/redact.js";
import type { Change, CommitInfo, CommitResult, ConfigRepo, Identity, LogFilter } from "./config-repo.js";
import type { GitBackend, TreeFile } from "./git/backend.js";
import { backoff } from "./git/backoff.js";
import { createBackend, defaultWorkdir } from "./git/create-backend.js";
import { formatCommitMessage, parseCommitMessage, sanitizeIdentity } from "./git/message.js";
import { Mutex } from "./git/mutex.js";
import { NativeGitBackend } from "./git/native-backend.js";
import { logged, type Observed, pushRetriesCounter } from "./git/observe.js";
import { normalizeRepoPath } from "./git/paths.js";
import { resolveRemote } from "./git/remote.js";
import { type ReadyOptions, RemoteHealth } from "./git/remote-health.js";
import { TreeCache } from "./git/tree-cache.js";
import { TreeFileAccess } from "./git/tree-file-access.js";
import { changeDiff } from "./git/unified-diff.js";
import { WorkdirLock } from "./git/workdir-lock.js";

/** Dependencies of `GitConfigRepo.open`. `random` and `sleep` exist for tests of the retry backoff,
 * `gitAvailable` for tests of `backend: auto` (default: runs `git --version`). */
export interface GitConfigRepoDeps {
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  gitAvailable?: () => Promise<boolean>;
  /** Where `gitops_git_push_retries_total` is counted (the HTTP server's registry). */
  metrics?: Metrics;
}

/** Per-workdir locks: two instances on one working clone (same process) must not interleave writes. */
const workdirLocks = new Map<string, Mutex>();

/** One commit built and offered to the remote, with what `published` needs to report it. */
interface Attempt {
  sha: string;
  base: string;
  files: Map<string, TreeFile>;
  changed: Map<string, TreeFile | null>;
  paths: string[];
  diff: string;
}

/** What serializes the writes to one working clone: `run(fn)` runs `fn` alone. */
type WriteLock = Pick<Mutex, "run">;

/**
 * `ConfigRepo` over git (DESIGN.md). `repo.url` is either an HTTP(S) URL, cloned into
 * `repo.workdir` (a bare clone: the bot never checks files out), or a local path to a repo that is
 * committed to directly on `repo.branch` (the demo; its checkout is fast-forwarded when that
 * branch is checked out).
 *
 * How `commit` works: under a per-workdir mutex it fetches the branch, runs the edits against a
 * copy-on-write view of the head commit's tree, writes only the changed blobs, builds the new tree
 * from the old one plus those blobs (no work tree scan), creates the commit (author = the acting
 * user, committer = `repo.author`), and pushes it without force. When the push loses a race it
 * starts over from a fresh fetch, up to `repo.pushRetries` times with jittered exponential backoff.
 *
 * Reads (`read`, `list`, `log`, `diff`) do not take the lock and work at any commit. Errors are
 * `UserError` (bad credentials, missing repo or branch, bad path), `TransientError` (unreachable
 * server, retries exhausted) or internal; no message or log line carries a credential.
 */
export class GitConfigRepo implements ConfigRepo {
  readonly publicUrl: string;
  /** The implementation in use (`backend: auto` resolved). */
  readonly backendName: "native" | "isomorphic";
  private headSha: string;
  /** Full SHAs known to be commits in this repo. */
  private readonly resolvedShas = new Set<string>();
  /** Recent `log` results by (commit, paths, limit), least recently used first. */
  private readonly logs = new Map<string, CommitInfo[]>();
  private readonly trees = new TreeCache(8);
  private writesSinceMaintenance = 0;
  private closed = false;
  /** When the remote last answered, for `ready()`. */
  private readonly health: RemoteHealth;

  private constructor(
    private readonly cfg: RepoConfig,
    private readonly backend: GitBackend,
    private readonly lock: WriteLock,
    private readonly deps: Required<Omit<GitConfigRepoDeps, "gitAvailable" | "metrics">> & Observed,
    private readonly redactor: Redactor,
    head: string,
    publicUrl: string,
  ) {
    this.publicUrl = publicUrl;
    this.backendName = backend.name;
    this.headSha = head;
    this.health = new RemoteHealth(
      () => deps.clock.now().getTime(),
      () => this.sync(),
    );
    this.health.ok(); // `open` has just fetched
  }

  /**
   * Opens the repo: resolves the backend, creates or re-uses the working clone, and fetches the
   * branch. Throws `UserError` for bad credentials, a missing repo or branch, `TransientError`
   * when the server cannot be reached, `StalledError` for an unusable workdir/backend.
   */
  static async open(cfg: RepoConfig, deps: GitConfigRepoDeps): Promise<GitConfigRepo> {
    const remote = resolveRemote(cfg);
    const redactor = new Redactor([
      ...remote.secrets,
      cfg.auth?.password,
      cfg.auth?.token,
      cfg.ssh?.privateKey,
    ]);
    const workdir = resolve(cfg.workdir ?? defaultWorkdir(remote.publicUrl, cfg.branch));
    const logger = deps.logger.child({ component: "config-repo", repo: remote.publicUrl });
    const backend = await createBackend(
      cfg.backend,
      { remote, branch: cfg.branch, workdir, logger, redactor },
      deps.gitAvailable ?? NativeGitBackend.available,
    );
    const lockKey = remote.kind === "local" ? remote.url : workdir;
    let mutex = workdirLocks.get(lockKey);
    if (!mutex) {
      mutex = new Mutex();
      workdirLocks.set(lockKey, mutex);
    }
    // A clone may also be shared with other processes (parallel `cmd` jobs): in this process the
    // mutex queues the writers, across processes the lock directory next to the clone does. A local
    // repo needs neither across processes: its branch moves with a compare-and-swap.
    const shared = remote.kind === "local" ? undefined : new WorkdirLock(workdir);
    const inProcess = mutex;
    const lock: WriteLock = shared ? { run: (fn) => inProcess.run(() => shared.run(fn)) } : inProcess;
    const started = Date.now();
    const head = await lock
      .run(async () => {
        await backend.open();
        return backend.fetchHead();
      })
      .catch(async (e: unknown) => {
        // Release what open() started (cat-file, the SSH key copy) before reporting the failure.
        await backend.close().catch(() => undefined);
        throw e;
      });
    logger.info({ backend: backend.name, head, ms: Date.now() - started, workdir }, "config repo ready");
    return new GitConfigRepo(
      cfg,
      backend,
      lock,
      {
        logger,
        clock: deps.clock ?? systemClock,
        random: deps.random ?? Math.random,
        sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
        pushRetries: pushRetriesCounter(deps.metrics),
      },
      redactor,
      head,
      remote.publicUrl,
    );
  }

  /** Fetches the branch and returns its head (serialized with writes). */
  sync(): Promise<string> {
    return this.lock.run(() => this.refresh());
  }

  /**
   * Readiness (`/readyz`): true when the remote answered a fetch or push within `maxAgeMs` (default
   * 60 s) and no fetch has failed since; otherwise fetches now, answering within `timeoutMs`
   * (default 1.5 s, under the HTTP server's per-check timeout) even when the server hangs.
   */
  ready(o: ReadyOptions = {}): Promise<boolean> {
    return this.closed ? Promise.resolve(false) : this.health.ready(o);
  }

  /** Head as of the last sync or commit; no network. */
  async head(): Promise<string> {
    return this.headSha;
  }

  async read(path: string, at?: string): Promise<string | undefined> {
    const p = normalizeRepoPath(path);
    const commit = await this.commitAt(at);
    const files = await this.tree(commit);
    const f = files.get(p);
    if (!f || f.mode === "160000") return undefined;
    if (f.mode === "120000") {
      throw new UserError(`refusing path "${printable(p)}": is a symlink`, { code: "bad-path" });
    }
    return (await this.backend.readBlob(f.oid)).toString("utf8");
  }

  async list(dir: string, at?: string): Promise<string[]> {
    const d = normalizeRepoPath(dir, { allowRoot: true });
    const prefix = d === "" ? "" : `${d}/`;
    const files = await this.tree(await this.commitAt(at));
    const out: string[] = [];
    for (const [p, f] of files)
      if (p.startsWith(prefix) && f.mode !== "120000" && f.mode !== "160000") out.push(p);
    return out.sort();
  }

  async links(dir: string, at?: string): Promise<string[]> {
    const d = normalizeRepoPath(dir, { allowRoot: true });
    const prefix = d === "" ? "" : `${d}/`;
    const files = await this.tree(await this.commitAt(at));
    const out: string[] = [];
    for (const [p, f] of files) if (p.startsWith(prefix) && f.mode === "120000") out.push(p);
    return out.sort();
  }

  commit(change: Change): Promise<CommitResult> {
    if (this.closed) return Promise.reject(new Error("config repo is closed"));
    // Validate before queueing so a bad change fails fast and never holds the lock.
    let message: string;
    let author: Identity;
    let committer: Identity;
    try {
      message = formatCommitMessage(change);
      author = sanitizeIdentity(change.author);
      committer = sanitizeIdentity(this.cfg.author);
    } catch (e) {
      return Promise.reject(e);
    }
    const result = this.lock.run(() => this.commitLocked(change, message, author, committer));
    void result.then(
      () => this.afterWrite(),
      () => {},
    );
    return result;
  }

  async log(filter: LogFilter = {}): Promise<CommitInfo[]> {
    const from = await this.commitAt(filter.from);
    const paths = filter.paths?.map((p) => normalizeRepoPath(p, { allowRoot: true })).filter((p) => p !== "");
    if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit < 0)) {
      throw new UserError("log limit must be a non-negative integer", { code: "bad-limit" });
    }
    // History from a given commit never changes, so a log is cached by (commit, paths, limit):
    // read-only chat commands (`history`, `rollback`'s lookup) then start no git process while the
    // head stands still — a spawn blocks the event loop that also acks Slack requests.
    const key = JSON.stringify([from, paths ?? [], filter.limit ?? null]);
    const hit = this.logs.get(key);
    if (hit) {
      this.logs.delete(key);
      this.logs.set(key, hit);
      return structuredClone(hit);
    }
    const raw = await this.backend.log(from, { paths, limit: filter.limit });
    const out = raw.map((c): CommitInfo => {
      const m = parseCommitMessage(c.message);
      return { ...c, subject: m.subject, body: m.body, trailers: m.trailers };
    });
    if (this.logs.size >= 64) this.logs.delete(this.logs.keys().next().value as string);
    this.logs.set(key, out);
    return structuredClone(out);
  }

  async diff(from: string, to: string, paths?: string[]): Promise<string> {
    const [a, b] = await Promise.all([this.commitAt(from), this.commitAt(to)]);
    const ps = paths?.map((p) => normalizeRepoPath(p, { allowRoot: true })).filter((p) => p !== "");
    return this.backend.diff(a, b, ps);
  }

  /** Waits for queued writes, then releases the backend (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lock.run(async () => {});
    await this.backend.close();
  }

  // ---- internals ----

  private async refresh(): Promise<string> {
    try {
      this.headSha = await this.backend.fetchHead();
    } catch (e) {
      this.health.failed();
      throw e;
    }
    this.health.ok();
    return this.headSha;
  }

  private async commitLocked(
    change: Change,
    message: string,
    author: Identity,
    committer: Identity,
  ): Promise<CommitResult> {
    const started = Date.now();
    let retries = 0;
    let previous: Attempt | undefined;
    for (;;) {
      const base = await this.refresh();
      // A push reported as rejected may have landed after all: its answer was lost and git's
      // retry of it was refused because the branch already was at our commit.
      if (previous && (await this.contains(base, previous.sha)))
        return this.published(previous, retries - 1, started, change);
      const files = await this.tree(base);
      const view = new TreeFileAccess(files, (oid) => this.backend.readBlob(oid));
      // An edit that throws aborts the change: nothing has been written yet but blobs in memory.
      for (const edit of change.edits) await edit(view);

      const contents = view.changes();
      const changed = await this.writeBlobs(contents, view);
      const paths = [...changed.keys()].sort();
      if (changed.size === 0) {
        this.deps.logger.debug({ subject: change.subject }, "edit changed nothing; no commit");
        return { parent: base, diff: "", files: [], retries };
      }

      // The diff comes from the contents at hand (no git process on the hot path). It is computed
      // before the push so that nothing can fail after the commit is published.
      const diff = await changeDiff(paths, changed, contents, view, (oid) => this.backend.readBlob(oid));
      if (change.dryRun) return { parent: base, diff, files: paths, retries };

      const tree = await this.backend.writeTree(base, changed);
      const now = Math.floor(this.deps.clock.now().getTime() / 1000);
      const sha = await this.backend.writeCommit({
        tree,
        parents: [base],
        message,
        author: { ...author, timestamp: now },
        committer: { ...committer, timestamp: now },
      });
      const attempt: Attempt = { sha, base, files, changed, paths, diff };
      if ((await this.publish(sha, base)) === "ok") return this.published(attempt, retries, started, change);
      previous = attempt;

      retries++;
      this.deps.pushRetries?.inc();
      if (retries > this.cfg.pushRetries) {
        throw new TransientError(
          `push to ${this.publicUrl} (${this.cfg.branch}) was rejected ${retries} times: other writers keep moving the branch`,
        );
      }
      const delay = backoff(retries, this.deps.random);
      this.deps.logger.debug(
        { retries, delayMs: delay, parent: base },
        "push lost a race; re-applying on the new head",
      );
      await this.deps.sleep(delay);
    }
  }

  /** Stores the changed contents as blobs; the entries that differ from the base (null: deleted). */
  private async writeBlobs(
    contents: Map<string, string | null>,
    view: TreeFileAccess,
  ): Promise<Map<string, TreeFile | null>> {
    const changed = new Map<string, TreeFile | null>();
    await Promise.all(
      [...contents].map(async ([path, content]) => {
        const old = view.baseEntry(path);
        if (content === null) {
          if (old) changed.set(path, null);
          return;
        }
        const oid = await this.backend.writeBlob(Buffer.from(content, "utf8"));
        const mode = old && old.mode !== "120000" && old.mode !== "160000" ? old.mode : "100644";
        if (!old || old.oid !== oid || old.mode !== mode) changed.set(path, { mode, oid });
      }),
    );
    return changed;
  }

  /** The commit is on the branch: remember it and report it. */
  private published(a: Attempt, retries: number, started: number, change: Change): CommitResult {
    this.headSha = a.sha;
    this.health.ok();
    // The new commit's listing is the base's plus our changes: no need to read it back.
    const next = new Map(a.files);
    for (const [p, f] of a.changed) {
      if (f) next.set(p, f);
      else next.delete(p);
    }
    this.trees.set(a.sha, Promise.resolve(next));
    this.deps.logger.info(
      { sha: a.sha, parent: a.base, files: a.paths, retries, ms: Date.now() - started, ...logged(change) },
      "committed and pushed",
    );
    return { sha: a.sha, parent: a.base, diff: a.diff, files: a.paths, retries };
  }

  /**
   * Publishes `sha` (a push, or the local branch move). When the answer is lost (the connection
   * broke after the server may have applied the push), fetches and looks for the commit: if it
   * landed, the commit is done — reporting a failure would make the retry fail as a duplicate
   * ("already locked") and drop the commit event. A refusal is an answer, so it is not checked.
   */
  private async publish(sha: string, base: string): Promise<"ok" | "rejected"> {
    try {
      return await this.backend.publish(sha, base);
    } catch (e) {
      if (isUserError(e) || e instanceof StalledError) throw e;
      const landed = await this.refresh().then(
        (head) => this.contains(head, sha),
        () => false,
      );
      if (!landed) throw e;
      this.deps.logger.warn(
        { sha, err: this.redactor.value(e) },
        "the push's answer was lost, but the commit landed",
      );
      return "ok";
    }
  }

  /** True when `head` is `sha` or has it in its recent history (another writer may have built on it). */
  private async contains(head: string, sha: string): Promise<boolean> {
    if (head === sha) return true;
    return (await this.backend.log(head, { limit: 200 })).some((c) => c.sha === sha);
  }

  private afterWrite(): void {
    // Loose objects pile up with every fetch and commit; let git pack them now and then, off the hot path.
    if (++this.writesSinceMaintenance < 100) return;
    this.writesSinceMaintenance = 0;
    void this.lock
      .run(() => this.backend.maintenance())
      .catch((e: unknown) =>
        this.deps.logger.warn({ err: this.redactor.value(e) }, "git maintenance failed"),
      );
  }

  /** Resolves `at` (default: head) to a commit SHA; `UserError` for an unknown or malformed revision. */
  private async commitAt(at: string | undefined): Promise<string> {
    if (at === undefined || at === "") return this.headSha;
    // `HEAD` and the branch name mean the synced head (the clone has no local branch to resolve).
    if (at === "HEAD" || at === this.cfg.branch || at === this.headSha) return this.headSha;
    // A full SHA names the same commit forever: resolve it once (a sync reads every file at one
    // SHA, and each resolution is a git process).
    const full = /^[0-9a-f]{40}$/.test(at);
    if (full && this.resolvedShas.has(at)) return at;
    if (/^HEAD[~^]/.test(at)) at = this.headSha + at.slice(4);
    if (at.startsWith("-") || /[\s\u0000-\u001f\u007f:]|\.\.|@\{/.test(at) || at.length > 256) {
      throw new UserError(`"${printable(at)}" is not a valid revision`, { code: "bad-revision" });
    }
    const sha = await this.backend.resolveCommit(at);
    if (!sha) {
      throw new UserError(`unknown revision "${printable(at)}" in the config repo`, {
        code: "unknown-revision",
        hint: "Use a commit SHA from the history.",
      });
    }
    if (full && sha === at) {
      if (this.resolvedShas.size >= 4096) this.resolvedShas.clear();
      this.resolvedShas.add(at);
    }
    return sha;
  }

  private tree(commit: string): Promise<Map<string, TreeFile>> {
    return this.trees.get(commit, () => this.backend.listTree(commit));
  }
}
