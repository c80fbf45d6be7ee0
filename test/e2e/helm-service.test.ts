/**
 * The HelmRelease reconciler end to end, wired as serve wires it (the sync applies a revision,
 * then Helm reconciles the HelmReleases of that revision), with the real helm and API server and
 * the tutorial's layout: chart in `charts/podinfo` of the config repo, named in SSH form through
 * `repo.aliases`; a v1 HelmRelease in `releases/`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helmCommands } from "../../src/app/reconcilers.js";
import { CommandEngine } from "../../src/bot/engine.js";
import { ReleaseService } from "../../src/gitops/release-service.js";
import type { KubeObject } from "../../src/kube/client.js";
import { e2eKubeClient } from "../harness/e2e.js";
import { helmFixture, podinfoRelease } from "./helm-service-fixture.js";
import { nsYaml, type SyncSuite, startSyncSuite, syncEvents } from "./sync-fixture.js";

let suite: SyncSuite;
beforeAll(async () => {
  suite = await startSyncSuite();
});
afterAll(async () => {
  await suite?.stop();
});

const cmImage = async (kube: ReturnType<typeof e2eKubeClient>, ns: string, name: string) =>
  (
    (await kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name }))?.data as
      | Record<string, string>
      | undefined
  )?.image;

describe("Helm service e2e (tutorial layout)", () => {
  it("commit -> sync -> install; values change -> upgrade; no-op resync -> no revision; removal -> uninstall", async () => {
    const f = await helmFixture(suite, (ns) => ({
      [`namespaces/${ns}.yaml`]: nsYaml(ns),
      "releases/dev/podinfo.yaml": podinfoRelease(ns, { tag: "3.0.0" }),
    }));
    let r = await f.syncAndSettle();
    expect(r?.status).toBe("ready");
    expect(await f.history()).toEqual([[1, "deployed"]]);
    expect(await cmImage(f.kube, f.ns, f.release)).toBe("stefanprodan/podinfo:3.0.0");
    // Without the HelmRelease CRD the sync does not report the HelmRelease as a failed object.
    const syncs = syncEvents(f.events);
    expect(syncs[0]?.objects.filter((o) => o.action === "failed")).toEqual([]);
    const installed = f.helmEvents();
    expect(installed).toHaveLength(1);
    const head = syncs[0]?.toRevision as string;
    expect(installed[0]).toMatchObject({
      phase: "deployed",
      release: f.release,
      namespace: f.ns,
      revision: 1,
      chart: "podinfo",
      chartVersion: "3.1.0",
      file: "releases/dev/podinfo.yaml",
      correlationId: head,
      commit: { sha: head },
    });
    expect(installed[0]?.chartDigest).toMatch(/^[0-9a-f]{40}$/);

    f.events.length = 0;
    const bump = await f.push(
      { "releases/dev/podinfo.yaml": podinfoRelease(f.ns, { tag: "3.1.0" }) },
      "podinfo: 3.1.0",
    );
    r = await f.syncAndSettle();
    expect(r?.status).toBe("ready");
    expect(await f.history()).toEqual([
      [1, "superseded"],
      [2, "deployed"],
    ]);
    expect(await cmImage(f.kube, f.ns, f.release)).toBe("stefanprodan/podinfo:3.1.0");
    // One message thread: the Helm result carries the commit the sync applied, and the tag change.
    expect(f.helmEvents()).toMatchObject([
      {
        phase: "deployed",
        revision: 2,
        correlationId: bump,
        commit: { sha: bump, subject: "podinfo: 3.1.0" },
        images: [{ image: "stefanprodan/podinfo", from: "3.0.0", to: "3.1.0" }],
      },
    ]);

    // Chat: `status` shows the Helm phase, `history` the Helm revisions next to git's.
    const engine = new CommandEngine({
      ops: new ReleaseService({ repo: f.repo }),
      helm: helmCommands(f.helm),
    });
    const run = (text: string) =>
      engine.execute({
        id: text,
        platform: "slack",
        text,
        user: { id: "U1", name: "alice" },
        channel: "C1",
        receivedAt: new Date(),
      });
    const st = await run("status podinfo dev");
    expect(JSON.stringify(st.message.blocks)).toContain("Helm Deployed r2");
    const hist = await run("history podinfo dev");
    expect(hist.message.fallbackText).toContain("helm revision 2 deployed");
    expect(hist.message.fallbackText).toContain("helm revision 1 superseded");

    f.events.length = 0;
    await f.push({ "README.md": "# config\n" }, "docs only");
    r = await f.syncAndSettle();
    expect(r?.status).toBe("ready");
    expect(await f.history()).toHaveLength(2); // no new revision
    expect(f.helmEvents()).toEqual([]);

    await f.push({ "releases/dev/podinfo.yaml": null }, "remove podinfo");
    const sr = await f.sync.trigger();
    await f.helm.scan(sr.revision);
    await f.helm.reconcileNow({ namespace: f.ns, name: "podinfo" });
    expect(await f.history()).toEqual([]);
    expect(f.helmEvents().map((e) => e.phase)).toEqual(["uninstalled"]);
  });

  it("failed upgrade -> rolled back once, no retry loop on resync; `retry` runs it again now", async () => {
    const f = await helmFixture(suite, (ns) => ({
      [`namespaces/${ns}.yaml`]: nsYaml(ns),
      "releases/dev/podinfo.yaml": podinfoRelease(ns, { tag: "3.0.0", rollback: true }),
    }));
    expect((await f.syncAndSettle())?.status).toBe("ready");
    f.events.length = 0;
    // The API server rejects port 99999: Helm stores a failed revision, we roll back to 1.
    await f.push(
      { "releases/dev/podinfo.yaml": podinfoRelease(f.ns, { tag: "3.1.0", port: 99999, rollback: true }) },
      "bad port",
    );
    let r = await f.syncAndSettle();
    expect(r?.status).toBe("stalled");
    expect(await f.history()).toEqual([
      [1, "superseded"],
      [2, "failed"],
      [3, "deployed"],
    ]);
    const [rb] = f.helmEvents();
    expect(rb).toMatchObject({ phase: "rolled-back", release: f.release });
    expect(rb?.error).toMatch(/99999|invalid/i);

    // Nothing changed in git: no new attempt, no new event.
    f.events.length = 0;
    await f.push({ "README.md": "unrelated\n" }, "unrelated");
    r = await f.syncAndSettle();
    expect(r?.status).toBe("stalled");
    expect(await f.history()).toHaveLength(3);
    expect(f.helmEvents()).toEqual([]);

    // The chat command `retry podinfo dev` forgets the failure and runs the upgrade again now
    // (it fails again and is rolled back again).
    const engine = new CommandEngine({
      ops: new ReleaseService({ repo: f.repo }),
      helm: helmCommands(f.helm),
    });
    const out = await engine.execute({
      id: "retry-1",
      platform: "slack",
      text: "retry podinfo dev",
      user: { id: "U1", name: "alice" },
      channel: "C1",
      receivedAt: new Date(),
    });
    expect(out.outcome).toBe("ok");
    expect(out.message.fallbackText).toContain("Retried the Helm release of podinfo in dev");
    expect(await f.history()).toEqual([
      [1, "superseded"],
      [2, "failed"],
      [3, "superseded"],
      [4, "failed"],
      [5, "deployed"],
    ]);
    expect(f.helmEvents().map((e) => e.phase)).toEqual(["rolled-back"]);

    // A fix in git upgrades.
    await f.push(
      { "releases/dev/podinfo.yaml": podinfoRelease(f.ns, { tag: "3.1.0", port: 8080, rollback: true }) },
      "fix port",
    );
    r = await f.syncAndSettle();
    expect(r?.status).toBe("ready");
    expect((await f.history()).at(-1)).toEqual([6, "deployed"]);
  });

  it("a HelmRelease with the prune opt-out annotation leaves its release in place when removed from git", async () => {
    const keep = (ns: string) =>
      podinfoRelease(ns, { tag: "3.0.0" }).replace(
        '    fluxcd.io/automated: "true"\n',
        '    fluxcd.io/automated: "true"\n    gitops-bot.dev/prune: disabled\n',
      );
    const f = await helmFixture(suite, (ns) => ({
      [`namespaces/${ns}.yaml`]: nsYaml(ns),
      "releases/dev/podinfo.yaml": keep(ns),
    }));
    expect((await f.syncAndSettle())?.status).toBe("ready");
    f.events.length = 0;
    await f.push({ "releases/dev/podinfo.yaml": null }, "remove podinfo");
    const sr = await f.sync.trigger();
    await f.helm.scan(sr.revision);
    await f.helm.reconcileNow({ namespace: f.ns, name: "podinfo" });
    expect(await f.history()).toEqual([[1, "deployed"]]);
    // Forgotten, not uninstalled: a later pass does not touch it either.
    expect(await f.helm.status.read()).toEqual({});
    expect(f.helmEvents()).toEqual([]);
  });

  it("with the HelmRelease CRD installed, writes phase, revision and message to the object's status", async () => {
    const kube = e2eKubeClient();
    const crd: KubeObject = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "helmreleases.helm.fluxcd.io" },
      spec: {
        group: "helm.fluxcd.io",
        scope: "Namespaced",
        names: { kind: "HelmRelease", plural: "helmreleases", singular: "helmrelease", shortNames: ["hr"] },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            subresources: { status: {} },
            additionalPrinterColumns: [
              { name: "Phase", type: "string", jsonPath: ".status.phase" },
              { name: "Revision", type: "integer", jsonPath: ".status.revision" },
            ],
            schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          },
        ],
      },
    };
    await kube.apply(crd, { fieldManager: "e2e", force: true });
    try {
      // Served once its storage is ready (a list answers instead of "storage is (re)initializing").
      for (let i = 0; i < 100; i++) {
        const probe = e2eKubeClient();
        const ok = await probe.list("helm.fluxcd.io/v1", "HelmRelease", { namespace: "default" }).then(
          () => true,
          () => false,
        );
        probe.close();
        if (ok && i > 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const f = await helmFixture(suite, (ns) => ({
        [`namespaces/${ns}.yaml`]: nsYaml(ns),
        "releases/dev/podinfo.yaml": podinfoRelease(ns, { tag: "3.0.0" }),
        "releases/dev/broken.yaml": podinfoRelease(ns, { tag: "1" })
          .replace("name: podinfo\n", "name: broken\n")
          .replace("    path: charts/podinfo\n", ""),
      }));
      expect((await f.syncAndSettle())?.status).toBe("ready");
      expect((await f.settle("broken"))?.status).toBe("stalled");
      const broken = await f.kube.get({
        apiVersion: "helm.fluxcd.io/v1",
        kind: "HelmRelease",
        namespace: f.ns,
        name: "broken",
      });
      expect(broken?.status).toMatchObject({ phase: "Stalled" });
      expect((broken?.status as { message?: string } | undefined)?.message).toContain(
        "releases/dev/broken.yaml: spec.chart",
      );
      const hr = await f.kube.get({
        apiVersion: "helm.fluxcd.io/v1",
        kind: "HelmRelease",
        namespace: f.ns,
        name: "podinfo",
      });
      expect(hr?.status).toMatchObject({ phase: "Deployed", releaseName: f.release, revision: 1 });
      expect((hr?.status as { message?: string } | undefined)?.message).toContain(
        "releases/dev/podinfo.yaml",
      );
    } finally {
      // Other suites rely on this API server having no HelmRelease CRD.
      await kube.delete({
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        name: crd.metadata.name,
      });
      for (let i = 0; i < 100 && (await e2eKubeClient().resource("helm.fluxcd.io/v1", "HelmRelease")); i++) {
        await new Promise((r) => setTimeout(r, 200));
      }
      kube.close();
    }
  });
});
