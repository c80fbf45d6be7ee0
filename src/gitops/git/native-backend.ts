import { mkdir, readdir } from "node:fs/promises";
import { StalledError, UserError } from "../../core/errors.js";
import type { Logger } from "../../core/ports.js";
import type { Redactor } from "../../core/redact.js";
import type { GitBackend, NewCommit, RawCommit, TreeFile } from "./backend.js";
import { classifyGitFailure } from "./errors.js";
import { CatFileBatch, GitCli, GitCommandError, type GitResult } from "./git-cli.js";
import {
  isTreeMode,
  parseTree,
  type RawTreeEntry,
  serializeCommit,
  serializeTree,
  writeLooseObject,
} from "./objects.js";
import type { RemoteSpec } from "./remote.js";
import { SshCommand } from "./ssh-command.js";

/** What both backends are built from. */
export interface BackendOptions {
  remote: RemoteSpec;
  branch: string;
  /** Where the working clone lives (remote mode). Unused in local mode. */
  workdir: string;
  logger: Logger;
  redactor: Redactor;
}

const LOG_FORMAT = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B";
const LOG_FIELDS = 9;
/** Reasons git gives when a push lost a race; anything else is a real refusal. */
const LOST_RACE =
  /fetch first|non-fast-forward|stale info|failed to update ref|cannot lock ref|failed to lock|but expected|incorrect old value/i;

/**
 * The git CLI backend. Remote mode keeps a bare clone in `workdir` (fetching only the one branch
 * into `refs/remotes/origin/<branch>`); local mode works on the repo on disk and moves its branch
 * with a compare-and-swap `update-ref`, updating the checkout when the branch is checked out.
 *
 * Credentials reach git only through the environment of the network commands
 * (`GIT_CONFIG_*` -> `http.<url>.extraHeader`), so they are never written to `.git/config`, never
 * appear in a process listing, and are sent only to the configured URL. SSH remotes go through a
 * generated `GIT_SSH` wrapper with the configured key and known_hosts (`ssh-command.ts`). Credential helpers from
 * the user's git config are disabled while explicit credentials are configured.
 *
 * The hot path of a commit runs only two git processes, `fetch` and `push`: objects are read
 * through one long-lived `git cat-file --batch`, and blobs, trees and the commit are encoded and
 * stored in process (`objects.ts`), since process start-up dominated the cost (ADR 0001).
 */
export class NativeGitBackend implements GitBackend {
  readonly name = "native" as const;
  private git!: GitCli;
  private batch!: CatFileBatch;
  private workTree: string | undefined;
  /** Parsed tree objects by id (immutable, so caching is safe); bounded by entry count. */
  private readonly treeCache = new Map<string, RawTreeEntry[]>();
  private treeCacheEntries = 0;
  private readonly trackingRef: string;
  /** The generated `GIT_SSH` wrapper (SSH remotes only). */
  private ssh: SshCommand | undefined;

  constructor(private readonly o: BackendOptions) {
    this.trackingRef =
      o.remote.kind === "local" ? `refs/heads/${o.branch}` : `refs/remotes/origin/${o.branch}`;
  }

  /** Logs each git command's duration at debug level (subcommand only, never arguments). */
  private readonly traceRun = (cmd: string, ms: number, code: number) =>
    this.o.logger.debug({ git: cmd, ms: Math.round(ms * 10) / 10, code }, "git");

  /** True when a `git` binary can be run (for `backend: auto`). */
  static async available(): Promise<boolean> {
    try {
      const r = await new GitCli(process.cwd()).run(["--version"], { timeoutMs: 10_000 });
      return r.code === 0;
    } catch {
      return false;
    }
  }

  async open(): Promise<void> {
    if (this.o.remote.kind === "local") await this.openLocal();
    else await this.openClone();
    if (this.o.remote.kind === "ssh")
      this.ssh = await SshCommand.prepare(this.o.remote.ssh ?? { strictHostKeyChecking: true });
    const format = (await this.git.run(["rev-parse", "--show-object-format"])).stdout.toString().trim();
    if (format && format !== "sha1") {
      throw new StalledError(
        `the config repo uses ${format} object ids; gitops-bot supports SHA-1 repositories only`,
      );
    }
    this.batch = new CatFileBatch(this.git);
  }

  private async openLocal(): Promise<void> {
    const path = this.o.remote.url;
    // GIT_DIR=path is wrong for a non-bare repo, so discover the repo from the path.
    const probe = new GitCli(path, { discover: true });
    const r = await probe
      .run(["rev-parse", "--absolute-git-dir", "--is-bare-repository"])
      .catch((e: Error) => ({ code: 1, stdout: Buffer.alloc(0), stderr: e.message }) as GitResult);
    const [gitDir, bare] = r.stdout.toString().trim().split("\n");
    if (r.code !== 0 || !gitDir) {
      throw new UserError(`repo.url ${path} is not a git repository`, {
        code: "repo-not-found",
        hint: "Point repo.url at a git repository (git init; git commit) or at an HTTP(S) URL.",
      });
    }
    if (bare !== "true") {
      const top = await probe.run(["rev-parse", "--show-toplevel"]);
      this.workTree = top.stdout.toString().trim() || path;
    }
    this.git = new GitCli(gitDir, {
      ...(this.workTree ? { workTree: this.workTree } : {}),
      onRun: this.traceRun,
    });
  }

  private async openClone(): Promise<void> {
    const dir = this.o.workdir;
    await mkdir(dir, { recursive: true });
    this.git = new GitCli(dir, { onRun: this.traceRun });
    const entries = await readdir(dir);
    if (entries.length === 0) {
      await this.git.text(["init", "--bare", "--quiet"]);
    } else {
      const r = await this.git.run(["rev-parse", "--is-bare-repository"]);
      if (r.code !== 0 || r.stdout.toString().trim() !== "true") {
        throw new StalledError(`repo.workdir ${dir} is not empty and not a clone made by gitops-bot`);
      }
    }
    // Settings of the working clone. No credentials here, ever.
    const settings: [string, string][] = [
      ["remote.origin.url", this.o.remote.url],
      ["remote.origin.fetch", `+refs/heads/${this.o.branch}:${this.trackingRef}`],
      ["core.logAllRefUpdates", "false"],
      ["gc.autoDetach", "false"],
      ["commit.gpgSign", "false"],
      ["fetch.writeCommitGraph", "false"],
    ];
    for (const [k, v] of settings) await this.git.text(["config", k, v]);
  }

  /** Environment for a command that talks to the remote: the auth header, scoped to the repo URL. */
  private networkEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    const cfg: [string, string][] = [
      ["http.lowSpeedLimit", "1000"],
      ["http.lowSpeedTime", "30"],
    ];
    if (this.o.remote.authHeader) {
      cfg.push(["credential.helper", ""]); // an empty value clears helpers from the user's config
      cfg.push([`http.${this.o.remote.url}.extraHeader`, `Authorization: ${this.o.remote.authHeader}`]);
    }
    if (this.ssh) Object.assign(env, this.ssh.env);
    env["GIT_CONFIG_COUNT"] = String(cfg.length);
    cfg.forEach(([k, v], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = k;
      env[`GIT_CONFIG_VALUE_${i}`] = v;
    });
    return env;
  }

  private failure(op: string, detail: string): Error {
    return classifyGitFailure(detail, {
      op,
      publicUrl: this.o.remote.publicUrl,
      branch: this.o.branch,
      redactor: this.o.redactor,
    });
  }

  async fetchHead(): Promise<string> {
    if (this.o.remote.kind !== "local") {
      const r = await this.git.run(
        [
          "fetch",
          "--quiet",
          "--no-tags",
          "--no-write-fetch-head",
          "--no-auto-maintenance",
          "--no-recurse-submodules",
          "origin",
          `+refs/heads/${this.o.branch}:${this.trackingRef}`,
        ],
        { env: this.networkEnv(), timeoutMs: 120_000 },
      );
      if (r.code !== 0) throw this.failure("fetch", r.stderr);
    }
    // Through the long-lived cat-file (it re-reads refs on every lookup): no extra process.
    const head = await this.batch.lookup(this.trackingRef);
    if (head?.type !== "commit") throw this.failure("fetch", "branch-missing");
    return head.oid;
  }

  async resolveCommit(rev: string): Promise<string | undefined> {
    // `--end-of-options` stops a revision such as `--output=x` from being read as an option.
    const r = await this.git.run(["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`]);
    const sha = r.stdout.toString().trim();
    return r.code === 0 && /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
  }

  async listTree(commit: string): Promise<Map<string, TreeFile>> {
    const files = new Map<string, TreeFile>();
    const walk = async (tree: string, prefix: string): Promise<void> => {
      const entries = await this.readTree(tree);
      await Promise.all(
        entries.map(async (e) => {
          if (isTreeMode(e.mode)) await walk(e.oid, `${prefix}${e.name}/`);
          else files.set(prefix + e.name, { mode: e.mode, oid: e.oid });
        }),
      );
    };
    await walk(await this.treeOf(commit), "");
    return files;
  }

  private async readTree(oid: string): Promise<RawTreeEntry[]> {
    const hit = this.treeCache.get(oid);
    if (hit) return hit;
    const obj = await this.batch.lookup(oid);
    if (obj?.type !== "tree") throw new Error(`missing tree ${oid}`);
    const entries = parseTree(obj.body);
    if (this.treeCacheEntries + entries.length > 200_000) {
      this.treeCache.clear();
      this.treeCacheEntries = 0;
    }
    this.treeCache.set(oid, entries);
    this.treeCacheEntries += entries.length;
    return entries;
  }

  async treeOf(commit: string): Promise<string> {
    const body = await this.batch.read(commit);
    const m = body ? /^tree ([0-9a-f]{40,64})/.exec(body.toString("latin1")) : null;
    if (!m?.[1]) throw new Error(`cannot read commit ${commit}`);
    return m[1];
  }

  async readBlob(oid: string): Promise<Buffer> {
    const b = await this.batch.read(oid);
    if (!b) throw new Error(`missing object ${oid}`);
    return b;
  }

  async writeBlob(content: Buffer): Promise<string> {
    return writeLooseObject(this.git.gitDir, "blob", content);
  }

  async writeTree(base: string, changes: Map<string, TreeFile | null>): Promise<string> {
    // Rewrites only the trees on the paths of the changes; every other subtree is re-used by id.
    const rewrite = async (tree: string | undefined, sub: Map<string, TreeFile | null>, isRoot: boolean) => {
      const entries = new Map<string, RawTreeEntry>();
      if (tree) for (const e of await this.readTree(tree)) entries.set(e.name, e);
      const nested = new Map<string, Map<string, TreeFile | null>>();
      for (const [path, f] of sub) {
        const slash = path.indexOf("/");
        if (slash < 0) {
          if (f) entries.set(path, { name: path, mode: f.mode, oid: f.oid });
          else entries.delete(path);
          continue;
        }
        const dir = path.slice(0, slash);
        const m = nested.get(dir) ?? new Map<string, TreeFile | null>();
        nested.set(dir, m);
        m.set(path.slice(slash + 1), f);
      }
      for (const [dir, m] of nested) {
        const existing = entries.get(dir);
        const oid = await rewrite(existing && isTreeMode(existing.mode) ? existing.oid : undefined, m, false);
        if (oid) entries.set(dir, { name: dir, mode: "040000", oid });
        else entries.delete(dir);
      }
      // Git never stores empty subtrees: a directory whose last file went away disappears.
      if (entries.size === 0 && !isRoot) return undefined;
      return writeLooseObject(this.git.gitDir, "tree", serializeTree([...entries.values()]));
    };
    return (await rewrite(await this.treeOf(base), changes, true)) as string;
  }

  async writeCommit(c: NewCommit): Promise<string> {
    return writeLooseObject(this.git.gitDir, "commit", serializeCommit(c));
  }

  async publish(commit: string, expected: string): Promise<"ok" | "rejected"> {
    return this.o.remote.kind === "local" ? this.moveLocalBranch(commit, expected) : this.push(commit);
  }

  private async push(commit: string): Promise<"ok" | "rejected"> {
    // A plain push (no --force, no lease): the server accepts it only as a fast-forward, so a
    // concurrent writer's commit can never be overwritten.
    const r = await this.git.run(
      ["push", "--porcelain", "--no-verify", "origin", `${commit}:refs/heads/${this.o.branch}`],
      { env: this.networkEnv(), timeoutMs: 120_000 },
    );
    if (r.code === 0) return "ok";
    const out = `${r.stdout.toString("utf8")}\n${r.stderr}`;
    const refused = /^!\t[^\t]*\t(.*)$/m.exec(out);
    if (refused) {
      if (LOST_RACE.test(refused[1] ?? "")) return "rejected";
      throw new UserError(
        `${this.o.remote.publicUrl} refused the push to ${this.o.branch}: ${this.o.redactor.text(refused[1] ?? "")}`,
        {
          code: "repo-push-refused",
          hint: "The branch may be protected; allow the bot's identity to push to it.",
        },
      );
    }
    if (LOST_RACE.test(out) && !/fatal: (unable to access|Authentication)/.test(out)) return "rejected";
    throw this.failure("push", out);
  }

  private async moveLocalBranch(commit: string, expected: string): Promise<"ok" | "rejected"> {
    const ref = `refs/heads/${this.o.branch}`;
    const r = await this.git.run(["update-ref", "-m", "gitops-bot", ref, commit, expected]);
    if (r.code !== 0) {
      if (LOST_RACE.test(r.stderr)) return "rejected";
      throw new GitCommandError(["update-ref"], r);
    }
    if (this.workTree) {
      const head = await this.git.run(["symbolic-ref", "--quiet", "HEAD"]);
      if (head.stdout.toString().trim() === ref) {
        // Fast-forward the checkout (index + files) like `git merge --ff-only` would. Local edits
        // to the same files make this fail; the commit stands and the user is told in the log.
        const rt = await this.git.run(["read-tree", "-m", "-u", expected, commit], { cwd: this.workTree });
        if (rt.code !== 0) {
          this.o.logger.warn(
            { repo: this.o.remote.publicUrl, detail: this.o.redactor.text(rt.stderr.trim()) },
            "committed, but the checkout was not updated (local changes?); run `git reset --hard` or `git stash` there",
          );
        }
      }
    }
    return "ok";
  }

  async diff(from: string, to: string, paths?: string[]): Promise<string> {
    const args = [
      "-c",
      "core.quotePath=false",
      "diff",
      "--no-color",
      "--no-ext-diff",
      "--no-textconv",
      "--no-renames",
      "--src-prefix=a/",
      "--dst-prefix=b/",
      from,
      to,
      "--",
      ...(paths ?? []),
    ];
    return this.git.text(args);
  }

  async log(from: string, opts: { paths?: string[]; limit?: number }): Promise<RawCommit[]> {
    const args = ["log", "-z", `--format=${LOG_FORMAT}`, "--no-color"];
    if (opts.limit !== undefined) args.push(`--max-count=${opts.limit}`);
    args.push(from, "--", ...(opts.paths ?? []));
    const text = await this.git.text(args);
    const fields = text.split("\0");
    const out: RawCommit[] = [];
    for (let i = 0; i + LOG_FIELDS <= fields.length; i += LOG_FIELDS) {
      const [sha, parents, an, ae, at, cn, ce, ct, body] = fields.slice(i, i + LOG_FIELDS) as string[];
      if (!sha) continue;
      out.push({
        sha: sha.trim(),
        parents: (parents ?? "").split(" ").filter(Boolean),
        message: body ?? "",
        author: { name: an ?? "", email: ae ?? "", time: at ?? "" },
        committer: { name: cn ?? "", email: ce ?? "", time: ct ?? "" },
      });
    }
    return out;
  }

  async maintenance(): Promise<void> {
    await this.git.run(["gc", "--auto", "--quiet"], { timeoutMs: 600_000 });
  }

  async close(): Promise<void> {
    this.batch?.close();
    await this.ssh?.close();
  }
}
