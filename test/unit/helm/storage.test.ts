import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { HelmStorage, TEST_LABEL, UNLOCKED_LABEL } from "../../../src/helm/storage.js";
import { FakeKubeClient } from "../../helpers/fake-kube-client.js";

/** A storage Secret as helm's secret driver writes it (data base64 twice through the API). */
function releaseSecret(name: string, version: number, status: string, extra: Record<string, string> = {}) {
  const rel = { name, version, namespace: "dev", info: { status, description: "Preparing upgrade" } };
  const inner = gzipSync(Buffer.from(JSON.stringify(rel))).toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "helm.sh/release.v1",
    metadata: {
      name: `sh.helm.release.v1.${name}.v${version}`,
      namespace: "dev",
      labels: { name, owner: "helm", status, version: String(version), ...extra },
    },
    data: { release: Buffer.from(inner).toString("base64") },
  };
}

function decoded(obj: { data?: Record<string, string> }) {
  const inner = Buffer.from(Buffer.from(obj.data?.release ?? "", "base64").toString(), "base64");
  return JSON.parse(gunzipSync(inner).toString());
}

async function fakeKube(): Promise<FakeKubeClient> {
  const kube = new FakeKubeClient();
  await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "dev" } });
  return kube;
}

describe("HelmStorage", () => {
  it("lists revisions newest first, only of that release", async () => {
    const kube = await fakeKube();
    await kube.create(releaseSecret("app", 1, "superseded"));
    await kube.create(releaseSecret("app", 2, "deployed", { "gitops-bot.dev/owner": "dev.app" }));
    await kube.create(releaseSecret("other", 1, "deployed"));
    const revs = await new HelmStorage(kube).revisions("dev", "app");
    expect(revs.map((r) => [r.version, r.status])).toEqual([
      [2, "deployed"],
      [1, "superseded"],
    ]);
    expect(revs[0]?.labels["gitops-bot.dev/owner"]).toBe("dev.app");
  });

  it("unlocks a stale pending revision the way helm-controller does", async () => {
    const kube = await fakeKube();
    await kube.create(releaseSecret("app", 1, "deployed"));
    await kube.create(releaseSecret("app", 2, "pending-upgrade"));
    const storage = new HelmStorage(kube);
    expect(await storage.unlock("dev", "app")).toBe("pending-upgrade");
    const obj = kube.peek({
      apiVersion: "v1",
      kind: "Secret",
      name: "sh.helm.release.v1.app.v2",
      namespace: "dev",
    });
    expect(obj?.metadata.labels).toMatchObject({ status: "failed", [UNLOCKED_LABEL]: "true" });
    expect(decoded(obj as never).info).toEqual({
      status: "failed",
      description: "Release unlocked from stale 'pending-upgrade' state",
    });
    // Nothing pending any more: a second unlock does nothing.
    expect(await storage.unlock("dev", "app")).toBeUndefined();
  });

  it("records a test result on one revision", async () => {
    const kube = await fakeKube();
    await kube.create(releaseSecret("app", 1, "deployed"));
    await new HelmStorage(kube).markTested("dev", "app", 1, false);
    expect((await new HelmStorage(kube).revisions("dev", "app"))[0]?.labels[TEST_LABEL]).toBe("failed");
  });
});
