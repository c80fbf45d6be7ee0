// The sync isolates bad objects instead of stalling on them (issue #11), against the real
// kube-apiserver: an object the API server rejects with a 500 about its content is that object's
// error (with its file, announced once), never "cluster unavailable"; every other app still applies
// and prunes; and HelmReleases whose CRD is not installed are left to the HelmRelease reconciler.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SyncEvent } from "../../src/core/events.js";
import { RecordingLogger } from "../helpers/recording-logger.js";
import {
  actions,
  cmRef,
  cmYaml,
  deployYaml,
  nsYaml,
  type SyncSuite,
  startSyncSuite,
  syncEvents,
  value,
} from "./sync-fixture.js";

let suite: SyncSuite;
beforeAll(async () => {
  suite = await startSyncSuite();
});
afterAll(async () => {
  await suite?.stop();
});

/** `replicas: three`: the API server answers 500 "failed to create typed patch object … expected numeric". */
const badReplicas = (ns: string, name: string) =>
  deployYaml(ns, name, 1).replace("replicas: 1", "replicas: three");
const deployRef = (ns: string, name: string) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  namespace: ns,
  name,
});

describe("sync e2e: one bad object does not stall the others", () => {
  it("a 500 about one object's content fails that object with its file, once; other apps apply and prune", async () => {
    const f = await suite.fixture((ns) => ({
      "namespaces/ns.yaml": nsYaml(ns),
      "releases/dev/podinfo.yaml": deployYaml(ns, "podinfo", 1),
      // An app folder: more than one object, so it is dry-run first.
      "releases/dev/api/deploy.yaml": deployYaml(ns, "api", 1),
      "releases/dev/api/config.yaml": cmYaml(ns, "api-config", "1"),
      "releases/stg/cache.yaml": cmYaml(ns, "cache", "1"),
      "releases/stg/web.yaml": cmYaml(ns, "web", "1"),
    }));
    expect((await f.sync()).result?.status).toBe("ready");
    f.take();

    await f.push(
      {
        "releases/dev/podinfo.yaml": badReplicas(f.ns, "podinfo"),
        "releases/dev/api/deploy.yaml": badReplicas(f.ns, "api"),
        "releases/dev/api/config.yaml": cmYaml(f.ns, "api-config", "2"),
        "releases/stg/cache.yaml": null,
        "releases/stg/web.yaml": cmYaml(f.ns, "web", "2"),
      },
      "replicas: three, drop cache",
    );
    const r = await f.sync();
    expect(r.result).toMatchObject({ status: "failed", reason: "ObjectsFailed" });
    expect(r.result?.message).not.toMatch(/cluster unavailable/);
    const evs = f.take();
    expect(evs.filter((e) => e.kind === "reconciler")).toEqual([]);
    const [ev] = syncEvents(evs);
    const byId = Object.fromEntries((ev?.objects ?? []).map((o) => [o.id, o]));
    expect(byId[`${f.ns}:deployment/podinfo`]).toMatchObject({
      action: "failed",
      file: "releases/dev/podinfo.yaml",
    });
    expect(byId[`${f.ns}:deployment/podinfo`]?.error).toMatch(/spec\.replicas: expected numeric/);
    expect(byId[`${f.ns}:deployment/api`]).toMatchObject({
      action: "failed",
      file: "releases/dev/api/deploy.yaml",
    });
    expect(byId[`${f.ns}:deployment/api`]?.error).toMatch(/expected numeric/);
    // Its app stays as it was: nothing of it is half-applied.
    expect(byId[`${f.ns}:configmap/api-config`]?.error).toMatch(/same app failed validation/);
    expect(value(await f.kube.get(cmRef(f.ns, "api-config")))).toBe("1");
    // The other apps: applied and pruned.
    expect(actions(ev)).toMatchObject({
      [`${f.ns}:configmap/web`]: "configured",
      [`${f.ns}:configmap/cache`]: "pruned",
    });
    expect(await f.kube.get(cmRef(f.ns, "cache"))).toBeUndefined();
    expect(value(await f.kube.get(cmRef(f.ns, "web")))).toBe("2");
    // The running Deployments keep their last good spec.
    expect((await f.kube.get(deployRef(f.ns, "podinfo")))?.spec).toMatchObject({ replicas: 1 });
    const status = await f.svc.status.read();
    expect(status.result).toBe("partial");
    expect(status.errors.map((e) => `${e.id} ${e.file}`)).toEqual(
      expect.arrayContaining([`${f.ns}:deployment/podinfo releases/dev/podinfo.yaml`]),
    );

    // The interval runs again: the same failures are not announced again.
    await f.sync();
    await f.sync();
    expect(f.take()).toEqual([]);

    // Fixed in git: applied, and the recovery is told.
    await f.push(
      {
        "releases/dev/podinfo.yaml": deployYaml(f.ns, "podinfo", 3),
        "releases/dev/api/deploy.yaml": deployYaml(f.ns, "api", 2),
      },
      "replicas: 3",
    );
    expect((await f.sync()).result?.status).toBe("ready");
    const [fixed] = syncEvents(f.take()) as SyncEvent[];
    expect(fixed?.recovered).toBe(true);
    expect(actions(fixed)).toMatchObject({
      [`${f.ns}:deployment/podinfo`]: "configured",
      [`${f.ns}:deployment/api`]: "configured",
      [`${f.ns}:configmap/api-config`]: "configured",
    });
    expect((await f.kube.get(deployRef(f.ns, "podinfo")))?.spec).toMatchObject({ replicas: 3 });
  });
});

describe("sync e2e: HelmReleases without their CRD", () => {
  it("are not applied nor reported as failed objects, and the log says why once", async () => {
    const logger = new RecordingLogger();
    const hr = (ns: string, apiVersion: string, name: string) =>
      `apiVersion: ${apiVersion}\nkind: HelmRelease\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  releaseName: ${name}\n  chart: { git: https://example.com/repo.git, path: charts/podinfo, ref: main }\n`;
    const f = await suite.fixture(
      (ns) => ({
        "namespaces/ns.yaml": nsYaml(ns),
        "releases/dev/podinfo.yaml": hr(ns, "helm.fluxcd.io/v1", "podinfo-dev"),
        "releases/stg/podinfo.yaml": hr(ns, "helm.fluxcd.io/v1", "podinfo-rc"),
        "releases/dev/redis.yaml": hr(ns, "helm.toolkit.fluxcd.io/v2", "redis"),
        "releases/dev/gadget.yaml": `apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n  namespace: ${ns}\n`,
        "releases/dev/config.yaml": cmYaml(ns, "config", "1"),
      }),
      { logger },
    );
    // The premise: this API server has neither HelmRelease CRD.
    expect(await f.kube.resource("helm.fluxcd.io/v1", "HelmRelease")).toBeUndefined();
    expect(await f.kube.resource("helm.toolkit.fluxcd.io/v2", "HelmRelease")).toBeUndefined();

    const r = await f.sync();
    const [ev] = syncEvents(f.take());
    // Other unknown kinds stay object errors.
    expect(
      Object.fromEntries((ev?.objects ?? []).filter((o) => o.action === "failed").map((o) => [o.id, o.file])),
    ).toEqual({
      [`${f.ns}:gadget/g`]: "releases/dev/gadget.yaml",
    });
    expect(actions(ev)[`${f.ns}:configmap/config`]).toBe("created");
    expect(r.result?.findings?.failed).toHaveLength(1);
    expect((await f.svc.status.read()).errors.map((e) => e.id)).toEqual([`${f.ns}:gadget/g`]);

    await f.push({ "releases/dev/gadget.yaml": null }, "drop the gadget");
    expect((await f.sync()).result?.status).toBe("ready");
    await f.sync();
    await f.sync();
    const told = logger.records.filter((l) => /no HelmRelease CRD/.test(l.msg ?? ""));
    expect(told.map((l) => (l.obj as { apiVersion?: string }).apiVersion)).toEqual([
      "helm.fluxcd.io/v1",
      "helm.toolkit.fluxcd.io/v2",
    ]);
  });
});
