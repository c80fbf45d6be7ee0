import * as fs from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
import * as git from "isomorphic-git";
import http from "isomorphic-git/http/node";
import { StalledError, UserError } from "../../core/errors.js";
import type { GitBackend, NewCommit, RawCommit, TreeFile } from "./backend.js";
import { isoTime } from "./backend.js";
import { classifyGitFailure } from "./errors.js";
import type { BackendOptions } from "./native-backend.js";
import { type FileChange, unifiedDiff } from "./unified-diff.js";

type TreeEntry = git.TreeEntry;

const LOST_RACE =
  /fetch first|non-fast-forward|stale info|failed to update ref|cannot lock ref|failed to lock|but expected|incorrect old value/i;

/**
 * The embedded backend (isomorphic-git), used when `git` is not on PATH. HTTP(S) remotes only.
 * Same layout as the native backend: a bare clone in `workdir` with the branch fetched into
 * `refs/remotes/origin/<branch>`, so either backend can pick up the other's clone. One `cache`
 * object is shared by every call (isomorphic-git keeps parsed packfile indexes in it).
 * Credentials go in a per-request `Authorization` header and are never stored on disk.
 */
export class IsomorphicGitBackend implements GitBackend {
  readonly name = "isomorphic" as const;
  private readonly cache: object = {};
  private readonly gitdir: string;
  private readonly trackingRef: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly o: BackendOptions) {
    if (o.remote.kind !== "http")
      throw new StalledError("the isomorphic-git backend supports HTTP(S) remotes only");
    this.gitdir = o.workdir;
    this.trackingRef = `refs/remotes/origin/${o.branch}`;
    this.headers = o.remote.authHeader ? { Authorization: o.remote.authHeader } : {};
  }

  private get base() {
    return { fs, gitdir: this.gitdir, cache: this.cache };
  }

  async open(): Promise<void> {
    await mkdir(this.gitdir, { recursive: true });
    const entries = await readdir(this.gitdir);
    if (entries.length === 0) {
      await git.init({ fs, gitdir: this.gitdir, bare: true, defaultBranch: this.o.branch });
    } else if (!entries.includes("HEAD") || !entries.includes("objects")) {
      throw new StalledError(`repo.workdir ${this.gitdir} is not empty and not a clone made by gitops-bot`);
    }
    await git.setConfig({ fs, gitdir: this.gitdir, path: "remote.origin.url", value: this.o.remote.url });
    await git.setConfig({
      fs,
      gitdir: this.gitdir,
      path: "remote.origin.fetch",
      value: `+refs/heads/${this.o.branch}:${this.trackingRef}`,
    });
  }

  private failure(op: string, e: unknown): Error {
    if (e instanceof UserError) return e;
    const err = e as { code?: string; message?: string; data?: { statusCode?: number; response?: string } };
    const status = err.code === "HttpError" ? err.data?.statusCode : undefined;
    const detail = `${err.code ?? ""} ${err.message ?? String(e)}`;
    return classifyGitFailure(
      detail,
      {
        op,
        publicUrl: this.o.remote.publicUrl,
        branch: this.o.branch,
        redactor: this.o.redactor,
      },
      status,
    );
  }

  async fetchHead(): Promise<string> {
    let res: git.FetchResult;
    try {
      res = await git.fetch({
        ...this.base,
        http,
        url: this.o.remote.url,
        remote: "origin",
        ref: this.o.branch,
        remoteRef: this.o.branch,
        singleBranch: true,
        tags: false,
        headers: this.headers,
      });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "NotFoundError" || code === "MissingNameError")
        throw this.failure("fetch", new Error("branch-missing"));
      throw this.failure("fetch", e);
    }
    if (!res.fetchHead) throw this.failure("fetch", new Error("branch-missing"));
    // fetch() writes refs/remotes/origin/<branch> itself, but only when the remote ref moved.
    await git.writeRef({ fs, gitdir: this.gitdir, ref: this.trackingRef, value: res.fetchHead, force: true });
    return res.fetchHead;
  }

  async resolveCommit(rev: string): Promise<string | undefined> {
    try {
      let oid: string;
      if (/^[0-9a-f]{40}$/.test(rev)) oid = rev;
      else if (/^[0-9a-f]{4,39}$/.test(rev)) oid = await git.expandOid({ ...this.base, oid: rev });
      else {
        const m = /^(.*?)((?:~\d*|\^\d*)*)$/.exec(rev);
        const name = m?.[1] ?? rev;
        oid = await git.resolveRef({
          fs,
          gitdir: this.gitdir,
          ref: name === "HEAD" ? this.trackingRef : name,
        });
        for (const step of (m?.[2] ?? "").match(/[~^]\d*/g) ?? []) {
          const n = step.length > 1 ? Number(step.slice(1)) : 1;
          for (let i = 0; i < (step[0] === "~" ? n : 1); i++) {
            const { commit } = await git.readCommit({ ...this.base, oid });
            const parent = commit.parent[step[0] === "^" ? n - 1 : 0];
            if (!parent) return undefined;
            oid = parent;
          }
        }
      }
      const { oid: commit } = await git.readCommit({ ...this.base, oid });
      return commit;
    } catch {
      return undefined;
    }
  }

  async listTree(commit: string): Promise<Map<string, TreeFile>> {
    const out = new Map<string, TreeFile>();
    const walk = async (oid: string, prefix: string): Promise<void> => {
      const { tree } = await git.readTree({ ...this.base, oid });
      await Promise.all(
        tree.map(async (e) => {
          const path = prefix + e.path;
          if (e.type === "tree") await walk(e.oid, `${path}/`);
          else out.set(path, { mode: e.mode, oid: e.oid });
        }),
      );
    };
    await walk(commit, "");
    return out;
  }

  async treeOf(commit: string): Promise<string> {
    const { commit: c } = await git.readCommit({ ...this.base, oid: commit });
    return c.tree;
  }

  async readBlob(oid: string): Promise<Buffer> {
    const { blob } = await git.readBlob({ ...this.base, oid });
    return Buffer.from(blob);
  }

  async writeBlob(content: Buffer): Promise<string> {
    return git.writeBlob({ fs, gitdir: this.gitdir, blob: content });
  }

  async writeTree(base: string, changes: Map<string, TreeFile | null>): Promise<string> {
    const rewrite = async (
      treeOid: string | undefined,
      sub: Map<string, TreeFile | null>,
    ): Promise<string | undefined> => {
      let entries: TreeEntry[] = treeOid ? (await git.readTree({ ...this.base, oid: treeOid })).tree : [];
      const direct = new Map<string, TreeFile | null>();
      const nested = new Map<string, Map<string, TreeFile | null>>();
      for (const [path, f] of sub) {
        const slash = path.indexOf("/");
        if (slash < 0) direct.set(path, f);
        else {
          const dir = path.slice(0, slash);
          const m = nested.get(dir) ?? new Map<string, TreeFile | null>();
          nested.set(dir, m);
          m.set(path.slice(slash + 1), f);
        }
      }
      for (const [name, f] of direct) {
        entries = entries.filter((e) => e.path !== name);
        if (f)
          entries.push({
            mode: f.mode,
            path: name,
            oid: f.oid,
            type: f.mode === "160000" ? "commit" : "blob",
          });
      }
      for (const [name, m] of nested) {
        const existing = entries.find((e) => e.path === name && e.type === "tree");
        const oid = await rewrite(existing?.oid, m);
        entries = entries.filter((e) => e.path !== name);
        if (oid) entries.push({ mode: "040000", path: name, oid, type: "tree" });
      }
      // git never stores empty subtrees; only the root may be empty.
      if (entries.length === 0 && treeOid !== undefined && sub !== changes) return undefined;
      return git.writeTree({ fs, gitdir: this.gitdir, tree: entries });
    };
    const root = await rewrite(await this.treeOf(base), changes);
    return root ?? git.writeTree({ fs, gitdir: this.gitdir, tree: [] });
  }

  async writeCommit(c: NewCommit): Promise<string> {
    return git.writeCommit({
      fs,
      gitdir: this.gitdir,
      commit: {
        message: c.message,
        tree: c.tree,
        parent: c.parents,
        author: {
          name: c.author.name,
          email: c.author.email,
          timestamp: c.author.timestamp,
          timezoneOffset: 0,
        },
        committer: {
          name: c.committer.name,
          email: c.committer.email,
          timestamp: c.committer.timestamp,
          timezoneOffset: 0,
        },
      },
    });
  }

  async publish(commit: string, _expected: string): Promise<"ok" | "rejected"> {
    const localRef = `refs/heads/${this.o.branch}`;
    await git.writeRef({ fs, gitdir: this.gitdir, ref: localRef, value: commit, force: true });
    try {
      // No `force`: isomorphic-git refuses a non-fast-forward itself, and the server re-checks.
      await git.push({
        ...this.base,
        http,
        url: this.o.remote.url,
        remote: "origin",
        ref: localRef,
        remoteRef: localRef,
        headers: this.headers,
      });
      await git.writeRef({ fs, gitdir: this.gitdir, ref: this.trackingRef, value: commit, force: true });
      return "ok";
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code === "PushRejectedError") return "rejected";
      if (err.code === "GitPushError") {
        if (LOST_RACE.test(err.message ?? "")) return "rejected";
        throw new UserError(
          `${this.o.remote.publicUrl} refused the push to ${this.o.branch}: ${this.o.redactor.text(err.message ?? "")}`,
          {
            code: "repo-push-refused",
            hint: "The branch may be protected; allow the bot's identity to push to it.",
          },
        );
      }
      throw this.failure("push", e);
    }
  }

  async diff(from: string, to: string, paths?: string[]): Promise<string> {
    const changes: FileChange[] = [];
    const inScope = (p: string) =>
      !paths || paths.length === 0 || paths.some((q) => p === q || p.startsWith(`${q}/`));
    const mayContain = (dir: string) =>
      !paths ||
      paths.length === 0 ||
      paths.some((q) => q === dir || q.startsWith(`${dir}/`) || dir.startsWith(`${q}/`));
    const read = async (oid: string | undefined) => (oid ? this.readBlob(oid) : undefined);
    const cmp = async (a: string | undefined, b: string | undefined, prefix: string): Promise<void> => {
      if (a === b) return;
      const ta = a ? (await git.readTree({ ...this.base, oid: a })).tree : [];
      const tb = b ? (await git.readTree({ ...this.base, oid: b })).tree : [];
      const names = new Set([...ta.map((e) => e.path), ...tb.map((e) => e.path)]);
      for (const name of names) {
        const ea = ta.find((e) => e.path === name);
        const eb = tb.find((e) => e.path === name);
        const path = prefix + name;
        const da = ea?.type === "tree" ? ea : undefined;
        const db = eb?.type === "tree" ? eb : undefined;
        if ((da || db) && mayContain(path)) await cmp(da?.oid, db?.oid, `${path}/`);
        const fa = ea && ea.type !== "tree" ? ea : undefined;
        const fb = eb && eb.type !== "tree" ? eb : undefined;
        if ((fa || fb) && inScope(path) && (fa?.oid !== fb?.oid || fa?.mode !== fb?.mode)) {
          changes.push({
            path,
            oldOid: fa?.oid,
            newOid: fb?.oid,
            oldMode: fa?.mode,
            newMode: fb?.mode,
            oldContent: fa ? await read(fa.oid) : undefined,
            newContent: fb ? await read(fb.oid) : undefined,
          });
        }
      }
    };
    await cmp(await this.peelTree(from), await this.peelTree(to), "");
    changes.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
    return unifiedDiff(changes);
  }

  private async peelTree(oid: string): Promise<string> {
    const { type, object } = await git.readObject({ ...this.base, oid, format: "parsed" });
    return type === "commit" ? (object as git.CommitObject).tree : oid;
  }

  async log(from: string, opts: { paths?: string[]; limit?: number }): Promise<RawCommit[]> {
    const paths = opts.paths ?? [];
    const out: RawCommit[] = [];
    if (opts.limit === 0) return out;
    const commits = await git.log({
      ...this.base,
      ref: from,
      ...(paths.length === 0 && opts.limit ? { depth: opts.limit } : {}),
    });
    for (const c of commits) {
      if (paths.length > 0 && !(await this.touches(c.commit.tree, c.commit.parent[0], paths))) continue;
      const a = c.commit.author;
      const k = c.commit.committer;
      out.push({
        sha: c.oid,
        parents: c.commit.parent,
        message: c.commit.message,
        author: { name: a.name, email: a.email, time: isoTime(a.timestamp, -a.timezoneOffset) },
        committer: { name: k.name, email: k.email, time: isoTime(k.timestamp, -k.timezoneOffset) },
      });
      if (opts.limit !== undefined && out.length >= opts.limit) break;
    }
    return out;
  }

  /** True when any of `paths` (file or directory) differs between the commit's tree and its first parent's. */
  private async touches(tree: string, parent: string | undefined, paths: string[]): Promise<boolean> {
    const parentTree = parent ? await this.treeOf(parent) : undefined;
    for (const p of paths) {
      const a = await this.entryAt(tree, p);
      const b = parentTree ? await this.entryAt(parentTree, p) : undefined;
      if (a !== b) return true;
    }
    return false;
  }

  private async entryAt(tree: string, path: string): Promise<string | undefined> {
    let oid = tree;
    for (const seg of path.split("/")) {
      const { tree: entries } = await git
        .readTree({ ...this.base, oid })
        .catch(() => ({ tree: [] as TreeEntry[] }));
      const e = entries.find((x) => x.path === seg);
      if (!e) return undefined;
      oid = e.oid;
    }
    return oid;
  }

  async maintenance(): Promise<void> {
    // isomorphic-git has no gc; loose objects stay (git gc can pack the clone offline).
  }

  async close(): Promise<void> {}
}
