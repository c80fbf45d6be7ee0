// The sync reconciler (issue #6) against the real kube-apiserver and a real git server:
// create / update / no-op / prune / ignore / error isolation / CRD ordering / immutable fields /
// drift / restart resumes / force push / unreachable git / API server outage and restart mid-sync.
import { randomBytes } from "node:crypto";
import { symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReconcilerEvent } from "../../src/core/events.js";
import { ANN_CREATED } from "../../src/reconciler/sync/engine.js";
import { e2eEnv, e2eKubeClient } from "../harness/e2e.js";
import type { GitServer } from "../harness/git-server.js";
import { startKube } from "../harness/kube.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import {
  actions,
  cmRef,
  cmYaml,
  deployYaml,
  execFileP,
  nsYaml,
  PASSWORD,
  type SyncSuite,
  startSyncSuite,
  syncEvents,
  value,
} from "./sync-fixture.js";

let suite: SyncSuite;
let git: GitServer;
let scratch: string;
const cleanups: (() => Promise<void> | void)[] = [];
const fixture: SyncSuite["fixture"] = (files, opts) => suite.fixture(files, opts);

beforeAll(async () => {
  suite = await startSyncSuite();
  ({ git, scratch } = suite);
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await suite?.stop();
});

describe("sync e2e: the basic loop", () => {
  it("creates, updates only what changed, makes no writes when nothing changed, and prunes", async () => {
    const f = await fixture((ns) => ({
      "namespaces/ns.yaml": nsYaml(ns),
      "releases/dev/app.yaml": `${cmYaml(ns, "config", "1")}---\n${deployYaml(ns, "web", 1)}`,
      "releases/dev/other.yaml": cmYaml(ns, "other", "1"),
      "README.md": "not a manifest\n",
    }));
    const first = await f.sync();
    expect(first.result?.status).toBe("ready");
    const [created] = syncEvents(f.take());
    expect(actions(created)).toEqual({
      [`<cluster>:namespace/${f.ns}`]: "created",
      [`${f.ns}:configmap/config`]: "created",
      [`${f.ns}:deployment/web`]: "created",
      [`${f.ns}:configmap/other`]: "created",
    });
    expect(created?.cluster).toBe("e2e");
    expect(created?.toRevision).toBe(await f.repo.head());
    const live = await f.kube.get(cmRef(f.ns, "config"));
    expect(value(live)).toBe("1");
    // Applied with server-side apply by our field manager.
    expect(live?.metadata.managedFields?.map((m) => `${m.manager}/${m.operation}`)).toContain(
      "gitops-bot/Apply",
    );

    // No-op: no writes at all, no event.
    let writes = f.kube.stats().writes;
    await f.sync();
    expect(f.kube.stats().writes).toBe(writes);
    expect(f.take()).toEqual([]);

    // Update one object: only it is written (plus the state record).
    const from = await f.repo.head();
    await f.push({ "releases/dev/other.yaml": cmYaml(f.ns, "other", "2") }, "bump other");
    writes = f.kube.stats().writes;
    await f.sync();
    const [updated] = syncEvents(f.take());
    expect(actions(updated)).toEqual({ [`${f.ns}:configmap/other`]: "configured" });
    expect(updated?.fromRevision).toBe(from);
    expect(updated?.commits.map((c) => c.subject)).toEqual(["bump other"]);
    expect(f.kube.stats().writes - writes).toBe(2);
    expect(value(await f.kube.get(cmRef(f.ns, "other")))).toBe("2");

    // Prune: the Deployment leaves git.
    await f.push({ "releases/dev/app.yaml": cmYaml(f.ns, "config", "1") }, "drop web");
    await f.sync();
    const [pruned] = syncEvents(f.take());
    expect(actions(pruned)).toEqual({ [`${f.ns}:deployment/web`]: "pruned" });
    expect(pruned?.objects[0]?.file).toBe("releases/dev/app.yaml");
    expect(
      await f.kube.get({ apiVersion: "apps/v1", kind: "Deployment", namespace: f.ns, name: "web" }),
    ).toBeUndefined();

    const status = await f.svc.status.read();
    expect(status).toMatchObject({ result: "success", lastAppliedRevision: await f.repo.head(), errors: [] });
  });

  it("never prunes what it did not create, and honours fluxcd.io/ignore and the prune opt-out", async () => {
    const f = await fixture((ns) => ({
      "namespaces/ns.yaml": nsYaml(ns),
      "releases/dev/mine.yaml": cmYaml(ns, "mine", "1"),
      "releases/dev/keep.yaml": cmYaml(ns, "keep", "1", "    gitops-bot.dev/prune: disabled\n"),
      "releases/dev/ignored.yaml": cmYaml(ns, "ignored", "1", '    fluxcd.io/ignore: "true"\n'),
    }));
    // Created by a person before the bot adopts it.
    await f.kube.apply(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: f.ns } },
      { fieldManager: "kubectl", force: true },
    );
    await f.kube.apply(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "theirs", namespace: f.ns },
        data: { value: "0" },
      },
      { fieldManager: "kubectl", force: true },
    );
    await f.push({ "releases/dev/theirs.yaml": cmYaml(f.ns, "theirs", "1") }, "adopt theirs");
    await f.sync();
    const [ev] = syncEvents(f.take());
    expect(actions(ev)).toEqual({
      [`<cluster>:namespace/${f.ns}`]: "configured",
      [`${f.ns}:configmap/mine`]: "created",
      [`${f.ns}:configmap/keep`]: "created",
      [`${f.ns}:configmap/theirs`]: "configured",
    });
    expect(await f.kube.get(cmRef(f.ns, "ignored"))).toBeUndefined();
    expect((await f.kube.get(cmRef(f.ns, "theirs")))?.metadata.annotations?.[ANN_CREATED]).toBeUndefined();

    await f.push(
      {
        "releases/dev/mine.yaml": null,
        "releases/dev/keep.yaml": null,
        "releases/dev/theirs.yaml": null,
        "namespaces/ns.yaml": null,
      },
      "remove everything",
    );
    await f.sync();
    const [gone] = syncEvents(f.take());
    expect(actions(gone)).toEqual({ [`${f.ns}:configmap/mine`]: "pruned" });
    expect(await f.kube.get(cmRef(f.ns, "keep"))).toBeDefined();
    expect(await f.kube.get(cmRef(f.ns, "theirs"))).toBeDefined();
    expect(await f.kube.get({ apiVersion: "v1", kind: "Namespace", name: f.ns })).toBeDefined();
  });
});

describe("sync e2e: bad input is isolated", () => {
  it("reports malformed YAML, unknown kinds and invalid objects with their files; the rest applies", async () => {
    const f = await fixture((ns) => ({
      "namespaces/ns.yaml": nsYaml(ns),
      "releases/dev/good.yaml": cmYaml(ns, "good", "1"),
      "releases/dev/broken.yaml":
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n  labels: [oops\n",
      "releases/dev/gadget.yaml": `apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n  namespace: ${ns}\nspec: {}\n`,
      // One app: a valid ConfigMap and an invalid Service. Neither may apply.
      "releases/dev/api/config.yaml": cmYaml(ns, "api-config", "1"),
      "releases/dev/api/service.yaml": `apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: ${ns}\nspec:\n  ports:\n    - port: 70000\n`,
    }));
    const r = await f.sync();
    expect(r.result?.status).toBe("failed");
    const [ev] = syncEvents(f.take());
    const byId = Object.fromEntries((ev?.objects ?? []).map((o) => [o.id, o]));
    expect(byId[`${f.ns}:configmap/good`]?.action).toBe("created");
    expect(byId["file:releases/dev/broken.yaml"]).toMatchObject({
      action: "failed",
      file: "releases/dev/broken.yaml",
    });
    expect(byId["file:releases/dev/broken.yaml"]?.error).toMatch(/invalid YAML/);
    expect(byId[`${f.ns}:gadget/g`]).toMatchObject({ action: "failed", file: "releases/dev/gadget.yaml" });
    expect(byId[`${f.ns}:gadget/g`]?.error).toMatch(/unknown kind Gadget/);
    // The API server's own message, with the file.
    expect(byId[`${f.ns}:service/api`]).toMatchObject({
      action: "failed",
      file: "releases/dev/api/service.yaml",
    });
    expect(byId[`${f.ns}:service/api`]?.error).toMatch(/Service "api" is invalid: .*port/);
    expect(byId[`${f.ns}:configmap/api-config`]?.error).toMatch(/same app failed validation/);
    expect(await f.kube.get(cmRef(f.ns, "api-config"))).toBeUndefined();
    expect((await f.svc.status.read()).result).toBe("partial");

    // The same failures again: no new event.
    await f.sync();
    expect(f.take()).toEqual([]);
  });

  it("never follows a symbolic link out of the sync paths, and says so", async () => {
    const f = await fixture((ns) => ({
      "namespaces/ns.yaml": nsYaml(ns),
      "releases/dev/a.yaml": cmYaml(ns, "a", "1"),
      "secrets/leak.yaml": cmYaml(ns, "leak", "secret"),
    }));
    const work = join(scratch, `symlink-${f.id}`);
    const g = (...args: string[]) =>
      execFileP("git", ["-c", "user.name=Eve", "-c", "user.email=e@example.com", ...args], { cwd: work });
    await execFileP("git", ["clone", "--quiet", git.authUrl(f.repoName), work]);
    await symlink("../../secrets/leak.yaml", join(work, "releases/dev/leak.yaml"));
    await g("add", "-A");
    await g("commit", "--quiet", "-m", "link a file from outside");
    await g("push", "--quiet", "origin", "HEAD:main");
    await f.sync();
    const [ev] = syncEvents(f.take());
    expect(actions(ev)).toEqual({
      [`<cluster>:namespace/${f.ns}`]: "created",
      [`${f.ns}:configmap/a`]: "created",
      "file:releases/dev/leak.yaml": "failed",
    });
    const link = ev?.objects.find((o) => o.id === "file:releases/dev/leak.yaml");
    expect(link?.error).toMatch(/symbolic link: links are not followed/);
    expect(await f.kube.get(cmRef(f.ns, "leak"))).toBeUndefined();
    expect((await f.svc.status.read()).result).toBe("partial");
  });

  it("reports an immutable-field change and still applies the other objects", async () => {
    const f = await fixture((ns) => ({
      "namespaces/ns.yaml": nsYaml(ns),
      "releases/dev/web.yaml": deployYaml(ns, "web", 1),
      "releases/dev/config.yaml": cmYaml(ns, "config", "1"),
    }));
    await f.sync();
    f.take();
    await f.push(
      {
        "releases/dev/web.yaml": deployYaml(f.ns, "web", 1, "web-v2"),
        "releases/dev/config.yaml": cmYaml(f.ns, "config", "2"),
      },
      "change selector",
    );
    await f.sync();
    const [ev] = syncEvents(f.take());
    const web = ev?.objects.find((o) => o.id === `${f.ns}:deployment/web`);
    expect(web).toMatchObject({ action: "failed", file: "releases/dev/web.yaml" });
    expect(web?.error).toMatch(/field is immutable/);
    expect(actions(ev)[`${f.ns}:configmap/config`]).toBe("configured");
    // The failed change is not half-applied, and nothing was pruned.
    const live = await f.kube.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: f.ns,
      name: "web",
    });
    expect(live?.spec).toMatchObject({ selector: { matchLabels: { app: "web" } } });

    // Opting in with gitops-bot.dev/force replaces the object (delete + create).
    const forced = deployYaml(f.ns, "web", 1, "web-v2").replace(
      "metadata:\n  name: web\n",
      'metadata:\n  name: web\n  annotations:\n    gitops-bot.dev/force: "true"\n',
    );
    await f.push({ "releases/dev/web.yaml": forced }, "force the selector change");
    const r = await f.sync();
    expect(r.result?.status).toBe("ready");
    expect(actions(syncEvents(f.take())[0])).toEqual({ [`${f.ns}:deployment/web`]: "configured" });
    const replaced = await f.kube.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: f.ns,
      name: "web",
    });
    expect(replaced?.spec).toMatchObject({ selector: { matchLabels: { app: "web-v2" } } });
    expect(replaced?.metadata.uid).not.toBe(live?.metadata.uid);
  });

  it("applies a CRD and its custom resources from the same commit, HelmRelease included", async () => {
    const group = `e2e${randomBytes(3).toString("hex")}.fluxcd.io`;
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: helmreleases.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: { kind: HelmRelease, plural: helmreleases, singular: helmrelease, listKind: HelmReleaseList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }
`;
    const f = await fixture((ns) => ({
      "namespaces/ns.yaml": nsYaml(ns),
      "releases/crds/helmrelease.yaml": crd,
      "releases/dev/podinfo.yaml": `apiVersion: ${group}/v1
kind: HelmRelease
metadata:
  name: podinfo-dev
  namespace: ${ns}
  annotations:
    fluxcd.io/automated: "true"
spec:
  releaseName: podinfo-dev
  chart: { git: https://example.com/repo.git, path: charts/podinfo, ref: main }
  values: { image: { repository: ghcr.io/stefanprodan/podinfo, tag: dev-abc } }
`,
    }));
    const r = await f.sync();
    expect(r.result?.status).toBe("ready");
    const [ev] = syncEvents(f.take());
    expect(actions(ev)).toMatchObject({
      [`<cluster>:customresourcedefinition/helmreleases.${group}`]: "created",
      [`${f.ns}:helmrelease/podinfo-dev`]: "created",
    });
    const hr = await f.kube.get({
      apiVersion: `${group}/v1`,
      kind: "HelmRelease",
      namespace: f.ns,
      name: "podinfo-dev",
    });
    expect(hr?.spec).toMatchObject({ releaseName: "podinfo-dev" });
  });
});

describe("sync e2e: drift and restarts", () => {
  it("reports an object changed behind git's back and restores git's version on the next sync", async () => {
    const f = await fixture((ns) => ({
      "namespaces/ns.yaml": nsYaml(ns),
      "releases/dev/web.yaml": deployYaml(ns, "web", 2),
    }));
    await f.sync();
    f.take();
    // `kubectl scale`-like: an update by another client.
    const ref = { apiVersion: "apps/v1", kind: "Deployment", namespace: f.ns, name: "web" };
    const live = await f.kube.get(ref);
    if (!live) throw new Error("deployment missing");
    (live.spec as { replicas: number }).replicas = 5;
    await f.kube.replace(live);

    await f.sync();
    const [ev] = syncEvents(f.take());
    expect(ev?.objects).toEqual([
      {
        id: `${f.ns}:deployment/web`,
        file: "releases/dev/web.yaml",
        action: "configured",
        drift: ["spec.replicas"],
      },
    ]);
    expect((await f.kube.get(ref))?.spec).toMatchObject({ replicas: 2 });
    const status = await f.svc.status.read();
    expect(status.drift).toEqual([
      {
        id: `${f.ns}:deployment/web`,
        file: "releases/dev/web.yaml",
        fields: ["spec.replicas"],
        corrected: true,
      },
    ]);
    // Corrected: the next sync is quiet.
    await f.sync();
    expect(f.take()).toEqual([]);
  });

  it("a restarted bot resumes from the state in the cluster: no writes, no repeated announcement", async () => {
    const f = await fixture((ns) => ({
      "namespaces/ns.yaml": nsYaml(ns),
      "releases/dev/a.yaml": cmYaml(ns, "a", "1"),
    }));
    await f.sync();
    expect(syncEvents(f.take())).toHaveLength(1);
    f.restart();
    const writes = f.kube.stats().writes;
    await f.sync();
    expect(f.take()).toEqual([]);
    expect(f.kube.stats().writes).toBe(writes);
    // And a change made while it was down is announced with the right range.
    const from = await f.repo.head();
    f.restart();
    await f.push({ "releases/dev/a.yaml": cmYaml(f.ns, "a", "2") }, "while down");
    await f.sync();
    const [ev] = syncEvents(f.take());
    expect(ev?.fromRevision).toBe(from);
    expect(actions(ev)).toEqual({ [`${f.ns}:configmap/a`]: "configured" });
  });
});

describe("sync e2e: faults", () => {
  it("a force-pushed branch is synced with a warning, pruning what only the old history had", async () => {
    const f = await fixture((ns) => ({
      "namespaces/ns.yaml": nsYaml(ns),
      "releases/dev/a.yaml": cmYaml(ns, "a", "1"),
    }));
    await f.sync();
    await f.push({ "releases/dev/b.yaml": cmYaml(f.ns, "b", "1") }, "add b");
    await f.sync();
    f.take();
    // Someone rewrites history: drop "add b", commit something else, push --force.
    const work = join(scratch, `force-${f.id}`);
    const authed = git.authUrl(f.repoName);
    const g = (...args: string[]) =>
      execFileP("git", ["-c", "user.name=Mallory", "-c", "user.email=m@example.com", ...args], { cwd: work });
    await execFileP("git", ["clone", "--quiet", authed, work]);
    await g("reset", "--quiet", "--hard", "HEAD~1");
    await writeFile(join(work, "releases/dev/c.yaml"), cmYaml(f.ns, "c", "1"));
    await g("add", "-A");
    await g("commit", "--quiet", "-m", "add c instead");
    await g("push", "--quiet", "--force", "origin", "HEAD:main");

    const r = await f.sync();
    expect(r.result?.status).toBe("ready");
    const [ev] = syncEvents(f.take());
    expect(ev?.warnings?.join(" ")).toMatch(/force-pushed/);
    expect(actions(ev)).toEqual({ [`${f.ns}:configmap/c`]: "created", [`${f.ns}:configmap/b`]: "pruned" });
    expect(ev?.commits.map((c) => c.subject)).toContain("add c instead");
  });

  it("an unreachable git server fails the sync with one event, touches nothing, and recovers", async () => {
    const f = await fixture((ns) => ({
      "namespaces/ns.yaml": nsYaml(ns),
      "releases/dev/a.yaml": cmYaml(ns, "a", "1"),
    }));
    await f.sync();
    f.take();
    const off = git.onRequest(() => {
      throw new Error("git server down");
    });
    try {
      const r = await f.sync();
      expect(r.result?.status).toBe("failed");
      const evs = f.take() as ReconcilerEvent[];
      expect(evs).toHaveLength(1);
      expect(evs[0]).toMatchObject({
        kind: "reconciler",
        reconciler: "sync",
        state: "failed",
        cluster: "e2e",
      });
      expect(evs[0]?.message).toMatch(/cannot fetch the config repo/);
      expect(evs[0]?.message).not.toContain(PASSWORD);
      expect(await f.kube.get(cmRef(f.ns, "a"))).toBeDefined();
      expect((await f.svc.status.read()).result).toBe("failed");
      // Still down: no second event.
      await f.sync();
      expect(f.take()).toEqual([]);
    } finally {
      off();
    }
    await f.sync();
    expect(f.take()).toMatchObject([{ kind: "reconciler", state: "recovered" }]);
    expect((await f.svc.status.read()).result).toBe("success");
  });

  it("an API server outage mid-sync applies nothing twice and prunes nothing by mistake", async () => {
    const env = e2eEnv();
    const proxy = await startTcpProxy(Number(new URL(env.kubeServer).port));
    cleanups.push(() => proxy.close());
    const kube = e2eKubeClient({ proxyPort: proxy.port, timeoutMs: 10_000 });
    cleanups.push(() => kube.close());
    const many = (ns: string, n: number, v: string) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [
          `releases/dev/cm-${String(i).padStart(3, "0")}.yaml`,
          cmYaml(ns, `cm-${i}`, v),
        ]),
      );
    const f = await fixture(
      (ns) => ({ "namespaces/ns.yaml": nsYaml(ns), "releases/dev/old.yaml": cmYaml(ns, "old", "1") }),
      {
        kube,
      },
    );
    await f.sync();
    f.take();
    await f.push({ ...many(f.ns, 150, "1"), "releases/dev/old.yaml": null }, "150 new, drop old");
    // Cut the connection once the sync has started writing.
    const started = proxy.bytesUp();
    const watcher = setInterval(() => {
      if (proxy.bytesUp() - started > 40_000) {
        proxy.cut();
        clearInterval(watcher);
      }
    }, 5);
    const r = await f.sync();
    clearInterval(watcher);
    expect(r.result?.status).toBe("failed");
    const during = f.take();
    expect(during.find((e) => e.kind === "reconciler")).toMatchObject({ state: "failed" });
    expect((during.find((e) => e.kind === "reconciler") as ReconcilerEvent).message).toMatch(
      /cluster unavailable/,
    );
    // Nothing was pruned on a partial view.
    const direct = e2eKubeClient();
    cleanups.push(() => direct.close());
    expect(await direct.get(cmRef(f.ns, "old"))).toBeDefined();

    proxy.restore();
    const again = await f.sync();
    expect(again.result?.status).toBe("ready");
    const after = f.take();
    // Every object announced as created exactly once over both runs; old pruned once.
    const created = syncEvents([...during, ...after])
      .flatMap((e) => e.objects)
      .filter((o) => o.action === "created")
      .map((o) => o.id);
    expect(new Set(created).size).toBe(created.length);
    expect(created.length).toBe(150);
    expect(actions(syncEvents(after)[0])[`${f.ns}:configmap/old`]).toBe("pruned");
    expect(
      (await direct.list("v1", "ConfigMap", { namespace: f.ns })).filter((o) =>
        o.metadata.name.startsWith("cm-"),
      ),
    ).toHaveLength(150);
  });

  it("a real API server restart mid-sync: every object created once, nothing pruned on a partial view", async () => {
    // A cluster of its own (etcd + kube-apiserver), so killing its API server disturbs no other test.
    const own = await startKube({ tools: e2eEnv().tools });
    cleanups.push(() => own.stop());
    const kube = e2eKubeClient({ kubeconfigPath: own.kubeconfigPath, timeoutMs: 10_000 });
    cleanups.push(() => kube.close());
    const f = await fixture(
      (ns) => ({ "namespaces/ns.yaml": nsYaml(ns), "releases/dev/old.yaml": cmYaml(ns, "old", "1") }),
      { kube },
    );
    await f.sync();
    f.take();
    const many = Object.fromEntries(
      Array.from({ length: 150 }, (_, i) => [
        `releases/dev/cm-${String(i).padStart(3, "0")}.yaml`,
        cmYaml(f.ns, `cm-${i}`, "1"),
      ]),
    );
    await f.push({ ...many, "releases/dev/old.yaml": null }, "150 new, drop old");

    // Kill the API server once the sync has started writing; it comes back 1.5 s later.
    const writes = kube.stats().writes;
    let restarted: Promise<void> | undefined;
    const watcher = setInterval(() => {
      if (!restarted && kube.stats().writes - writes >= 10)
        restarted = own.restartApiServer({ downMs: 1_500 });
    }, 2);
    const first = await f.sync();
    clearInterval(watcher);
    expect(restarted).toBeDefined();
    await restarted;
    const during = f.take();
    const direct = e2eKubeClient({ kubeconfigPath: own.kubeconfigPath, timeoutMs: 10_000 });
    cleanups.push(() => direct.close());
    // The sync that was cut said why (the controller then retries with backoff on its own).
    expect(first.result?.status).toBe("failed");
    expect(first.result?.message).toMatch(/cluster unavailable/);

    // The next sync (the interval, a push or `sync`) finishes the job.
    const again = await f.sync();
    expect(again.result?.status).toBe("ready");
    const after = f.take();
    const events = [...during, ...after];
    // The prune happened only in a run that saw everything: after the last failed attempt.
    const pruneAt = events.findIndex(
      (e) => e.kind === "sync" && e.objects.some((o) => o.action === "pruned"),
    );
    const lastFailure = events.findLastIndex((e) => e.kind === "reconciler" && e.state === "failed");
    expect(lastFailure).toBeGreaterThanOrEqual(0);
    expect(pruneAt).toBeGreaterThan(lastFailure);
    const all = syncEvents(events).flatMap((e) => e.objects);
    const created = all.filter((o) => o.action === "created").map((o) => o.id);
    expect(new Set(created).size).toBe(created.length);
    expect(created).toHaveLength(150);
    expect(all.filter((o) => o.action === "pruned").map((o) => o.id)).toEqual([`${f.ns}:configmap/old`]);
    const live = await direct.list("v1", "ConfigMap", { namespace: f.ns });
    expect(live.filter((o) => o.metadata.name.startsWith("cm-"))).toHaveLength(150);
    expect(live.find((o) => o.metadata.name === "old")).toBeUndefined();
    expect((await f.svc.status.read()).result).toBe("success");
  });
});
