import { describe, expect, it } from "vitest";
import { TransientError } from "../../../../src/core/errors.js";
import type { GitopsEvent, ReconcilerEvent, SyncEvent } from "../../../../src/core/events.js";
import { KubeApiError, type KubeObject } from "../../../../src/kube/client.js";
import { ANN_CREATED } from "../../../../src/reconciler/sync/engine.js";
import { SyncService } from "../../../../src/reconciler/sync/service.js";
import { FakeKubeClient } from "../../../helpers/fake-kube-client.js";
import { InMemoryConfigRepo } from "../../../helpers/in-memory-config-repo.js";
import { RecordingLogger } from "../../../helpers/recording-logger.js";

const ns = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
const cm = (namespace: string, name: string, value: string, extra = "") =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n${extra}data:\n  key: "${value}"\n`;
const deploy = (namespace: string, name: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
        - name: app
          image: nginx:1.27
`;

function setup(
  files: Record<string, string>,
  opts: { driftCorrection?: boolean; kube?: FakeKubeClient; logger?: RecordingLogger } = {},
) {
  const repo = new InMemoryConfigRepo(files);
  const kube = opts.kube ?? new FakeKubeClient();
  const events: GitopsEvent[] = [];
  const make = () =>
    new SyncService(
      {
        name: "default",
        paths: [
          { path: "namespaces/", prune: true },
          { path: "releases/", prune: true },
          { path: "keep/", prune: false },
        ],
        intervalMs: 3_600_000,
        prune: true,
        driftCorrection: opts.driftCorrection ?? true,
        concurrency: 4,
        namespace: "gitops-bot-system",
        clusterName: "test-cluster",
        source: "memory://config-repo#main",
      },
      { repo, kube, sink: { emit: (e) => events.push(e) }, ...(opts.logger ? { logger: opts.logger } : {}) },
    );
  let svc = make();
  svc.controller.start();
  const take = () => events.splice(0, events.length);
  return {
    repo,
    kube,
    events,
    take,
    sync: async () => {
      const r = await svc.trigger();
      return r.result;
    },
    restart: () => {
      svc.pause();
      svc = make();
      svc.controller.start();
    },
    get svc() {
      return svc;
    },
  };
}

const syncEvents = (evs: GitopsEvent[]) => evs.filter((e): e is SyncEvent => e.kind === "sync");
const actions = (ev: SyncEvent | undefined) =>
  Object.fromEntries((ev?.objects ?? []).map((o) => [o.id, o.action])) as Record<string, string>;

const dataKey = (o?: KubeObject) => (o?.data as Record<string, string> | undefined)?.key;
const replicas = (o?: KubeObject) => (o?.spec as { replicas?: number } | undefined)?.replicas;
const CM = (namespace: string, name: string) => ({ apiVersion: "v1", kind: "ConfigMap", namespace, name });

describe("sync: create, update, no-op", () => {
  it("applies namespaces first, reports created objects with their files, and records the revision", async () => {
    const t = setup({
      "namespaces/dev.yaml": ns("dev"),
      "releases/dev/podinfo.yaml": `${cm("dev", "podinfo", "v1")}---\n${deploy("dev", "podinfo", 2)}`,
    });
    const triggered = await t.svc.trigger({ actor: "alice" });
    expect(triggered).toMatchObject({ accepted: true, revision: await t.repo.head() });
    expect(triggered.message).toMatch(/^[0-9a-f]{7}: 3 created, 0 configured, 0 pruned$/);
    const result = triggered.result;
    expect(result?.status).toBe("ready");
    const [ev, ...rest] = syncEvents(t.take());
    expect(rest).toHaveLength(0);
    expect(ev?.cluster).toBe("test-cluster");
    expect(ev?.toRevision).toBe(await t.repo.head());
    expect(ev?.fromRevision).toBeUndefined();
    expect(actions(ev)).toEqual({
      "<cluster>:namespace/dev": "created",
      "dev:configmap/podinfo": "created",
      "dev:deployment/podinfo": "created",
    });
    expect(ev?.objects.find((o) => o.id === "dev:deployment/podinfo")?.file).toBe(
      "releases/dev/podinfo.yaml",
    );
    // Namespace applied before anything in it.
    const applies = t.kube.calls.filter((c) => c.startsWith("apply "));
    expect(applies[0]).toBe("apply Namespace /dev");
    const status = await t.svc.status.read();
    expect(status.lastAppliedRevision).toBe(await t.repo.head());
    expect(status.result).toBe("success");
  });

  it("trigger without waiting answers at once and the sync still runs", async () => {
    const t = setup({ "namespaces/dev.yaml": ns("dev"), "releases/dev/a.yaml": cm("dev", "a", "1") });
    expect(await t.svc.trigger({ wait: false, actor: "alice" })).toEqual({
      accepted: true,
      message: "sync started",
    });
    const done = await t.svc.trigger();
    expect(done.result?.status).toBe("ready");
    expect(t.kube.peek(CM("dev", "a"))).toBeDefined();
  });

  it("a no-op re-sync makes no writes and emits nothing", async () => {
    const t = setup({ "namespaces/dev.yaml": ns("dev"), "releases/dev/a.yaml": cm("dev", "a", "1") });
    await t.sync();
    t.take();
    const before = t.kube.stats().writes;
    const r = await t.sync();
    expect(r?.status).toBe("ready");
    expect(t.kube.stats().writes).toBe(before);
    expect(t.take()).toEqual([]);
  });

  it("applies only the changed object and reports the revision range and commits", async () => {
    const t = setup({
      "namespaces/dev.yaml": ns("dev"),
      "releases/dev/a.yaml": cm("dev", "a", "1"),
      "releases/dev/b.yaml": cm("dev", "b", "1"),
    });
    await t.sync();
    const from = await t.repo.head();
    t.take();
    t.repo.commitFiles({ "releases/dev/a.yaml": cm("dev", "a", "2") }, "bump a");
    const writes = t.kube.stats().writes;
    await t.sync();
    const [ev] = syncEvents(t.take());
    expect(actions(ev)).toEqual({ "dev:configmap/a": "configured" });
    expect(ev?.fromRevision).toBe(from);
    expect(ev?.commits.map((c) => c.subject)).toEqual(["bump a"]);
    // One apply plus one state record update.
    expect(t.kube.stats().writes - writes).toBe(2);
    expect(dataKey(t.kube.peek(CM("dev", "a")))).toBe("2");
  });

  it("a restarted bot resumes from the recorded state without re-announcing", async () => {
    const t = setup({ "namespaces/dev.yaml": ns("dev"), "releases/dev/a.yaml": cm("dev", "a", "1") });
    await t.sync();
    t.take();
    t.restart();
    const writes = t.kube.stats().writes;
    await t.sync();
    expect(t.take()).toEqual([]);
    expect(t.kube.stats().writes).toBe(writes);
  });
});

describe("sync: prune", () => {
  it("deletes objects removed from git, and only those we created", async () => {
    const t = setup({
      "namespaces/dev.yaml": ns("dev"),
      "releases/dev/a.yaml": cm("dev", "a", "1"),
      "releases/dev/adopted.yaml": cm("dev", "adopted", "1"),
    });
    // "adopted" existed before the bot: it applies it but must never delete it.
    await t.kube.apply(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "dev" } },
      { fieldManager: "kubectl" },
    );
    await t.kube.apply(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "adopted", namespace: "dev" },
        data: { key: "0" },
      },
      { fieldManager: "kubectl" },
    );
    await t.sync();
    const first = syncEvents(t.take())[0];
    expect(actions(first)["dev:configmap/adopted"]).toBe("configured");
    expect(actions(first)["dev:configmap/a"]).toBe("created");
    expect(t.kube.peek(CM("dev", "a"))?.metadata.annotations?.[ANN_CREATED]).toBe("default");
    expect(t.kube.peek(CM("dev", "adopted"))?.metadata.annotations?.[ANN_CREATED]).toBeUndefined();

    t.repo.commitFiles({ "releases/dev/a.yaml": null, "releases/dev/adopted.yaml": null }, "remove both");
    await t.sync();
    const [ev] = syncEvents(t.take());
    expect(actions(ev)).toEqual({ "dev:configmap/a": "pruned" });
    expect(t.kube.peek(CM("dev", "a"))).toBeUndefined();
    expect(t.kube.peek(CM("dev", "adopted"))).toBeDefined();
    // The namespace the bot did not create stays too.
    expect(t.kube.peek({ apiVersion: "v1", kind: "Namespace", name: "dev" })).toBeDefined();
  });

  it("does not prune a namespace that still holds objects from git", async () => {
    const t = setup({ "namespaces/dev.yaml": ns("dev"), "releases/dev/a.yaml": cm("dev", "a", "1") });
    await t.sync();
    t.take();
    t.repo.commitFiles({ "namespaces/dev.yaml": null }, "namespace file removed by mistake");
    await t.sync();
    expect(syncEvents(t.take())).toEqual([]);
    expect(t.kube.peek({ apiVersion: "v1", kind: "Namespace", name: "dev" })).toBeDefined();
    t.repo.commitFiles({ "releases/dev/a.yaml": null }, "now the app too");
    await t.sync();
    expect(actions(syncEvents(t.take())[0])).toEqual({
      "dev:configmap/a": "pruned",
      "<cluster>:namespace/dev": "pruned",
    });
  });

  it("honours the prune opt-out annotation and paths with prune off", async () => {
    const t = setup({
      "namespaces/dev.yaml": ns("dev"),
      "releases/dev/keepme.yaml": cm(
        "dev",
        "keepme",
        "1",
        "  annotations:\n    gitops-bot.dev/prune: disabled\n",
      ),
      "keep/dev/other.yaml": cm("dev", "other", "1"),
      "releases/dev/gone.yaml": cm("dev", "gone", "1"),
    });
    await t.sync();
    t.take();
    t.repo.commitFiles(
      { "releases/dev/keepme.yaml": null, "keep/dev/other.yaml": null, "releases/dev/gone.yaml": null },
      "remove",
    );
    await t.sync();
    expect(actions(syncEvents(t.take())[0])).toEqual({ "dev:configmap/gone": "pruned" });
    expect(t.kube.peek(CM("dev", "keepme"))).toBeDefined();
    expect(t.kube.peek(CM("dev", "other"))).toBeDefined();
  });

  it("skips fluxcd.io/ignore objects: not applied, and not pruned when they were applied before", async () => {
    const t = setup({ "namespaces/dev.yaml": ns("dev"), "releases/dev/a.yaml": cm("dev", "a", "1") });
    await t.sync();
    t.take();
    t.repo.commitFiles(
      { "releases/dev/a.yaml": cm("dev", "a", "2", '  annotations:\n    fluxcd.io/ignore: "true"\n') },
      "ignore a",
    );
    await t.sync();
    expect(syncEvents(t.take())).toEqual([]);
    expect(dataKey(t.kube.peek(CM("dev", "a")))).toBe("1");
    // Also when the ignored manifest leaves the namespace to the default.
    t.repo.commitFiles({ "releases/dev/b.yaml": cm("default", "b", "1") }, "b");
    await t.kube.apply(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } },
      { fieldManager: "x" },
    );
    await t.sync();
    t.take();
    t.repo.commitFiles(
      {
        "releases/dev/b.yaml":
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  annotations:\n    fluxcd.io/ignore: "true"\n',
      },
      "ignore b",
    );
    await t.sync();
    expect(syncEvents(t.take())).toEqual([]);
    expect(t.kube.peek(CM("default", "b"))).toBeDefined();
  });
});

describe("sync: bad input", () => {
  it("reports malformed YAML with its file, applies the other apps, and prunes nothing from the bad file", async () => {
    const t = setup({
      "namespaces/dev.yaml": ns("dev"),
      "releases/dev/a.yaml": cm("dev", "a", "1"),
      "releases/dev/b.yaml": cm("dev", "b", "1"),
    });
    await t.sync();
    t.take();
    t.repo.commitFiles(
      {
        "releases/dev/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n",
        "releases/dev/b.yaml": cm("dev", "b", "2"),
      },
      "break a",
    );
    const r = await t.sync();
    expect(r?.status).toBe("failed");
    const [ev] = syncEvents(t.take());
    const bad = ev?.objects.find((o) => o.action === "failed");
    expect(bad?.file).toBe("releases/dev/a.yaml");
    expect(bad?.error).toMatch(/invalid YAML/);
    expect(actions(ev)["dev:configmap/b"]).toBe("configured");
    expect(t.kube.peek(CM("dev", "a"))).toBeDefined();
    expect((await t.svc.status.read()).result).toBe("partial");
  });

  it("an unknown kind fails its app only, with a clear message", async () => {
    const t = setup({
      "namespaces/dev.yaml": ns("dev"),
      "releases/dev/gadget.yaml":
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n  namespace: dev\nspec: {}\n",
      "releases/dev/a.yaml": cm("dev", "a", "1"),
    });
    await t.sync();
    const [ev] = syncEvents(t.take());
    const gadget = ev?.objects.find((o) => o.id === "dev:gadget/g");
    expect(gadget).toMatchObject({ action: "failed", file: "releases/dev/gadget.yaml" });
    expect(gadget?.error).toMatch(/unknown kind Gadget .*CRD/);
    expect(actions(ev)["dev:configmap/a"]).toBe("created");
  });

  it("HelmReleases without their CRD are left to the HelmRelease reconciler: no failure, said once", async () => {
    const logger = new RecordingLogger();
    const hr = (api: string, name: string) =>
      `apiVersion: ${api}\nkind: HelmRelease\nmetadata:\n  name: ${name}\n  namespace: dev\nspec: {}\n`;
    const t = setup(
      {
        "namespaces/dev.yaml": ns("dev"),
        "releases/dev/podinfo.yaml": hr("helm.fluxcd.io/v1", "podinfo"),
        "releases/stg/podinfo.yaml": hr("helm.fluxcd.io/v1", "podinfo-rc"),
        "releases/dev/redis.yaml": hr("helm.toolkit.fluxcd.io/v2", "redis"),
        "releases/dev/a.yaml": cm("dev", "a", "1"),
      },
      { logger },
    );
    const r = await t.sync();
    expect(r?.status).toBe("ready");
    const [ev] = syncEvents(t.take());
    expect(actions(ev)).toEqual({ "<cluster>:namespace/dev": "created", "dev:configmap/a": "created" });
    expect((await t.svc.status.read()).errors).toEqual([]);
    t.repo.commitFiles({ "releases/dev/a.yaml": cm("dev", "a", "2") }, "bump a");
    await t.sync();
    await t.sync();
    const told = logger.records.filter((l) => /no HelmRelease CRD/.test(l.msg ?? ""));
    expect(told.map((l) => l.msg)).toEqual([
      expect.stringContaining("helm.fluxcd.io/v1"),
      expect.stringContaining("helm.toolkit.fluxcd.io/v2"),
    ]);
    expect(told[0]?.obj).toMatchObject({ objects: 2 });
  });

  it("an app with one invalid object applies none of its objects", async () => {
    const t = setup({
      "namespaces/dev.yaml": ns("dev"),
      "releases/dev/app.yaml": `${cm("dev", "ok", "1")}---\n${cm("dev", "bad", "1")}`,
      "releases/dev/other.yaml": cm("dev", "other", "1"),
    });
    t.kube.fault = (verb, o) =>
      (verb === "dryRun" || verb === "apply") && o.name === "bad"
        ? new KubeApiError('ConfigMap "bad" is invalid: data[key]: Invalid value', 422, "Invalid")
        : undefined;
    await t.sync();
    const [ev] = syncEvents(t.take());
    expect(ev?.objects.find((o) => o.id === "dev:configmap/bad")?.error).toMatch(/is invalid/);
    expect(ev?.objects.find((o) => o.id === "dev:configmap/ok")?.error).toMatch(/same app failed validation/);
    expect(t.kube.peek(CM("dev", "ok"))).toBeUndefined();
    expect(t.kube.peek(CM("dev", "other"))).toBeDefined();
  });

  it("validates an app with a dry run only when more than one of its objects changes", async () => {
    const t = setup({
      "namespaces/dev.yaml": ns("dev"),
      "releases/dev/app.yaml": `${cm("dev", "one", "1")}---\n${cm("dev", "two", "1")}`,
    });
    await t.sync();
    expect(t.kube.calls.filter((c) => c.startsWith("dryRun"))).toEqual([
      "dryRun ConfigMap dev/one",
      "dryRun ConfigMap dev/two",
    ]);
    t.kube.calls.length = 0;
    t.repo.commitFiles(
      { "releases/dev/app.yaml": `${cm("dev", "one", "2")}---\n${cm("dev", "two", "1")}` },
      "one",
    );
    await t.sync();
    expect(t.kube.calls.filter((c) => c.startsWith("dryRun") || c.startsWith("apply"))).toEqual([
      "apply ConfigMap dev/one",
      "apply ConfigMap gitops-bot-system/gitops-bot-sync-default",
    ]);
  });

  it("replaces an object on an immutable-field change only when opted in and created by the sync", async () => {
    const t = setup({ "namespaces/dev.yaml": ns("dev"), "releases/dev/mine.yaml": cm("dev", "mine", "1") });
    // "theirs" existed before the bot: it may be updated, never deleted.
    await t.kube.apply(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "dev" } },
      { fieldManager: "x" },
    );
    await t.kube.apply(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "theirs", namespace: "dev" },
        data: { key: "0" },
      },
      { fieldManager: "x" },
    );
    t.repo.commitFiles({ "releases/dev/theirs.yaml": cm("dev", "theirs", "1") }, "adopt");
    await t.sync();
    t.take();
    const uid = (name: string) => t.kube.peek(CM("dev", name))?.metadata.uid;
    const before = { mine: uid("mine"), theirs: uid("theirs") };
    // The fake's stand-in for an immutable field: changing `key` of an existing ConfigMap.
    t.kube.fault = (verb, o) =>
      verb === "apply" && t.kube.peek(CM("dev", o.name ?? ""))
        ? new KubeApiError(
            `ConfigMap "${o.name}" is invalid: data: Forbidden: field is immutable`,
            422,
            "Invalid",
          )
        : undefined;
    const force = '  annotations:\n    gitops-bot.dev/force: "true"\n';
    t.repo.commitFiles(
      {
        "releases/dev/mine.yaml": cm("dev", "mine", "2", force),
        "releases/dev/theirs.yaml": cm("dev", "theirs", "2", force),
      },
      "change immutable fields",
    );
    await t.sync();
    const [ev] = syncEvents(t.take());
    expect(actions(ev)).toEqual({ "dev:configmap/mine": "configured", "dev:configmap/theirs": "failed" });
    expect(ev?.objects.find((o) => o.action === "failed")?.error).toMatch(/field is immutable/);
    expect(uid("mine")).not.toBe(before.mine);
    expect(dataKey(t.kube.peek(CM("dev", "mine")))).toBe("2");
    expect(uid("theirs")).toBe(before.theirs);
  });

  it("announces a failure once, stays quiet while it persists, and reports the recovery", async () => {
    const t = setup({
      "namespaces/dev.yaml": ns("dev"),
      "releases/dev/a.yaml": "kind: ConfigMap\nmetadata:\n  name: a\n",
    });
    await t.sync();
    expect(syncEvents(t.take())).toHaveLength(1);
    await t.sync();
    expect(t.take()).toEqual([]);
    t.repo.commitFiles({ "releases/dev/a.yaml": cm("dev", "a", "1") }, "fix a");
    await t.sync();
    const [ev] = syncEvents(t.take());
    expect(ev?.recovered).toBe(true);
    expect(actions(ev)).toEqual({ "dev:configmap/a": "created" });
  });

  it("applies a CRD before its custom resources in the same commit", async () => {
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: { kind: Widget, plural: widgets, singular: widget }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`;
    const t = setup({
      "namespaces/dev.yaml": ns("dev"),
      "releases/dev/widget.yaml": `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: dev\nspec:\n  size: 3\n`,
      "releases/crds.yaml": crd,
    });
    await t.sync();
    const [ev] = syncEvents(t.take());
    expect(actions(ev)).toMatchObject({
      "<cluster>:customresourcedefinition/widgets.example.com": "created",
      "dev:widget/w": "created",
    });
    const applies = t.kube.calls.filter((c) => c.startsWith("apply "));
    expect(applies.indexOf("apply CustomResourceDefinition /widgets.example.com")).toBeLessThan(
      applies.indexOf("apply Widget dev/w"),
    );
  });
});

describe("sync: drift", () => {
  it("reports a field changed behind git's back and re-applies git's value", async () => {
    const t = setup({ "namespaces/dev.yaml": ns("dev"), "releases/dev/web.yaml": deploy("dev", "web", 2) });
    await t.sync();
    t.take();
    const ref = { apiVersion: "apps/v1", kind: "Deployment", namespace: "dev", name: "web" };
    t.kube.mutate(ref, ["spec", "replicas"], 5);
    await t.sync();
    const [ev] = syncEvents(t.take());
    expect(ev?.objects).toEqual([
      {
        id: "dev:deployment/web",
        file: "releases/dev/web.yaml",
        action: "configured",
        drift: ["spec.replicas"],
      },
    ]);
    expect(replicas(t.kube.peek(ref))).toBe(2);
    const status = await t.svc.status.read();
    expect(status.drift).toEqual([
      { id: "dev:deployment/web", file: "releases/dev/web.yaml", fields: ["spec.replicas"], corrected: true },
    ]);
  });

  it("with drift correction off, reports drift and leaves the cluster alone", async () => {
    const t = setup(
      { "namespaces/dev.yaml": ns("dev"), "releases/dev/web.yaml": deploy("dev", "web", 2) },
      { driftCorrection: false },
    );
    await t.sync();
    t.take();
    const ref = { apiVersion: "apps/v1", kind: "Deployment", namespace: "dev", name: "web" };
    t.kube.mutate(ref, ["spec", "replicas"], 5);
    await t.sync();
    const [ev] = syncEvents(t.take());
    expect(ev?.objects[0]).toMatchObject({ action: "unchanged", drift: ["spec.replicas"] });
    expect(replicas(t.kube.peek(ref))).toBe(5);
    // Announced once: while it lasts, syncs are quiet and write nothing.
    const writes = t.kube.stats().writes;
    await t.sync();
    expect(t.take()).toEqual([]);
    expect(t.kube.stats().writes).toBe(writes);
  });

  it("re-creates an object deleted behind git's back", async () => {
    const t = setup({ "namespaces/dev.yaml": ns("dev"), "releases/dev/a.yaml": cm("dev", "a", "1") });
    await t.sync();
    t.take();
    await t.kube.delete(CM("dev", "a"));
    await t.sync();
    const [ev] = syncEvents(t.take());
    expect(ev?.objects).toEqual([
      { id: "dev:configmap/a", file: "releases/dev/a.yaml", action: "created", drift: ["deleted"] },
    ]);
  });
});

describe("sync: faults", () => {
  it("an unreachable git server fails the sync without touching the cluster, then recovers", async () => {
    const t = setup({ "namespaces/dev.yaml": ns("dev"), "releases/dev/a.yaml": cm("dev", "a", "1") });
    await t.sync();
    t.take();
    const realSync = t.repo.sync.bind(t.repo);
    t.repo.sync = async () => {
      throw new TransientError("connect ECONNREFUSED 127.0.0.1:9418");
    };
    const writes = t.kube.stats().writes;
    const r = await t.sync();
    expect(r?.status).toBe("failed");
    const evs = t.take() as ReconcilerEvent[];
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ kind: "reconciler", reconciler: "sync", state: "failed" });
    expect(evs[0]?.message).toMatch(/cannot fetch the config repo: connect ECONNREFUSED/);
    // Only the state record changed; no object was pruned.
    expect(t.kube.stats().writes - writes).toBe(1);
    expect(t.kube.peek(CM("dev", "a"))).toBeDefined();
    t.repo.sync = realSync;
    await t.sync();
    expect(t.take()).toMatchObject([{ kind: "reconciler", state: "recovered" }]);
  });

  it("an API server outage mid-sync applies nothing twice and prunes nothing", async () => {
    const t = setup({
      "namespaces/dev.yaml": ns("dev"),
      "releases/dev/a.yaml": cm("dev", "a", "1"),
      "releases/dev/old.yaml": cm("dev", "old", "1"),
    });
    await t.sync();
    t.take();
    t.repo.commitFiles(
      {
        "releases/dev/old.yaml": null,
        "releases/dev/b.yaml": cm("dev", "b", "1"),
        "releases/dev/c.yaml": cm("dev", "c", "1"),
      },
      "add b c, drop old",
    );
    t.kube.fault = (verb, o) =>
      verb === "apply" && o.name === "c" ? new TransientError("connection reset") : undefined;
    const r = await t.sync();
    expect(r?.status).toBe("failed");
    const evs = t.take();
    expect(actions(syncEvents(evs)[0])).toEqual({ "dev:configmap/b": "created" });
    expect(evs.find((e) => e.kind === "reconciler")).toMatchObject({ state: "failed" });
    expect(t.kube.peek(CM("dev", "old"))).toBeDefined(); // not pruned on a partial view
    t.kube.fault = undefined;
    await t.sync();
    const [ev] = syncEvents(t.take());
    // b is not applied (nor announced) again.
    expect(actions(ev)).toEqual({ "dev:configmap/c": "created", "dev:configmap/old": "pruned" });
  });

  it("warns about a force-pushed branch", async () => {
    const t = setup({ "namespaces/dev.yaml": ns("dev"), "releases/dev/a.yaml": cm("dev", "a", "1") });
    t.repo.commitFiles({ "releases/dev/b.yaml": cm("dev", "b", "1") }, "add b");
    await t.sync();
    t.take();
    // Rewrite history: a new branch head that does not contain the synced commit.
    const other = new InMemoryConfigRepo({
      "namespaces/dev.yaml": ns("dev"),
      "releases/dev/a.yaml": cm("dev", "a", "2"),
    });
    const headOther = await other.head();
    Object.assign(t.repo, { sync: () => other.sync(), head: () => other.head() });
    t.repo.read = (p, at) => other.read(p, at);
    t.repo.list = (d, at) => other.list(d, at);
    t.repo.log = (f) => other.log(f);
    await t.sync();
    const [ev] = syncEvents(t.take());
    expect(ev?.toRevision).toBe(headOther);
    expect(ev?.warnings?.[0]).toMatch(/force-pushed/);
    expect(actions(ev)).toEqual({ "dev:configmap/a": "configured", "dev:configmap/b": "pruned" });
  });
});
