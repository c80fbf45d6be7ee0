/**
 * An API server that accepts connections and never answers (issue #11: the cluster is never in
 * the way): a call with a signal ends when its signal does, API discovery included, and a leader
 * elector stops at once instead of waiting out a lease request. The "API server" is a loopback
 * socket that swallows every request.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { K8sKubeClient } from "../../../src/kube/k8s-client.js";
import { LeaderElector } from "../../../src/kube/leader-election.js";
import { type BlackHole, startBlackHole, writeKubeconfig } from "../../helpers/black-hole.js";

describe("a hanging API server", () => {
  let dir: string;
  let server: BlackHole;
  let kube: K8sKubeClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hanging-api-"));
    server = await startBlackHole();
    const kubeconfig = join(dir, "kubeconfig");
    await writeKubeconfig(kubeconfig, server.port);
    // The client's own per-request timeout (30 s by default) is longer than this test may take.
    kube = K8sKubeClient.fromOptions({ kubeconfig, env: {} });
  });

  afterAll(async () => {
    kube?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "bot", name: "l" };

  it("ends a get, a list and a create when their signal aborts, while discovery still waits", async () => {
    await expect(kube.get(lease, { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    await expect(
      kube.list("coordination.k8s.io/v1", "Lease", { namespace: "bot", signal: AbortSignal.timeout(200) }),
    ).rejects.toThrow();
    await expect(
      kube.create(
        { apiVersion: lease.apiVersion, kind: lease.kind, metadata: { name: "l", namespace: "bot" } },
        { signal: AbortSignal.timeout(200) },
      ),
    ).rejects.toThrow();
  });

  it("lets a leader elector stop at once while its lease request hangs", async () => {
    // A retry period (and so a lease request timeout) far longer than this test may take.
    const elector = new LeaderElector(kube, { namespace: "bot", identity: "me", retryPeriodMs: 600_000 });
    elector.run({ onStartedLeading: () => {} });
    await new Promise((r) => setTimeout(r, 100)); // the first lease request is on its way
    await elector.stop();
    expect(elector.isLeader()).toBe(false);
  });
});
