import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { StalledError, UserError } from "../../core/errors.js";
import type { Logger } from "../../core/ports.js";
import type { Redactor } from "../../core/redact.js";
import type { GitBackend, NewCommit, RawCommit, TreeFile } from "./backend.js";
import { classifyGitFailure } from "./errors.js";
import { CatFileBatch, GitCli, GitCommandError, type GitResult } from "./git-cli.js";
import type { RemoteSpec } from "./remote.js";

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
 * appear in a process listing, and are sent only to the configured URL. Credential helpers from
 * the user's git config are disabled while explicit credentials are configured.
 */
export class NativeGitBackend implements GitBackend {
  readonly name = "native" as const;
  private git!: GitCli;
  private batch!: CatFileBatch;
  private workTree: string | undefined;
  /** Tree SHA the private index file currently holds (skips `read-tree` for consecutive commits). */
  private indexTree: string | undefined;
  private readonly trackingRef: string;

  constructor(private readonly o: BackendOptions) {
    this.trackingRef =
      o.remote.kind === "http" ? `refs/remotes/origin/${o.branch}` : `refs/heads/${o.branch}`;
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
    if (this.o.remote.kind === "http") {
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
    const sha = await this.resolveCommit(this.trackingRef);
    if (!sha) throw this.failure("fetch", "branch-missing");
    return sha;
  }

  async resolveCommit(rev: string): Promise<string | undefined> {
    // `--end-of-options` stops a revision such as `--output=x` from being read as an option.
    const r = await this.git.run(["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`]);
    const sha = r.stdout.toString().trim();
    return r.code === 0 && /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
  }

  async listTree(commit: string): Promise<Map<string, TreeFile>> {
    const out = await this.git.run(["ls-tree", "-r", "-z", "--full-tree", commit]);
    if (out.code !== 0) throw new GitCommandError(["ls-tree"], out);
    const files = new Map<string, TreeFile>();
    for (const rec of out.stdout.toString("utf8").split("\0")) {
      if (!rec) continue;
      const tab = rec.indexOf("\t");
      const [mode, , oid] = rec.slice(0, tab).split(" ");
      if (mode && oid) files.set(rec.slice(tab + 1), { mode, oid });
    }
    return files;
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
    return (await this.git.text(["hash-object", "-w", "--no-filters", "--stdin"], { input: content })).trim();
  }

  async writeTree(base: string, changes: Map<string, TreeFile | null>): Promise<string> {
    // A private index: the clone is bare (remote mode) and the user's index must not be touched
    // (local mode). It is only used under GitConfigRepo's write lock.
    const env = { GIT_INDEX_FILE: join(this.git.gitDir, "gitops-bot.index") };
    try {
      const baseTree = await this.treeOf(base);
      if (this.indexTree !== baseTree) {
        this.indexTree = undefined;
        await this.git.text(["read-tree", baseTree], { env });
      }
      this.indexTree = undefined;
      const lines = [...changes].map(([path, f]) =>
        f ? `${f.mode} ${f.oid}\t${path}` : `0 ${"0".repeat(40)}\t${path}`,
      );
      if (lines.length > 0)
        await this.git.text(["update-index", "--index-info"], { env, input: `${lines.join("\n")}\n` });
      const tree = (await this.git.text(["write-tree"], { env })).trim();
      this.indexTree = tree;
      return tree;
    } catch (e) {
      this.indexTree = undefined;
      throw e;
    }
  }

  async writeCommit(c: NewCommit): Promise<string> {
    const args = ["commit-tree", "--no-gpg-sign", c.tree];
    for (const p of c.parents) args.push("-p", p);
    args.push("-F", "-");
    const out = await this.git.text(args, {
      input: c.message,
      env: {
        GIT_AUTHOR_NAME: c.author.name,
        GIT_AUTHOR_EMAIL: c.author.email,
        GIT_AUTHOR_DATE: `@${c.author.timestamp} +0000`,
        GIT_COMMITTER_NAME: c.committer.name,
        GIT_COMMITTER_EMAIL: c.committer.email,
        GIT_COMMITTER_DATE: `@${c.committer.timestamp} +0000`,
      },
    });
    return out.trim();
  }

  async publish(commit: string, expected: string): Promise<"ok" | "rejected"> {
    return this.o.remote.kind === "http" ? this.push(commit) : this.moveLocalBranch(commit, expected);
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
  }
}
