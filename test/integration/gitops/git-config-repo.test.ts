import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RepoConfig, repoSchema } from "../../../src/config/schema.js";
import { TransientError, UserError } from "../../../src/core/errors.js";
import type { Logger } from "../../../src/core/ports.js";
import type { Change, FileAccess } from "../../../src/gitops/config-repo.js";
import { GitConfigRepo } from "../../../src/gitops/git-config-repo.js";
import { MetricsRegistry } from "../../../src/http/metrics.js";
import { createLogger } from "../../../src/logging.js";
import { type GitServer, startGitServer } from "../../harness/git-server.js";

const run = promisify(execFile);
const PASSWORD = "canary-S3cr3t-pw-7781";
const USER = "bot";

/** Captures every log line (the real pino logger, configured with NO secrets: our code must not leak). */
function capturingLogger(): { logger: Logger; text: () => string } {
  let buf = "";
  const destination = new Writable({
    write(chunk, _enc, cb) {
      buf += chunk.toString();
      cb();
    },
  });
  return { logger: createLogger({ level: "debug", destination }), text: () => buf };
}

/** Runs git directly against the server's bare repo (the ground truth). */
async function bare(server: GitServer, repo: string, args: string[]): Promise<string> {
  const { stdout } = await run("git", args, {
    env: { ...process.env, GIT_DIR: join(server.root, repo), GIT_CONFIG_NOSYSTEM: "1" },
  });
  return stdout.trim();
}

const setTag =
  (path: string, tag: string) =>
  async (f: FileAccess): Promise<void> => {
    const cur = await f.read(path);
    if (cur === undefined) throw new UserError(`${path} is missing`);
    await f.write(path, cur.replace(/tag: .*/, `tag: ${tag}`));
  };

const change = (subject: string, ...edits: Change["edits"]): Change => ({
  subject,
  author: { name: "Alice Example", email: "alice@example.com" },
  trailers: [
    ["Gitops-Action", "promote"],
    ["Requested-By", "slack:U123 (alice)"],
  ],
  edits,
});

describe.each(["native", "isomorphic"] as const)("GitConfigRepo over HTTP (%s backend)", (backend) => {
  let server: GitServer;
  let tmp: string;
  let n = 0;
  let repoName: string;
  const logs = capturingLogger();
  const repos: GitConfigRepo[] = [];

  let lastWorkdir = "";
  const cfg = (over: Partial<RepoConfig> & { auth?: RepoConfig["auth"] } = {}): RepoConfig => {
    lastWorkdir = join(tmp, `wd-${++n}`);
    return repoSchema.parse({
      url: server.url(repoName),
      workdir: lastWorkdir,
      backend,
      auth: { username: USER, password: PASSWORD },
      author: { name: "gitops-bot", email: "bot@example.com" },
      ...over,
    });
  };

  const open = async (over: Partial<RepoConfig> = {}, metrics?: MetricsRegistry) => {
    const r = await GitConfigRepo.open(cfg(over), { logger: logs.logger, ...(metrics ? { metrics } : {}) });
    repos.push(r);
    return r;
  };

  beforeAll(async () => {
    server = await startGitServer({ username: USER, password: PASSWORD });
    tmp = await mkdtemp(join(tmpdir(), `gcr-${backend}-`));
  });
  afterAll(async () => {
    await Promise.all(repos.map((r) => r.close()));
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
    // The canary: no credential in any log line, in any form.
    const all = logs.text();
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString("base64"));
  });
  beforeEach(async () => {
    repoName = `r${++n}.git`;
    await server.createBareRepo(repoName);
    await server.commitDirect(repoName, {
      message: "initial",
      files: {
        "releases/dev/podinfo.yaml": "image:\n  tag: 1.0.0\n",
        "releases/prod/podinfo.yaml": "image:\n  tag: 0.9.0\n",
        "README.md": "config\n",
      },
    });
  });

  it("clones, commits with author, committer and trailers, pushes, and reads the log back", async () => {
    const repo = await open();
    expect(repo.backendName).toBe(backend);
    expect(repo.publicUrl).toBe(server.url(repoName));
    const before = await repo.head();
    const res = await repo.commit({
      ...change("[prod/podinfo] promote 1.0.0 from dev", setTag("releases/prod/podinfo.yaml", "1.0.0")),
      body: "Promoted on request.",
      trailers: [
        ["Gitops-Action", "promote"],
        ["Approved-By", "slack:U1 (bob)"],
        ["Approved-By", "slack:U2 (carol)"],
      ],
    });
    expect(res.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(res.parent).toBe(before);
    expect(res.files).toEqual(["releases/prod/podinfo.yaml"]);
    expect(res.retries).toBe(0);
    expect(res.diff).toContain("-  tag: 0.9.0\n+  tag: 1.0.0");
    expect(res.diff).toContain("--- a/releases/prod/podinfo.yaml");
    expect(await bare(server, repoName, ["rev-parse", "main"])).toBe(res.sha);
    expect(await repo.head()).toBe(res.sha);

    const [c] = await repo.log({ limit: 1 });
    expect(c?.sha).toBe(res.sha);
    expect(c?.parents).toEqual([before]);
    expect(c?.subject).toBe("[prod/podinfo] promote 1.0.0 from dev");
    expect(c?.body).toBe("Promoted on request.");
    expect(c?.trailers).toEqual([
      ["Gitops-Action", "promote"],
      ["Approved-By", "slack:U1 (bob)"],
      ["Approved-By", "slack:U2 (carol)"],
    ]);
    expect(c?.author).toMatchObject({ name: "Alice Example", email: "alice@example.com" });
    expect(c?.committer).toMatchObject({ name: "gitops-bot", email: "bot@example.com" });
    // git itself sees the trailers.
    const parsed = await bare(server, repoName, [
      "log",
      "-1",
      "--format=%(trailers:key=Approved-By,valueonly,separator=%x2c)",
    ]);
    expect(parsed).toBe("slack:U1 (bob),slack:U2 (carol)");

    expect(await repo.read("releases/prod/podinfo.yaml")).toContain("tag: 1.0.0");
    expect(await repo.read("releases/prod/podinfo.yaml", before)).toContain("tag: 0.9.0");
    expect(await repo.read("nope.yaml")).toBeUndefined();
    expect(await repo.list("releases")).toEqual(["releases/dev/podinfo.yaml", "releases/prod/podinfo.yaml"]);
    expect(await repo.list("")).toHaveLength(3);
    expect((await repo.log({ paths: ["releases/dev"] })).map((x) => x.subject)).toEqual(["initial"]);
    expect((await repo.log({ paths: ["releases/prod/podinfo.yaml"] })).length).toBe(2);
    expect((await repo.log({ from: before })).map((x) => x.sha)).toEqual([before]);
    expect(await repo.diff(before, res.sha as string)).toContain("+  tag: 1.0.0");
    expect(await repo.diff(before, res.sha as string, ["releases/dev"])).toBe("");
    // No credential ever lands in the clone's config.
    const { readFile } = await import("node:fs/promises");
    const gitConfig = await readFile(join(lastWorkdir, "config"), "utf8").catch(() => "");
    expect(gitConfig).toContain('[remote "origin"]');
    expect(gitConfig).not.toContain(PASSWORD);
    expect(gitConfig).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString("base64"));
  });

  it("creates, deletes and lists files in one commit; dry run commits nothing", async () => {
    const repo = await open();
    const head = await repo.head();
    const dry = await repo.commit({
      ...change("dry", async (f) => f.write("releases/stg/podinfo.yaml", "image:\n  tag: 2.0.0\n")),
      dryRun: true,
    });
    expect(dry.sha).toBeUndefined();
    expect(dry.diff).toContain("new file mode 100644");
    expect(await bare(server, repoName, ["rev-parse", "main"])).toBe(head);

    const res = await repo.commit(
      change("restructure", async (f) => {
        await f.write("releases/stg/podinfo.yaml", "image:\n  tag: 2.0.0\n");
        await f.remove("README.md");
        expect(await f.read("README.md")).toBeUndefined();
        expect(await f.list("releases")).toEqual([
          "releases/dev/podinfo.yaml",
          "releases/prod/podinfo.yaml",
          "releases/stg/podinfo.yaml",
        ]);
      }),
    );
    expect(res.files).toEqual(["README.md", "releases/stg/podinfo.yaml"]);
    expect(await bare(server, repoName, ["ls-tree", "-r", "--name-only", "main"])).toBe(
      "releases/dev/podinfo.yaml\nreleases/prod/podinfo.yaml\nreleases/stg/podinfo.yaml",
    );
  });

  it("retries a push rejected because another writer pushed in between, and counts the retry", async () => {
    const metrics = new MetricsRegistry();
    const repo = await open({}, metrics);
    let injected = false;
    const off = server.onRequest(async (r) => {
      if (r.isPush && r.authenticated && !injected) {
        injected = true;
        await server.commitDirect(repoName, { message: "other writer", files: { "other.yaml": "x: 1\n" } });
      }
    });
    try {
      const res = await repo.commit(change("ours", setTag("releases/dev/podinfo.yaml", "1.1.0")));
      expect(injected).toBe(true);
      expect(res.retries).toBeGreaterThanOrEqual(1);
      expect(await metrics.render()).toContain(`gitops_git_push_retries_total ${res.retries}\n`);
      const subjects = (await bare(server, repoName, ["log", "--format=%s", "main"])).split("\n");
      expect(subjects).toEqual(["ours", "other writer", "initial"]);
      expect(await bare(server, repoName, ["show", "main:other.yaml"])).toBe("x: 1");
    } finally {
      off();
    }
  });

  it("gives up with a TransientError after pushRetries rejections, never forcing", async () => {
    const repo = await open({ pushRetries: 2 } as Partial<RepoConfig>);
    let i = 0;
    const off = server.onRequest(async (r) => {
      if (r.isPush && r.authenticated) {
        await server.commitDirect(repoName, {
          message: `other ${++i}`,
          files: { "other.yaml": `x: ${i}\n` },
        });
      }
    });
    try {
      await expect(
        repo.commit(change("ours", setTag("releases/dev/podinfo.yaml", "1.1.0"))),
      ).rejects.toBeInstanceOf(TransientError);
      expect(i).toBe(3);
      expect(await bare(server, repoName, ["log", "--format=%s", "-1", "main"])).toBe("other 3");
    } finally {
      off();
    }
  });

  it("commits nothing when an edit throws or changes nothing", async () => {
    const repo = await open();
    const head = await repo.head();
    const boom = new UserError("podinfo is locked");
    await expect(
      repo.commit(
        change(
          "half",
          async (f) => f.write("releases/dev/podinfo.yaml", "changed\n"),
          async () => {
            throw boom;
          },
        ),
      ),
    ).rejects.toBe(boom);
    const noop = await repo.commit(
      change("noop", setTag("releases/prod/podinfo.yaml", "0.9.0"), async (f) => {
        await f.write("README.md", "temp\n");
        await f.write("README.md", "config\n");
        await f.remove("does/not/exist.yaml");
      }),
    );
    expect(noop.sha).toBeUndefined();
    expect(noop.files).toEqual([]);
    expect(noop.diff).toBe("");
    expect(await bare(server, repoName, ["rev-parse", "main"])).toBe(head);
    // The clone is still usable.
    const ok = await repo.commit(change("after", setTag("releases/dev/podinfo.yaml", "1.2.0")));
    expect(ok.parent).toBe(head);
  });

  it("refuses paths that leave the repo root or go through a symlink", async () => {
    await server.commitDirect(repoName, {
      message: "links",
      files: { link: { symlink: "/etc" }, "releases/evil.yaml": { symlink: "../../../../etc/passwd" } },
    });
    const repo = await open();
    const bad = [
      "../x.yaml",
      "/etc/passwd",
      "releases/../../x",
      "a\u0000b",
      "a\nb",
      "",
      ".git/config",
      "a//b",
      "C:/x",
      "a\\b",
    ];
    for (const p of bad) {
      await expect(repo.commit(change("bad", async (f) => f.write(p, "x")))).rejects.toMatchObject({
        code: "bad-path",
      });
      await expect(repo.read(p)).rejects.toMatchObject({ code: "bad-path" });
    }
    await expect(repo.commit(change("bad", async (f) => f.write("link/passwd", "x")))).rejects.toMatchObject({
      code: "bad-path",
    });
    await expect(
      repo.commit(change("bad", async (f) => void (await f.read("releases/evil.yaml")))),
    ).rejects.toMatchObject({
      code: "bad-path",
    });
    await expect(repo.read("releases/evil.yaml")).rejects.toMatchObject({ code: "bad-path" });
    await expect(repo.commit(change("bad", async (f) => f.write("releases", "x")))).rejects.toMatchObject({
      code: "bad-path",
    });
    expect(await repo.list("releases")).toEqual(["releases/dev/podinfo.yaml", "releases/prod/podinfo.yaml"]);
    expect(await bare(server, repoName, ["log", "--format=%s", "-1", "main"])).toBe("links");
  });

  it("reports bad credentials, a missing branch and an unreachable server clearly, without secrets", async () => {
    const wrong = "wrong-Pa55word-canary";
    const err = await open({ auth: { username: USER, password: wrong } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: "repo-auth" });
    expect((err as UserError).hint).toMatch(/repo\.auth/);
    expect(String((err as Error).message)).not.toContain(wrong);
    expect(JSON.stringify(err)).not.toContain(wrong);

    const inUrl = await GitConfigRepo.open(
      repoSchema.parse({
        url: server.url(repoName).replace("http://", `http://${USER}:${wrong}@`),
        workdir: join(tmp, `wd-${++n}`),
        backend,
      }),
      { logger: logs.logger },
    ).catch((e: unknown) => e);
    expect(inUrl).toMatchObject({ code: "repo-auth" });
    expect(String((inUrl as Error).message)).not.toContain(wrong);
    expect(String((inUrl as Error).stack)).not.toContain(wrong);

    const branch = await open({ branch: "nope" }).catch((e: unknown) => e);
    expect(branch).toBeInstanceOf(UserError);
    expect(branch).toMatchObject({ code: "repo-branch" });
    expect((branch as Error).message).toContain("nope");

    const down = await open({ url: "http://127.0.0.1:1/x.git" }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(TransientError);
    expect(String((down as Error).message)).not.toContain(PASSWORD);
  });

  it("lands 20 concurrent commits plus a second writer's on a linear history, none lost or duplicated", async () => {
    await server.commitDirect(repoName, {
      message: "apps",
      files: Object.fromEntries(
        Array.from({ length: 20 }, (_, i) => [`apps/app${i}.yaml`, "image:\n  tag: 0\n"]),
      ),
    });
    const start = Number(await bare(server, repoName, ["rev-list", "--count", "main"]));
    const a = await open();
    const b = await open();
    const ours = Array.from({ length: 20 }, (_, i) =>
      a.commit(change(`bump app${i}`, setTag(`apps/app${i}.yaml`, `v${i}`))),
    );
    const theirs = (async () => {
      const out = [];
      for (let i = 0; i < 4; i++)
        out.push(await b.commit(change(`other ${i}`, async (f) => f.write(`other/${i}.yaml`, `${i}\n`))));
      return out;
    })();
    const results = await Promise.all([...ours, theirs]);
    const all = results.flat();
    expect(all.every((r) => r.sha)).toBe(true);
    expect(new Set(all.map((r) => r.sha)).size).toBe(24);

    expect(Number(await bare(server, repoName, ["rev-list", "--count", "main"]))).toBe(start + 24);
    expect(await bare(server, repoName, ["rev-list", "--merges", "--count", "main"])).toBe("0");
    const subjects = (await bare(server, repoName, ["log", "--format=%s", `-24`, "main"])).split("\n");
    for (let i = 0; i < 20; i++) {
      expect(subjects.filter((s) => s === `bump app${i}`)).toHaveLength(1);
      expect(await bare(server, repoName, ["show", `main:apps/app${i}.yaml`])).toBe(`image:\n  tag: v${i}`);
      // Each change landed exactly once: one commit touches the file after the seed.
      expect(await bare(server, repoName, ["rev-list", "--count", "main", "--", `apps/app${i}.yaml`])).toBe(
        "2",
      );
    }
    for (let i = 0; i < 4; i++) expect(subjects.filter((s) => s === `other ${i}`)).toHaveLength(1);
    // Every object the bot wrote is well-formed by git's strictest checks.
    await bare(server, repoName, ["fsck", "--strict", "--no-dangling", "--no-progress"]);
  });
});

describe("GitConfigRepo backend selection", () => {
  it("auto falls back to isomorphic-git without git on PATH, and refuses a local path then", async () => {
    const server = await startGitServer({ username: USER, password: PASSWORD });
    const tmp = await mkdtemp(join(tmpdir(), "gcr-auto-"));
    try {
      await server.createBareRepo("a.git");
      await server.commitDirect("a.git", { files: { "a.yaml": "a: 1\n" }, message: "init" });
      const noGit = async () => false;
      const repo = await GitConfigRepo.open(
        repoSchema.parse({
          url: server.url("a.git"),
          workdir: join(tmp, "wd"),
          auth: { username: USER, password: PASSWORD },
        }),
        { logger: capturingLogger().logger, gitAvailable: noGit },
      );
      expect(repo.backendName).toBe("isomorphic");
      expect(await repo.read("a.yaml")).toBe("a: 1\n");
      await repo.close();
      const { StalledError } = await import("../../../src/core/errors.js");
      await expect(
        GitConfigRepo.open(repoSchema.parse({ url: tmp }), {
          logger: capturingLogger().logger,
          gitAvailable: noGit,
        }),
      ).rejects.toBeInstanceOf(StalledError);
    } finally {
      await server.stop();
      await rm(tmp, { recursive: true, force: true });
    }
  });
});

describe("GitConfigRepo on a local path (native backend)", () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "gcr-local-"));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const git = (cwd: string, args: string[]) =>
    run("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd }).then((r) => r.stdout.trim());

  it("commits directly on the branch and fast-forwards the checkout", async () => {
    const dir = join(tmp, "demo");
    await run("mkdir", ["-p", join(dir, "releases/dev")]);
    await git(dir, ["init", "-q", "-b", "main"]);
    await run("cp", ["/dev/null", join(dir, "releases/dev/app.yaml")]);
    await git(dir, ["add", "."]);
    await git(dir, ["commit", "-qm", "init"]);
    const repo = await GitConfigRepo.open(repoSchema.parse({ url: dir, backend: "auto" }), {
      logger: capturingLogger().logger,
    });
    expect(repo.backendName).toBe("native");
    expect(repo.publicUrl).toBe(dir);
    const res = await repo.commit(
      change("[dev/app] set", async (f) => f.write("releases/dev/app.yaml", "image:\n  tag: 2\n")),
    );
    expect(await git(dir, ["rev-parse", "main"])).toBe(res.sha);
    expect(await git(dir, ["status", "--porcelain"])).toBe("");
    const { readFile } = await import("node:fs/promises");
    expect(await readFile(join(dir, "releases/dev/app.yaml"), "utf8")).toBe("image:\n  tag: 2\n");

    // Someone commits in the demo repo by hand; the bot builds on top of it.
    await run("cp", [join(dir, "releases/dev/app.yaml"), join(dir, "releases/dev/copy.yaml")]);
    await git(dir, ["add", "."]);
    await git(dir, ["commit", "-qm", "by hand"]);
    const again = await repo.commit(change("second", async (f) => f.remove("releases/dev/copy.yaml")));
    expect(again.parent).toBe(await git(dir, ["rev-parse", "main~1"]));
    expect((await repo.log()).map((c) => c.subject)).toEqual(["second", "by hand", "[dev/app] set", "init"]);
    // Path-filtered history and diffs work in a checked-out repo too (history and rollback need them).
    expect((await repo.log({ paths: ["releases/dev/app.yaml"] })).map((c) => c.subject)).toEqual([
      "[dev/app] set",
      "init",
    ]);
    expect(await repo.diff(`${res.sha}~1`, res.sha!, ["releases/dev/app.yaml"])).toContain("+  tag: 2");
    expect(await repo.diff(`${res.sha}~1`, res.sha!, ["releases/dev/other.yaml"])).toBe("");
    expect(await git(dir, ["status", "--porcelain"])).toBe("");
    await git(dir, ["fsck", "--strict", "--no-dangling", "--no-progress"]);
    await repo.close();

    await expect(
      GitConfigRepo.open(repoSchema.parse({ url: dir, branch: "nope" }), {
        logger: capturingLogger().logger,
      }),
    ).rejects.toMatchObject({ code: "repo-branch" });
    await expect(
      GitConfigRepo.open(repoSchema.parse({ url: join(tmp, "missing") }), {
        logger: capturingLogger().logger,
      }),
    ).rejects.toMatchObject({ code: "repo-not-found" });
  });
});
