// What the Helm reconciler keeps without helm: its status record (written only when it changed),
// the HelmRelease status subresource (only when its CRD exists), and image changes for events.
import { describe, expect, it } from "vitest";
import { HelmReleaseStatusWriter, phaseOf } from "../../../../src/reconciler/helm/hr-status.js";
import { imageChanges, imagesOf } from "../../../../src/reconciler/helm/images.js";
import { HelmStateStore } from "../../../../src/reconciler/helm/state.js";
import { FakeKubeClient } from "../../../helpers/fake-kube-client.js";

const rec = {
  releaseName: "dev-podinfo",
  targetNamespace: "dev",
  file: "releases/dev/podinfo.yaml",
  prune: true,
};

describe("Helm status record", () => {
  it("persists per release, survives a new store (restart), and writes nothing when unchanged", async () => {
    const kube = new FakeKubeClient();
    const store = new HelmStateStore(kube, {
      namespace: "gitops-bot-system",
      name: "default",
      fieldManager: "t",
    });
    await store.put("dev/podinfo", { ...rec, status: "ready", revision: 1 });
    const writes = kube.stats().writes;
    await store.put("dev/podinfo", { ...rec, status: "ready", revision: 1 });
    expect(kube.stats().writes).toBe(writes);
    const restarted = new HelmStateStore(kube, {
      namespace: "gitops-bot-system",
      name: "default",
      fieldManager: "t",
    });
    expect(await restarted.get("dev/podinfo")).toMatchObject({ revision: 1, releaseName: "dev-podinfo" });
    await restarted.put("dev/podinfo", undefined);
    expect(await store.read()).toEqual({});
  });
});

describe("HelmRelease status subresource", () => {
  it("is written only when the CRD and the object exist, and only when the status changed", async () => {
    const kube = new FakeKubeClient();
    const writer = new HelmReleaseStatusWriter(kube, "gitops-bot-helm");
    const ref = { apiVersion: "helm.fluxcd.io/v1", namespace: "dev", name: "podinfo" };
    const status = {
      phase: "Deployed",
      releaseName: "dev-podinfo",
      revision: 1,
      lastAppliedRevision: "abc",
      message: "ok",
    };
    expect(await writer.write(ref, status)).toBe(false); // no CRD: nothing to write to
    await kube.apply(
      {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "helmreleases.helm.fluxcd.io" },
        spec: {
          group: "helm.fluxcd.io",
          scope: "Namespaced",
          names: { kind: "HelmRelease", plural: "helmreleases" },
          versions: [{ name: "v1" }],
        },
      },
      { fieldManager: "t" },
    );
    await kube.apply(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "dev" } },
      { fieldManager: "t" },
    );
    await kube.apply(
      {
        apiVersion: "helm.fluxcd.io/v1",
        kind: "HelmRelease",
        metadata: { name: "podinfo", namespace: "dev" },
        spec: {},
      },
      { fieldManager: "t" },
    );
    expect(await writer.write(ref, status)).toBe(true);
    expect(await writer.write(ref, status)).toBe(false);
    const live = await kube.get({ ...ref, kind: "HelmRelease" });
    expect(live?.status).toMatchObject({ phase: "Deployed", revision: 1, releaseName: "dev-podinfo" });
    expect(live?.spec).toEqual({}); // only the status was written
  });

  it("names phases the way helm-operator users read them", () => {
    expect(phaseOf("ready", "Deployed")).toBe("Deployed");
    expect(phaseOf("stalled", "RolledBack")).toBe("RolledBack");
    expect(phaseOf("stalled", "InvalidSpec")).toBe("Stalled");
    expect(phaseOf("failed", "ReleaseFailed")).toBe("Failed");
    expect(phaseOf("progressing", "WaitingForNamespace")).toBe("Progressing");
  });
});

describe("image changes in values", () => {
  it("finds repository+tag maps and image strings, and tells old -> new per image", () => {
    const before = imagesOf({
      image: { repository: "stefanprodan/podinfo", tag: "3.0.0" },
      sidecar: { image: "busybox:1.36" },
    });
    const after = imagesOf({
      image: { repository: "stefanprodan/podinfo", tag: "3.1.0" },
      sidecar: { image: "busybox:1.36" },
    });
    expect(before).toEqual({ image: "stefanprodan/podinfo:3.0.0", "sidecar.image": "busybox:1.36" });
    expect(imageChanges(before, after)).toEqual([
      { image: "stefanprodan/podinfo", from: "3.0.0", to: "3.1.0" },
    ]);
    expect(imageChanges(after, after)).toEqual([]);
  });
});
