import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitServer, startGitServer } from "../../harness/git-server.js";

const run = promisify(execFile);
const env = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1" };
const git = (args: string[], cwd?: string) => run("git", args, { cwd, env });

describe("test harness: git server", () => {
  let server: GitServer;
  let tmp: string;
  beforeAll(async () => {
    server = await startGitServer({ username: "alice", password: "pa55word-canary" });
    tmp = await mkdtemp(join(tmpdir(), "git-server-test-"));
  });
  afterAll(async () => {
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it("serves clone and push with basic auth, and answers 401 without it", async () => {
    const seed = join(tmp, "seed");
    await run("mkdir", ["-p", seed]);
    await writeFile(join(seed, "a.yaml"), "a: 1\n");
    await server.createBareRepo("r.git", { seedFrom: seed });

    const res = await fetch(`${server.url("r.git")}/info/refs?service=git-upload-pack`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic /);

    const pushes: string[] = [];
    const off = server.onRequest((r) => {
      if (r.isPush) pushes.push(r.repo);
    });
    const clone = join(tmp, "clone");
    await git(["clone", "-q", server.authUrl("r.git"), clone]);
    await writeFile(join(clone, "b.yaml"), "b: 2\n");
    await git(["add", "b.yaml"], clone);
    await git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "b"], clone);
    await git(["push", "-q", "origin", "HEAD:main"], clone);
    off();
    expect(pushes).toEqual(["r.git"]);

    // Another writer moves the branch; a stale push is refused, and a forced one too.
    await server.commitDirect("r.git", { files: { "c.yaml": "c: 3\n", "a.yaml": null }, message: "other" });
    await writeFile(join(clone, "d.yaml"), "d: 4\n");
    await git(["add", "d.yaml"], clone);
    await git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "d"], clone);
    await expect(git(["push", "-q", "origin", "HEAD:main"], clone)).rejects.toThrow(/rejected|fetch first/);
    await expect(git(["push", "-q", "--force", "origin", "HEAD:main"], clone)).rejects.toThrow();
    const { stdout } = await git(["ls-tree", "--name-only", "main"], join(server.root, "r.git"));
    expect(stdout.split("\n").filter(Boolean)).toEqual(["b.yaml", "c.yaml"]);
    expect(server.requestCount()).toBeGreaterThan(4);
  });

  it("refuses wrong credentials", async () => {
    await server.createBareRepo("empty.git");
    const bad = server.url("empty.git").replace("http://", "http://alice:wrong@");
    await expect(git(["ls-remote", bad])).rejects.toThrow(/Authentication failed|401/);
  });
});
