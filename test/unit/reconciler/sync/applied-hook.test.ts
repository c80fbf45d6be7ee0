// The sync tells the Helm reconciler which revision it applied: after every run that applied it
// (HelmReleases without their CRD are no failure), never after an outage.
import { describe, expect, it } from "vitest";
import { TransientError } from "../../../../src/core/errors.js";
import { SyncService } from "../../../../src/reconciler/sync/service.js";
import { FakeKubeClient } from "../../../helpers/fake-kube-client.js";
import { InMemoryConfigRepo } from "../../../helpers/in-memory-config-repo.js";

function setup(files: Record<string, string>) {
  const repo = new InMemoryConfigRepo(files);
  const kube = new FakeKubeClient();
  const applied: string[] = [];
  const svc = new SyncService(
    {
      name: "default",
      paths: [{ path: "releases/", prune: true }],
      intervalMs: 3_600_000,
      prune: true,
      driftCorrection: true,
      concurrency: 4,
      namespace: "gitops-bot-system",
      clusterName: "test",
      source: "memory://config#main",
    },
    { repo, kube, sink: { emit: () => {} }, onApplied: (rev) => applied.push(rev) },
  );
  svc.controller.start();
  return { repo, kube, svc, applied };
}

const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\ndata:\n  k: v\n";

describe("sync onApplied hook", () => {
  it("reports each applied revision, HelmReleases without a CRD included, and not after an outage", async () => {
    const hr =
      "apiVersion: helm.fluxcd.io/v1\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: default\nspec:\n  chart: { git: x, path: charts/podinfo }\n";
    const { repo, kube, svc, applied } = setup({ "releases/a.yaml": cm, "releases/podinfo.yaml": hr });
    await kube.apply(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } },
      { fieldManager: "t" },
    );
    const r = await svc.trigger();
    expect(r.result?.status).toBe("ready"); // the HelmRelease is no failed object
    expect(applied).toEqual([await repo.head()]);

    kube.fault = () => new TransientError("connection refused");
    const before = applied.length;
    await repo.commit({
      subject: "b",
      author: { name: "t", email: "t@example.com" },
      trailers: [],
      edits: [async (f) => f.write("releases/a.yaml", cm.replace("k: v", "k: w"))],
    });
    const r2 = await svc.trigger();
    expect(r2.result?.status).toBe("failed");
    expect(applied.length).toBe(before);
    kube.fault = undefined;
    await svc.trigger();
    expect(applied.at(-1)).toBe(await repo.head());
  });
});
