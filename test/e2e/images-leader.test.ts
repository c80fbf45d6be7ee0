/**
 * Image automation in a cluster (issue #12): two `serve` replicas against the real API server run
 * it on the Lease-elected leader only; the follower refuses with the leader's name and commits
 * nothing; when the leader stops, the other takes over and releases the next tag, once.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { nullLogger } from "../../src/core/ports.js";
import { type Service, startService } from "../../src/main.js";
import { e2eEnv } from "../harness/e2e.js";
import { type GitServer, startGitServer } from "../harness/git-server.js";
import { pushImage, type RegistryServer, startRegistry } from "../harness/registry.js";

const USER = "e2e";
const PASSWORD = randomBytes(8).toString("hex");
const day = (n: number) => new Date(Date.UTC(2026, 0, n, 12));
let git: GitServer;
let reg: RegistryServer;
let dir: string;
const services: Service[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gitops-bot-images-leader-"));
  [git, reg] = await Promise.all([startGitServer({ username: USER, password: PASSWORD }), startRegistry()]);
});

afterAll(async () => {
  for (const s of services) await s.stop();
  await Promise.all([git?.stop(), reg?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const until = async (what: string, cond: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** A config repo with one automated workload at dev-1, and a builder of replicas sharing a Lease
 * (`sync` overrides the sync section: `{ enabled: false }` turns it off; `image` is the workload's
 * repository in the registry, one per test). */
async function setup(sync: Record<string, unknown> = {}, image = "e2e/web") {
  const id = randomBytes(4).toString("hex");
  const ns = `images-${id}`;
  const seed = join(dir, "seed");
  await mkdir(join(seed, "releases", "dev"), { recursive: true });
  await writeFile(
    join(seed, "releases", "dev", "web.yaml"),
    [
      "apiVersion: apps/v1",
      "kind: Deployment",
      "metadata:\n  name: web\n  namespace: dev",
      '  annotations:\n    fluxcd.io/automated: "true"\n    filter.fluxcd.io/app: glob:dev-*',
      "spec:\n  template:\n    spec:\n      containers:",
      `        - name: app\n          image: ${reg.host}/${image}:dev-1`,
      "",
    ].join("\n"),
  );
  const repoName = `images-${id}.git`;
  await git.createBareRepo(repoName, { seedFrom: seed });
  await pushImage(reg, image, "dev-1", { created: day(1) });

  const replica = (name: string) =>
    startService(
      parseConfig(
        {
          clusterName: "e2e",
          repo: {
            url: git.url(repoName),
            auth: { username: USER, password: PASSWORD },
            workdir: join(dir, `work-${name}`, "clone"),
          },
          http: { host: "127.0.0.1", port: 0 },
          kube: {
            kubeconfig: e2eEnv().kubeconfigPath,
            leaderElection: {
              leaseName: `lease-${id}`,
              leaseDuration: "4s",
              renewDeadline: "3s",
              retryPeriod: "500ms",
            },
          },
          // The sync runs too unless `sync` turns it off (it shares the Lease); it syncs a folder the
          // repo does not have.
          sync: { name: `img-${id}`, namespace: ns, interval: "1h", paths: ["not-in-this-repo/"], ...sync },
          images: { interval: "1h" },
        },
        {},
      ),
      { env: { POD_NAME: `gitops-bot-${name}` }, logger: nullLogger },
    );
  return { replica };
}

describe("image automation with leader election", () => {
  it("runs on the leader only, and on the other replica once the leader stops", async () => {
    const { replica } = await setup();
    const a = await replica("a");
    services.push(a);
    await until("a to lead", () => a.images?.controller.running === true);
    const b = await replica("b");
    services.push(b);

    const releases = async () => {
      const log = await a.repo.log({ limit: 50 });
      return log.filter((c) => c.subject.includes("Auto-release")).map((c) => c.subject);
    };

    await pushImage(reg, "e2e/web", "dev-2", { created: day(2) });
    const onB = await b.images?.trigger({ reason: "command" });
    expect(onB).toMatchObject({ accepted: false });
    expect(onB?.message).toContain("gitops-bot-a");
    const onA = await a.images?.trigger({ reason: "command" });
    expect(onA?.result).toMatchObject({ status: "ready", reason: "Released" });
    await a.repo.sync();
    expect(await releases()).toEqual([`[dev/web] Auto-release ${reg.host}/e2e/web:dev-2`]);

    // a stops (releasing the Lease): b takes over and releases the next tag.
    await a.stop();
    services.splice(services.indexOf(a), 1);
    await until("b to lead", () => b.images?.controller.running === true, 15_000);
    // b's first cycle as leader finds nothing new (dev-2 is released already).
    expect((await b.images?.trigger({ reason: "command" }))?.result).toMatchObject({ reason: "UpToDate" });
    await pushImage(reg, "e2e/web", "dev-3", { created: day(3) });
    const next = await b.images?.trigger({ reason: "command" });
    expect(next?.result).toMatchObject({ status: "ready", reason: "Released" });
    await b.repo.sync();
    const log = await b.repo.log({ limit: 50 });
    expect(log.filter((c) => c.subject.includes("Auto-release")).map((c) => c.subject)).toEqual([
      `[dev/web] Auto-release ${reg.host}/e2e/web:dev-3`,
      `[dev/web] Auto-release ${reg.host}/e2e/web:dev-2`,
    ]);
  });

  it("elects one leader with the sync off too (sync.enabled: false)", async () => {
    const { replica } = await setup({ enabled: false }, "e2e/web-nosync");
    const a = await replica("a");
    services.push(a);
    await until("a to lead", () => a.images?.controller.running === true);
    const b = await replica("b");
    services.push(b);
    expect(a.sync).toBeUndefined();
    await pushImage(reg, "e2e/web-nosync", "dev-2", { created: day(2) });
    // The follower refuses and names the leader: one replica commits, not every one.
    const onB = await b.images?.trigger({ reason: "command" });
    expect(onB).toMatchObject({ accepted: false });
    expect(onB?.message).toContain("gitops-bot-a");
    expect(b.images?.controller.running).toBe(false);
    const onA = await a.images?.trigger({ reason: "command" });
    expect(onA?.result).toMatchObject({ status: "ready", reason: "Released" });
    await b.repo.sync();
    const log = await b.repo.log({ limit: 50 });
    expect(log.filter((c) => c.subject.includes("Auto-release")).map((c) => c.subject)).toEqual([
      `[dev/web] Auto-release ${reg.host}/e2e/web-nosync:dev-2`,
    ]);
  });
});
