/**
 * Charts from git repositories other than the config repo (issue #13, ADR 0013): one bare clone
 * per repository URL under `cacheDir`, made and fetched with the git CLI through the same plumbing
 * as the config repo's native backend (`GitCli`, `CatFileBatch`, `SshCommand`, `resolveRemote`,
 * `classifyGitFailure`), and read at one commit through the `GitTree` interface, so the chart's
 * content digest drives upgrades exactly as for a config-repo chart.
 *
 * - One fetch brings every branch, every tag and the remote's HEAD, so all releases that use one
 *   URL (whatever their `ref`) share it; a fetch is reused for `maxAgeMs` (one per reconcile pass)
 *   and concurrent callers wait for the same fetch.
 * - `ref`: a branch, a tag or a commit SHA; absent: the remote's default branch (HEAD), which is
 *   `master` for the helm-operator era repos whose HelmReleases leave it out.
 * - HTTPS credentials come from `helm.gitCredentials` (longest matching `urlPrefix`) or the URL's
 *   userinfo; they reach git only as an `http.<url>.extraHeader` in the environment of the fetch,
 *   never `.git/config`, and every form of them is redacted. SSH URLs use `repo.ssh` (key, known hosts).
 * - At most `maxRepos` clones are kept; the least recently used one is deleted first.
 *
 * Every failure is a `GitChartError` (a `TransientError`: the release is `failed` and retried with
 * backoff, since the other repo may be fixed without a change in the config repo) whose message
 * names the HelmRelease file, the URL without credentials and what to fix.
 */
import { createHash } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { TransientError, UserError } from "../../core/errors.js";
import { Redactor } from "../../core/redact.js";
import { classifyGitFailure } from "../../gitops/git/errors.js";
import { CatFileBatch, GitCli } from "../../gitops/git/git-cli.js";
import { normalizeRepoPath } from "../../gitops/git/paths.js";
import { type RemoteSpec, resolveRemote, type SshSettings } from "../../gitops/git/remote.js";
import { SshCommand } from "../../gitops/git/ssh-command.js";
import { type GitTree, normaliseGitUrl } from "../../helm/chart-source.js";

/** Basic-auth credentials for git URLs starting with `urlPrefix` (`helm.gitCredentials[]`). */
export interface GitCredential {
  urlPrefix: string;
  username?: string;
  password: string;
}

export interface GitChartReposOptions {
  /** Clones live in `<cacheDir>/<hash of the URL>`. */
  cacheDir: string;
  credentials?: readonly GitCredential[];
  /** Key and known hosts for SSH URLs (`repo.ssh`). */
  ssh?: SshSettings;
  redactor?: Redactor;
  /** How long one fetch is reused (default 30 s: one fetch per URL per reconcile pass). */
  maxAgeMs?: number;
  /** Clones kept at most (default 20). */
  maxRepos?: number;
  now?: () => number;
  /** The git binary (default `git` on PATH). */
  gitBinary?: string;
}

/** A chart repository that cannot be fetched or read as referenced. Retried with backoff. */
export class GitChartError extends TransientError {}

/** Where the remote's HEAD (its default branch) is kept in a clone. */
const DEFAULT_REF = "refs/gitops-bot/default";
const SHA = /^[0-9a-f]{7,40}$/i;

interface Clone {
  remote: RemoteSpec;
  dir: string;
  git: GitCli;
  batch: CatFileBatch;
  ssh?: SshCommand;
  ready: Promise<void>;
  fetched?: { at: number; done: Promise<void>; running: boolean };
}

/** The clones of other git repositories (see the file comment). */
export class GitChartRepos {
  private readonly clones = new Map<string, Clone>();
  private readonly now: () => number;
  private redactor: Redactor;

  constructor(private readonly o: GitChartReposOptions) {
    this.now = o.now ?? Date.now;
    this.redactor = (o.redactor ?? new Redactor()).with(
      (o.credentials ?? []).flatMap((c) => secretsOf(c.username ?? "git", c.password)),
    );
  }

  /**
   * The tree of `url` at `ref` (fetched at most once per `maxAgeMs`) and the commit it resolved to.
   * `file` names the HelmRelease in messages.
   */
  async checkout(
    url: string,
    ref: string | undefined,
    file: string,
  ): Promise<{ tree: GitTree; revision: string }> {
    const clone = await this.clone(url, file);
    await this.fetch(clone, file);
    const revision = await this.resolve(clone, ref, file);
    return { tree: treeOf(clone, this.redactor), revision };
  }

  /** Stops the cat-file processes and removes the SSH wrappers (clones stay for the next start). */
  async close(): Promise<void> {
    for (const c of this.clones.values()) {
      c.batch.close();
      await c.ssh?.close();
    }
    this.clones.clear();
  }

  private remoteOf(url: string, file: string): RemoteSpec {
    const cred = [...(this.o.credentials ?? [])]
      .filter((c) => url.startsWith(c.urlPrefix))
      .sort((a, b) => b.urlPrefix.length - a.urlPrefix.length)[0];
    let remote: RemoteSpec;
    try {
      remote = resolveRemote({
        url,
        ...(cred ? { auth: { username: cred.username ?? "git", password: cred.password } } : {}),
        ...(this.o.ssh ? { ssh: this.o.ssh } : {}),
      } as Parameters<typeof resolveRemote>[0]);
    } catch (err) {
      throw new GitChartError(
        `${file}: spec.chart.git: ${(err as Error).message.replace(/^repo\.url/, "the URL")}; use an HTTPS or SSH URL`,
      );
    }
    if (remote.kind === "local")
      throw new GitChartError(
        `${file}: spec.chart.git ${remote.publicUrl} is a local path; charts are read from HTTPS or SSH git URLs only`,
      );
    if (remote.secrets.length > 0) this.redactor = this.redactor.with(remote.secrets);
    return remote;
  }

  private async clone(url: string, file: string): Promise<Clone> {
    const remote = this.remoteOf(url, file);
    // `…/repo`, `…/repo.git` and `…/repo/` are one clone.
    const key = createHash("sha256").update(normaliseGitUrl(remote.url)).digest("hex").slice(0, 16);
    const hit = this.clones.get(key);
    if (hit) {
      // LRU: the most recently used clone goes to the end.
      this.clones.delete(key);
      this.clones.set(key, hit);
      hit.remote = remote; // credentials may differ (userinfo in another release's URL)
      await hit.ready;
      return hit;
    }
    const dir = join(this.o.cacheDir, key);
    const git = new GitCli(dir, this.o.gitBinary ? { gitBinary: this.o.gitBinary } : {});
    const clone: Clone = { remote, dir, git, batch: new CatFileBatch(git), ready: Promise.resolve() };
    clone.ready = this.init(clone);
    this.clones.set(key, clone);
    await this.evict();
    try {
      await clone.ready;
    } catch (err) {
      this.clones.delete(key);
      throw new GitChartError(
        `${file}: cannot prepare a clone of ${remote.publicUrl}: ${(err as Error).message}`,
      );
    }
    return clone;
  }

  private async init(c: Clone): Promise<void> {
    await mkdir(c.dir, { recursive: true });
    const bare = await c.git.run(["rev-parse", "--is-bare-repository"]);
    if (bare.code !== 0 || bare.stdout.toString().trim() !== "true") {
      await rm(c.dir, { recursive: true, force: true });
      await mkdir(c.dir, { recursive: true });
      await c.git.text(["init", "--bare", "--quiet"]);
    }
    // No credentials here, ever: they go in the environment of each fetch.
    for (const [k, v] of [
      ["remote.origin.url", c.remote.url],
      ["core.logAllRefUpdates", "false"],
      ["gc.auto", "0"],
      ["fetch.writeCommitGraph", "false"],
    ] as const)
      await c.git.text(["config", k, v]);
    if (c.remote.kind === "ssh")
      c.ssh = await SshCommand.prepare(c.remote.ssh ?? { strictHostKeyChecking: true });
  }

  private async evict(): Promise<void> {
    const max = this.o.maxRepos ?? 20;
    while (this.clones.size > max) {
      const [key, old] = this.clones.entries().next().value as [string, Clone];
      this.clones.delete(key);
      old.batch.close();
      await old.ssh?.close();
      await rm(old.dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private fetch(c: Clone, file: string): Promise<void> {
    const now = this.now();
    const last = c.fetched;
    // A running fetch is always joined (two fetches into one clone would fight over its ref locks).
    if (last && (last.running || now - last.at < (this.o.maxAgeMs ?? 30_000))) return last.done;
    const done = this.runFetch(c, file);
    const entry = { at: now, done, running: true };
    c.fetched = entry;
    done.then(
      () => {
        entry.running = false;
      },
      () => {
        entry.running = false;
        // A failed fetch is not reused: the next release (or pass) tries again.
        if (c.fetched === entry) c.fetched = undefined;
      },
    );
    return done;
  }

  private async runFetch(c: Clone, file: string): Promise<void> {
    const r = await c.git.run(
      [
        "fetch",
        "--quiet",
        "--prune",
        "--force",
        "--no-write-fetch-head",
        "--no-auto-maintenance",
        "--no-recurse-submodules",
        "origin",
        `+HEAD:${DEFAULT_REF}`,
        "+refs/heads/*:refs/remotes/origin/*",
        "+refs/tags/*:refs/tags/*",
      ],
      { env: networkEnv(c), timeoutMs: 120_000 },
    );
    if (r.code !== 0) throw this.fetchError(c, r.stderr, file);
  }

  private fetchError(c: Clone, stderr: string, file: string): GitChartError {
    const url = c.remote.publicUrl;
    const e = classifyGitFailure(stderr, {
      op: "fetch",
      publicUrl: url,
      branch: "HEAD",
      redactor: this.redactor,
    });
    const code = e instanceof UserError ? e.code : undefined;
    const what =
      code === "repo-auth"
        ? c.remote.kind === "ssh"
          ? "the server refused the SSH key; check repo.ssh (its key must be allowed to read this repo)"
          : c.remote.credentials
            ? "the server refused the credentials (HTTP 401/403); fix the username/password of the helm.gitCredentials entry for this URL"
            : "the server asks for credentials (HTTP 401/403); add a helm.gitCredentials entry whose urlPrefix matches this URL"
        : code === "repo-host-key"
          ? "its SSH host key is not known; add it to repo.ssh.knownHosts"
          : code === "repo-not-found" || code === "repo-branch"
            ? "there is no git repository there (or it is empty); check spec.chart.git"
            : `${e.message.replace(/^git fetch(?: of \S+)?:? ?/, "")}; check spec.chart.git and that the server is reachable`;
    return new GitChartError(`${file}: spec.chart.git ${url}: ${what}`);
  }

  private async resolve(c: Clone, ref: string | undefined, file: string): Promise<string> {
    const r = ref?.trim();
    const candidates = !r
      ? [DEFAULT_REF]
      : r.startsWith("refs/")
        ? [r.replace(/^refs\/heads\//, "refs/remotes/origin/")]
        : [`refs/remotes/origin/${r}`, `refs/tags/${r}`, ...(SHA.test(r) ? [r.toLowerCase()] : [])];
    if (r && (/[\u0000-\u0020~^:?*[\\]|\.\.|@\{/.test(r) || r.startsWith("-")))
      throw new GitChartError(`${file}: spec.chart.ref ${JSON.stringify(r)} is not a valid git ref`);
    for (const name of candidates) {
      const obj = await c.batch.lookup(`${name}^{commit}`).catch(() => undefined);
      if (obj?.type === "commit") return obj.oid;
    }
    throw new GitChartError(
      r
        ? `${file}: spec.chart.ref ${r}: no branch, tag or commit of that name in ${c.remote.publicUrl}; fix spec.chart.ref (or push it)`
        : `${file}: spec.chart.git ${c.remote.publicUrl} has no default branch (HEAD); set spec.chart.ref`,
    );
  }
}

/** The environment of a fetch: low-speed abort, and the auth header scoped to the repo's URL. */
function networkEnv(c: Clone): Record<string, string> {
  const cfg: [string, string][] = [
    ["http.lowSpeedLimit", "1000"],
    ["http.lowSpeedTime", "30"],
  ];
  if (c.remote.authHeader) {
    cfg.push(["credential.helper", ""]);
    cfg.push([`http.${c.remote.url}.extraHeader`, `Authorization: ${c.remote.authHeader}`]);
  }
  const env: Record<string, string> = { ...(c.ssh?.env ?? {}), GIT_CONFIG_COUNT: String(cfg.length) };
  cfg.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

function secretsOf(username: string, password: string): string[] {
  if (!password) return [];
  return [password, encodeURIComponent(password), Buffer.from(`${username}:${password}`).toString("base64")];
}

/** `GitTree` over one clone: `list` reads the tree with `ls-tree`, `read` the blobs it listed. */
function treeOf(c: Clone, redactor: Redactor): GitTree {
  const oids = new Map<string, string>();
  return {
    async list(dir: string, at?: string): Promise<string[]> {
      const d = normalizeRepoPath(dir, { allowRoot: true });
      const r = await c.git.run([
        "ls-tree",
        "-r",
        "-z",
        "--full-tree",
        at ?? DEFAULT_REF,
        "--",
        ...(d ? [d] : []),
      ]);
      if (r.code !== 0) throw new Error(`git ls-tree failed: ${redactor.text(r.stderr.trim())}`);
      const out: string[] = [];
      for (const line of r.stdout.toString("utf8").split("\0")) {
        const m = /^(\d+) (\w+) ([0-9a-f]+)\t(.+)$/s.exec(line);
        // Regular files only: a symlink or submodule in a chart is not read (as for the config repo).
        if (m?.[2] !== "blob" || m[1] === "120000") continue;
        oids.set(`${at}:${m[4]}`, m[3] as string);
        out.push(m[4] as string);
      }
      return out.sort();
    },
    async read(path: string, at?: string): Promise<string | undefined> {
      const oid = oids.get(`${at}:${path}`);
      const obj = await c.batch.lookup(oid ?? `${at ?? DEFAULT_REF}:${normalizeRepoPath(path)}`);
      return obj?.type === "blob" ? obj.body.toString("utf8") : undefined;
    },
  };
}
