/** The cross-process lock on a working clone: exclusion, waiting, takeover of an abandoned lock. */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TransientError } from "../../../src/core/errors.js";
import { WorkdirLock } from "../../../src/gitops/git/workdir-lock.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "workdir-lock-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("WorkdirLock", () => {
  it("runs holders one at a time, even as separate lock objects (separate processes)", async () => {
    const workdir = join(dir, "clone");
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        new WorkdirLock(workdir).run(async () => {
          most = Math.max(most, ++inside);
          await new Promise((r) => setTimeout(r, 15));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it("releases the lock when the holder throws", async () => {
    const lock = new WorkdirLock(join(dir, "clone"));
    await expect(lock.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await lock.run(async () => 7)).toBe(7);
  });

  it("takes over a lock whose process is gone", async () => {
    const workdir = join(dir, "clone");
    await mkdir(`${workdir}.lock`);
    const owner = { pid: 99_999_999, host: hostname(), token: "dead", since: new Date().toISOString() };
    await writeFile(join(`${workdir}.lock`, "owner.json"), JSON.stringify(owner));
    expect(await new WorkdirLock(workdir, { timeoutMs: 2000 }).run(async () => "ok")).toBe("ok");
  });

  it("gives up with a TransientError naming the holder when a live lock is never released", async () => {
    const workdir = join(dir, "clone");
    await mkdir(`${workdir}.lock`);
    const owner = { pid: process.pid, host: hostname(), token: "live", since: new Date().toISOString() };
    await writeFile(join(`${workdir}.lock`, "owner.json"), JSON.stringify(owner));
    const err = await new WorkdirLock(workdir, { timeoutMs: 100 }).run(async () => "no").catch((e) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toContain(`pid ${process.pid}`);
  });
});
