// K8sKubeClient (the KubeClient the sync reconciler uses) against the real API server:
// discovery, paginated lists, server-side apply (create/update/dry-run/conflict), errors with the
// API server's message, delete preconditions, watch, and kubeconfig resolution.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TransientError } from "../../src/core/errors.js";
import { KubeApiError, type KubeObject } from "../../src/kube/client.js";
import { K8sKubeClient, loadKubeConfig } from "../../src/kube/k8s-client.js";
import { e2eEnv, newNamespace } from "../harness/e2e.js";

const cm = (ns: string, name: string, v: string): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: ns },
  data: { v },
});

describe("K8sKubeClient e2e", () => {
  it("discovers kinds, applies with SSA (201 on create, dry runs write nothing), and pages through lists", async () => {
    const kube = K8sKubeClient.fromOptions({ kubeconfig: e2eEnv().kubeconfigPath });
    try {
      const ns = await newNamespace("kube-client");
      expect(await kube.resource("apps/v1", "Deployment")).toEqual({
        group: "apps",
        version: "v1",
        kind: "Deployment",
        resource: "deployments",
        namespaced: true,
      });
      expect(await kube.resource("v1", "Namespace")).toMatchObject({
        resource: "namespaces",
        namespaced: false,
      });
      expect(await kube.resource("example.com/v1", "Nope")).toBeUndefined();

      const dry = await kube.apply(cm(ns, "a", "1"), { fieldManager: "gitops-bot", dryRun: true });
      expect(dry.created).toBe(true);
      expect(
        await kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "a" }),
      ).toBeUndefined();
      const writes = kube.stats().writes;
      const made = await kube.apply(cm(ns, "a", "1"), { fieldManager: "gitops-bot" });
      expect(made.created).toBe(true);
      const same = await kube.apply(cm(ns, "a", "1"), { fieldManager: "gitops-bot" });
      expect(same.created).toBe(false);
      expect(same.object.metadata.resourceVersion).toBe(made.object.metadata.resourceVersion);
      expect(kube.stats().writes - writes).toBe(2);

      // Another manager changing our field conflicts unless forced.
      await expect(kube.apply(cm(ns, "a", "2"), { fieldManager: "someone-else" })).rejects.toMatchObject({
        status: 409,
        message: expect.stringMatching(/conflict/i),
      });

      await Promise.all(
        Array.from({ length: 520 }, (_, i) =>
          kube.apply(cm(ns, `p-${i}`, "x"), { fieldManager: "gitops-bot" }),
        ),
      );
      const listed = await kube.list("v1", "ConfigMap", { namespace: ns });
      expect(listed.filter((o) => o.metadata.name.startsWith("p-"))).toHaveLength(520);
      expect(listed[0]).toMatchObject({ apiVersion: "v1", kind: "ConfigMap" });
    } finally {
      kube.close();
    }
  });

  it("reports the API server's message, honours delete preconditions and streams watch events", async () => {
    const kube = K8sKubeClient.fromOptions({ kubeconfig: e2eEnv().kubeconfigPath });
    try {
      const ns = await newNamespace("kube-client");
      const bad = cm(ns, "Bad_Name", "1");
      const err = await kube.apply(bad, { fieldManager: "gitops-bot" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeApiError);
      expect((err as KubeApiError).status).toBe(422);
      expect((err as KubeApiError).message).toMatch(/ConfigMap "Bad_Name" is invalid: metadata.name/);

      const abort = new AbortController();
      const seen: string[] = [];
      const watching = (async () => {
        for await (const ev of kube.watch("v1", "ConfigMap", { namespace: ns, signal: abort.signal })) {
          if (ev.type === "BOOKMARK") continue;
          seen.push(`${ev.type} ${ev.object.metadata.name}`);
          if (seen.length === 2) abort.abort();
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      const a = await kube.apply(cm(ns, "w", "1"), { fieldManager: "gitops-bot" });
      await expect(
        kube.delete(
          { apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "w" },
          { uid: "not-the-uid" },
        ),
      ).rejects.toMatchObject({ status: 409 });
      expect(
        await kube.delete(
          { apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "w" },
          { uid: a.object.metadata.uid },
        ),
      ).toBe(true);
      expect(await kube.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "w" })).toBe(
        false,
      );
      await watching;
      expect(seen).toEqual(["ADDED w", "DELETED w"]);
    } finally {
      kube.close();
    }
  });

  it("finds the cluster through KUBECONFIG, and reports an unreachable server as transient", async () => {
    const kc = loadKubeConfig({ env: { KUBECONFIG: e2eEnv().kubeconfigPath } });
    expect(kc.getCurrentCluster()?.server).toBe(e2eEnv().kubeServer);
    const kube = new K8sKubeClient(kc);
    expect((await kube.get({ apiVersion: "v1", kind: "Namespace", name: "default" }))?.metadata.name).toBe(
      "default",
    );
    kube.close();

    kc.loadFromOptions({
      clusters: [{ name: "gone", server: "https://127.0.0.1:1", skipTLSVerify: true }],
      users: [{ name: "u", token: randomBytes(4).toString("hex") }],
      contexts: [{ name: "c", cluster: "gone", user: "u" }],
      currentContext: "c",
    });
    const down = new K8sKubeClient(kc, { timeoutMs: 2000 });
    await expect(down.list("v1", "ConfigMap")).rejects.toBeInstanceOf(TransientError);
    down.close();
  });
});
