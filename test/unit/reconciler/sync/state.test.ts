import { describe, expect, it } from "vitest";
import type { KubeObject, ObjectRef } from "../../../../src/kube/client.js";
import { SyncStateStore } from "../../../../src/reconciler/sync/state.js";
import { FakeKubeClient } from "../../../helpers/fake-kube-client.js";

describe("SyncStateStore.read (status, reports)", () => {
  it("gives up on a cluster that does not answer instead of holding the reply (issue #11)", async () => {
    const kube = new FakeKubeClient();
    // An API server that never answers: only the caller's signal ends the wait.
    kube.get = (_ref: ObjectRef, opts?: { signal?: AbortSignal }) =>
      new Promise<KubeObject | undefined>((_, reject) =>
        opts?.signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true }),
      );
    const store = new SyncStateStore(kube, {
      namespace: "gitops-bot-system",
      name: "default",
      source: "git",
      fieldManager: "gitops-bot",
      readTimeoutMs: 100,
    });
    await expect(store.read()).rejects.toThrow(/aborted/);
  });
});
