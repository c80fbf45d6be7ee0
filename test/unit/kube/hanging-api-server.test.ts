/**
 * An API server that accepts connections and never answers (issue #11: the cluster is never in
 * the way): a call with a signal ends when its signal does, API discovery included, and a leader
 * elector stops at once instead of waiting out a lease request. The "API server" is a loopback
 * socket that swallows every request.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { K8sKubeClient } from "../../../src/kube/k8s-client.js";
import { LeaderElector } from "../../../src/kube/leader-election.js";

describe("a hanging API server", () => {
  let dir: string;
  let server: Server;
  const sockets = new Set<Socket>();
  let kube: K8sKubeClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hanging-api-"));
    server = createServer((s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const address = server.address();
    if (!address || typeof address === "string") throw new Error("no port");
    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        `clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:${address.port}\n    insecure-skip-tls-verify: true`,
        "users:\n- name: u\n  user:\n    token: t",
        "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u",
        "current-context: c",
        "",
      ].join("\n"),
    );
    // The client's own per-request timeout (30 s by default) is longer than this test may take.
    kube = K8sKubeClient.fromOptions({ kubeconfig, env: {} });
  });

  afterAll(async () => {
    kube?.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server?.close(r));
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
