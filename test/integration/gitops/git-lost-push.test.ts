/**
 * A push the server applied but whose answer was lost (connection closed after the update) is not
 * a failure: the repo checks whether its commit landed and finishes the commit (issue 11).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { repoSchema } from "../../../src/config/schema.js";
import { nullLogger } from "../../../src/core/ports.js";
import type { Change } from "../../../src/gitops/config-repo.js";
import { GitConfigRepo } from "../../../src/gitops/git-config-repo.js";
import { type GitServer, startGitServer } from "../../harness/git-server.js";

const run = promisify(execFile);
const USER = "bot";
const PASSWORD = "lost-push-pass-42";

const lockChange = (message: string): Change => ({
  subject: `[dev/podinfo] lock: ${message}`,
  author: { name: "Alice", email: "alice@example.com" },
  trailers: [["Gitops-Action", "lock"]],
  edits: [async (f) => f.write("releases/dev/podinfo.yaml", `image:\n  tag: 1.0.0\n# ${message}\n`)],
});

describe.each(["native", "isomorphic"] as const)("a lost push answer (%s backend)", (backend) => {
  let server: GitServer;
  let tmp: string;
  let n = 0;
  let name: string;
  const bareHead = async () =>
    (
      await run("git", ["rev-parse", "main"], {
        env: { ...process.env, GIT_DIR: join(server.root, name), GIT_CONFIG_NOSYSTEM: "1" },
      })
    ).stdout.trim();
  const count = async () =>
    (
      await run("git", ["rev-list", "--count", "main"], {
        env: { ...process.env, GIT_DIR: join(server.root, name), GIT_CONFIG_NOSYSTEM: "1" },
      })
    ).stdout.trim();
  const open = () =>
    GitConfigRepo.open(
      repoSchema.parse({
        url: server.url(name),
        workdir: join(tmp, `wd-${n}`),
        backend,
        auth: { username: USER, password: PASSWORD },
      }),
      { logger: nullLogger },
    );

  beforeAll(async () => {
    server = await startGitServer({ username: USER, password: PASSWORD });
    tmp = await mkdtemp(join(tmpdir(), `lost-push-${backend}-`));
  });
  afterAll(async () => {
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(async () => {
    name = `r${++n}.git`;
    await server.createBareRepo(name);
    await server.commitDirect(name, {
      message: "initial",
      files: { "releases/dev/podinfo.yaml": "image:\n  tag: 1.0.0\n" },
    });
  });

  it("finishes the commit when the push landed", async () => {
    const repo = await open();
    try {
      let dropped = 0;
      const off = server.onRequest((r) => {
        if (r.isPush && r.authenticated && dropped++ === 0) return "drop-response";
      });
      const res = await repo.commit(lockChange("testing")).finally(off);
      expect(dropped).toBeGreaterThan(0);
      expect(res.sha).toBe(await bareHead());
      expect(await repo.head()).toBe(res.sha);
      expect(await count()).toBe("2"); // exactly one new commit: no duplicate, no retry
    } finally {
      await repo.close();
    }
  });

  it("finishes the commit when the push landed and another writer built on it before the check", async () => {
    const repo = await open();
    try {
      let other = "";
      const off = server.onRequest((r) => (r.isPush && r.authenticated ? "drop-response" : undefined));
      // Once our push is in, another writer commits on top before our check fetches.
      const offOther = server.onRequest(async (r) => {
        if (r.method === "GET" && r.path === "/info/refs" && r.service === "git-upload-pack" && !other) {
          const head = await bareHead().catch(() => "");
          if (head && (await count()) === "2") {
            other = await server.commitDirect(name, {
              message: "other writer",
              files: { "b.yaml": "b: 1\n" },
            });
          }
        }
      });
      const res = await repo.commit(lockChange("frozen")).finally(() => {
        off();
        offOther();
      });
      expect(other).not.toBe("");
      expect(await count()).toBe("3");
      const log = (
        await run("git", ["log", "--format=%H", "main"], {
          env: { ...process.env, GIT_DIR: join(server.root, name), GIT_CONFIG_NOSYSTEM: "1" },
        })
      ).stdout;
      expect(log).toContain(res.sha as string);
    } finally {
      await repo.close();
    }
  });

  it("still fails when the push did not land", async () => {
    const repo = await open();
    try {
      const off = server.onRequest((r) => {
        if (r.isPush) throw new Error("receive-pack exploded");
      });
      await expect(repo.commit(lockChange("nope")).finally(off)).rejects.toThrow();
      expect(await count()).toBe("1");
    } finally {
      await repo.close();
    }
  });
});
