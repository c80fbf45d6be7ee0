// Leader election (issue #6) with two bot instances against the real API server: only the
// leader syncs; a partitioned leader stops before the other takes the Lease; the new leader
// resumes from the state in the cluster without re-announcing; a clean shutdown hands over at once.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoSchema } from "../../src/config/schema.js";
import type { GitopsEvent, SyncEvent } from "../../src/core/events.js";
import { nullLogger } from "../../src/core/ports.js";
import { GitConfigRepo } from "../../src/gitops/git-config-repo.js";
import type { K8sKubeClient } from "../../src/kube/k8s-client.js";
import { LeaderElector } from "../../src/kube/leader-election.js";
import { SyncService } from "../../src/reconciler/sync/service.js";
import { e2eEnv, e2eKubeClient } from "../harness/e2e.js";
import { type GitServer, startGitServer } from "../harness/git-server.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

const USER = "e2e";
const PASSWORD = randomBytes(8).toString("hex");
let git: GitServer;
let scratch: string;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "gitops-bot-leader-e2e-"));
  git = await startGitServer({ username: USER, password: PASSWORD });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await git?.stop();
  await rm(scratch, { recursive: true, force: true });
});

const until = async (what: string, cond: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

interface Instance {
  name: string;
  kube: K8sKubeClient;
  elector: LeaderElector;
  svc: SyncService;
  events: GitopsEvent[];
  log: { what: string; at: number }[];
}

describe("leader election e2e", () => {
  it("two replicas: only the leader writes; a partitioned leader stops before the other takes over", async () => {
    const id = randomBytes(4).toString("hex");
    const ns = `leader-${id}`;
    const seed = join(scratch, "seed");
    await mkdir(join(seed, "namespaces"), { recursive: true });
    await mkdir(join(seed, "releases", "dev"), { recursive: true });
    await writeFile(
      join(seed, "namespaces", "ns.yaml"),
      `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`,
    );
    const cm = (v: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: ${ns}\ndata:\n  value: "${v}"\n`;
    await writeFile(join(seed, "releases", "dev", "app.yaml"), cm("1"));
    const repoName = `leader-${id}.git`;
    await git.createBareRepo(repoName, { seedFrom: seed });

    const proxyA = await startTcpProxy(Number(new URL(e2eEnv().kubeServer).port));
    cleanups.push(() => proxyA.close());
    const timing = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };

    const start = async (name: string, kube: K8sKubeClient): Promise<Instance> => {
      const repo = await GitConfigRepo.open(
        repoSchema.parse({
          url: git.url(repoName),
          branch: "main",
          auth: { username: USER, password: PASSWORD },
          workdir: join(scratch, `work-${name}`),
        }),
        { logger: nullLogger },
      );
      const events: GitopsEvent[] = [];
      const log: Instance["log"] = [];
      const elector = new LeaderElector(kube, {
        namespace: "gitops-bot-system",
        name: `lease-${id}`,
        identity: name,
        ...timing,
      });
      const svc = new SyncService(
        {
          name: `leader-${id}`,
          paths: [
            { path: "namespaces/", prune: true },
            { path: "releases/", prune: true },
          ],
          intervalMs: 3_600_000,
          prune: true,
          driftCorrection: true,
          concurrency: 4,
          namespace: "gitops-bot-system",
          clusterName: "e2e",
          source: `${repo.publicUrl}#main`,
        },
        { repo, kube, sink: { emit: (e) => events.push(e) }, leader: () => elector.leader() },
      );
      elector.run({
        onStartedLeading: (signal) => {
          log.push({ what: "started", at: performance.now() });
          svc.lead(signal);
        },
        onStoppedLeading: () => log.push({ what: "stopped", at: performance.now() }),
      });
      cleanups.push(async () => {
        await elector.stop();
        svc.pause();
        await repo.close();
        kube.close();
      });
      return { name, kube, elector, svc, events, log };
    };

    const a = await start("replica-a", e2eKubeClient({ proxyPort: proxyA.port, timeoutMs: 2_000 }));
    await until("a to lead", () => a.elector.isLeader());
    const b = await start("replica-b", e2eKubeClient({ timeoutMs: 2_000 }));
    // a's first sync creates the objects, once.
    await until("a's first sync", () => a.events.some((e) => e.kind === "sync"));
    const first = a.events.find((e): e is SyncEvent => e.kind === "sync");
    expect(first?.objects.map((o) => `${o.id}=${o.action}`).sort()).toEqual(
      [`${ns}:configmap/app=created`, `<cluster>:namespace/${ns}=created`].sort(),
    );

    // b follows: the chat `sync` command on it is refused with the leader's name, and it writes nothing.
    await new Promise((r) => setTimeout(r, timing.leaseDurationMs + 500));
    expect(b.elector.isLeader()).toBe(false);
    const refused = await b.svc.trigger({ actor: "alice" });
    expect(refused).toMatchObject({ accepted: false });
    expect(refused.message).toContain("replica-a");
    expect(b.kube.stats().writes).toBe(0);
    expect(b.events).toEqual([]);

    // Partition a from the API server: it must stop before b can take the lease.
    proxyA.cut();
    await until("b to lead", () => b.elector.isLeader(), 15_000);
    const aStopped = a.log.find((l) => l.what === "stopped")?.at;
    const bStarted = b.log.find((l) => l.what === "started")?.at;
    expect(aStopped).toBeDefined();
    expect(aStopped as number).toBeLessThan(bStarted as number);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.svc.controller.running).toBe(false);

    // b resumes from the state in the cluster: nothing re-applied, nothing re-announced.
    await until("b's first sync", () => b.svc.controller.status(`sync/leader-${id}`).status !== "unknown");
    expect(b.svc.controller.status(`sync/leader-${id}`).status).toBe("ready");
    expect(b.events).toEqual([]);

    // A new commit is applied by b, the leader, and announced by b alone.
    await git.commitDirect(repoName, { files: { "releases/dev/app.yaml": cm("2") }, message: "bump app" });
    const done = await b.svc.trigger({ actor: "alice" });
    expect(done.accepted).toBe(true);
    const bumped = b.events.find((e): e is SyncEvent => e.kind === "sync");
    expect(bumped?.objects).toEqual([
      { id: `${ns}:configmap/app`, file: "releases/dev/app.yaml", action: "configured" },
    ]);
    expect((await a.svc.trigger()).accepted).toBe(false);
    expect(a.events.filter((e) => e.kind === "sync")).toHaveLength(1);

    // a comes back as a follower; b shuts down cleanly and a takes over without waiting out the lease.
    proxyA.restore();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(a.elector.isLeader()).toBe(false);
    const stoppedAt = performance.now();
    await b.elector.stop();
    await until("a to lead again", () => a.elector.isLeader(), 10_000);
    expect(performance.now() - stoppedAt).toBeLessThan(timing.leaseDurationMs);
  });
});
