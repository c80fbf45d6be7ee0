// helm.v2: flux — with Flux's helm-controller CRD in the cluster, v2 HelmReleases are left to it
// (said once at start, no helm call); without it, or with `always`, they are reconciled here.
import { describe, expect, it } from "vitest";
import { configSchema } from "../../../../src/config/schema.js";
import type { HelmClient } from "../../../../src/helm/cli.js";
import { HelmService } from "../../../../src/reconciler/helm/service.js";
import { FakeKubeClient } from "../../../helpers/fake-kube-client.js";
import { InMemoryConfigRepo } from "../../../helpers/in-memory-config-repo.js";
import { RecordingLogger } from "../../../helpers/recording-logger.js";

const v2 = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: { name: redis, namespace: dev }
spec:
  chart:
    spec:
      chart: redis
      version: 1.2.3
      sourceRef: { kind: HelmRepository, name: nowhere, namespace: flux-system }
`;

/** A recorder at the HelmClient port: any call is a test failure here. */
function noHelm(calls: string[]): HelmClient {
  return new Proxy({} as HelmClient, {
    get: (_t, prop) => async () => {
      calls.push(String(prop));
      throw new Error(`unexpected helm ${String(prop)}`);
    },
  });
}

async function setup(v2Mode: "flux" | "always", fluxCrd: boolean) {
  const kube = new FakeKubeClient();
  if (fluxCrd) {
    await kube.apply(
      {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "helmreleases.helm.toolkit.fluxcd.io" },
        spec: {
          group: "helm.toolkit.fluxcd.io",
          scope: "Namespaced",
          names: { kind: "HelmRelease", plural: "helmreleases" },
          versions: [{ name: "v2" }],
        },
      },
      { fieldManager: "t" },
    );
  }
  const repo = new InMemoryConfigRepo({ "releases/dev/redis.yaml": v2 });
  const logger = new RecordingLogger();
  const calls: string[] = [];
  const cfg = configSchema.parse({ repo: { url: "https://example.com/config.git" }, helm: { v2: v2Mode } });
  const head = await repo.head();
  const svc = new HelmService(cfg, {
    repo,
    kube,
    sink: { emit: () => {} },
    logger,
    helm: noHelm(calls),
    appliedRevision: async () => head,
  });
  svc.controller.start();
  await svc.scan();
  const r = await svc.reconcileNow({ namespace: "dev", name: "redis" });
  svc.pause();
  return { r, logger, calls };
}

describe("helm.v2", () => {
  it("flux + Flux's CRD present: left to helm-controller, said once, no helm call", async () => {
    const { r, logger, calls } = await setup("flux", true);
    expect(r).toMatchObject({ status: "ready", reason: "Skipped" });
    expect(r?.message).toContain("left to Flux's helm-controller");
    expect(
      logger.records.filter((l) => l.msg?.includes("helm.toolkit.fluxcd.io/v2 HelmReleases are left to it")),
    ).toHaveLength(1);
    expect(calls).toEqual([]);
  });

  it("flux without the CRD, or always: reconciled here (this one's repository is not in git: a clear stall)", async () => {
    for (const [mode, crd] of [
      ["flux", false],
      ["always", true],
    ] as const) {
      const { r } = await setup(mode, crd);
      expect(r).toMatchObject({ status: "stalled", reason: "InvalidSpec" });
      expect(r?.message).toMatch(
        /releases\/dev\/redis\.yaml: spec\.chart\.spec\.sourceRef: HelmRepository flux-system\/nowhere is not defined/,
      );
    }
  });
});
