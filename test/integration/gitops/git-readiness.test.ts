/**
 * `/readyz` reflects whether the config repo's git server answers: a recent fetch or push counts,
 * otherwise a probe fetch that answers within its bound even when the server hangs.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoSchema } from "../../../src/config/schema.js";
import { nullLogger } from "../../../src/core/ports.js";
import { GitConfigRepo } from "../../../src/gitops/git-config-repo.js";
import { HttpServer } from "../../../src/http/server.js";
import { type GitServer, startGitServer } from "../../harness/git-server.js";

const USER = "bot";
const PASSWORD = "ready-pass-1234";

describe("config repo readiness", () => {
  let server: GitServer;
  let tmp: string;
  beforeAll(async () => {
    server = await startGitServer({ username: USER, password: PASSWORD });
    await server.createBareRepo("ready.git", {
      seedFrom: join(import.meta.dirname, "../../../examples/config-repo"),
    });
    tmp = await mkdtemp(join(tmpdir(), "ready-it-"));
  });
  afterAll(async () => {
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  for (const backend of ["native", "isomorphic"] as const) {
    it(`${backend}: ready after a recent fetch; not ready, within the bound, while the server hangs or fails`, async () => {
      let now = Date.parse("2026-01-01T00:00:00Z");
      const repo = await GitConfigRepo.open(
        repoSchema.parse({
          url: server.url("ready.git"),
          workdir: join(tmp, backend),
          backend,
          auth: { username: USER, password: PASSWORD },
        }),
        { logger: nullLogger, clock: { now: () => new Date(now) } },
      );
      const http = new HttpServer({ host: "127.0.0.1", port: 0, logger: nullLogger });
      http.readiness("config-repo", () => repo.ready());
      const { url } = await http.start();
      let release: () => void = () => {};
      try {
        // Just opened (it fetched): ready without asking the server.
        const before = server.requestCount();
        expect(await repo.ready()).toBe(true);
        expect(server.requestCount()).toBe(before);
        expect((await fetch(`${url}/readyz`)).status).toBe(200);

        // The server stops answering; the last fetch is a few minutes old.
        const hang = new Promise<void>((r) => {
          release = r;
        });
        const off = server.onRequest(() => hang);
        now += 5 * 60_000;
        const t0 = Date.now();
        expect(await repo.ready({ timeoutMs: 300 })).toBe(false);
        expect(Date.now() - t0).toBeLessThan(2_000);
        const probe = await fetch(`${url}/readyz`);
        expect(probe.status).toBe(503);
        expect(await probe.json()).toEqual({ ready: false, checks: { "config-repo": false } });
        off();
        release();

        // The server fails outright: not ready either.
        const offFail = server.onRequest(() => {
          throw new Error("server down");
        });
        now += 5 * 60_000;
        await expect.poll(() => repo.ready(), { timeout: 10_000 }).toBe(false);
        offFail();

        // It answers again: the next probe fetches and the service is ready again.
        await expect.poll(() => repo.ready({ timeoutMs: 5_000 }), { timeout: 20_000 }).toBe(true);
        expect((await fetch(`${url}/readyz`)).status).toBe(200);
      } finally {
        release();
        await http.stop();
        await repo.close();
      }
    });
  }
});
