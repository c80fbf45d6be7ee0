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

  it("inflates gzip request bodies and passes the protocol v2 header through", async () => {
    const { gzipSync } = await import("node:zlib");
    await server.createBareRepo("gz.git");
    await server.commitDirect("gz.git", { files: { "a.yaml": "a: 1\n" }, message: "init" });
    const auth = `Basic ${Buffer.from("alice:pa55word-canary").toString("base64")}`;
    const pkt = (s: string) => `${(s.length + 4).toString(16).padStart(4, "0")}${s}`;
    const res = await fetch(`${server.url("gz.git")}/git-upload-pack`, {
      method: "POST",
      headers: {
        authorization: auth,
        "content-type": "application/x-git-upload-pack-request",
        "content-encoding": "gzip",
        "git-protocol": "version=2",
      },
      body: gzipSync(Buffer.from(`${pkt("command=ls-refs\n")}0001${pkt("ref-prefix refs/heads/\n")}0000`)),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/[0-9a-f]{40} refs\/heads\/main/);
  });

  it("refuses wrong credentials", async () => {
    await server.createBareRepo("empty.git");
    const bad = server.url("empty.git").replace("http://", "http://alice:wrong@");
    await expect(git(["ls-remote", bad])).rejects.toThrow(/Authentication failed|401/);
  });
});
