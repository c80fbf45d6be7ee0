/**
 * `gitops-bot report --print` against a real API server: the Helm section reads the HelmRelease
 * reconciler's status record (the `gitops-bot-helm-<sync.name>` ConfigMap, written here by the
 * reconciler's own store) and lists the failed and rolled-back releases by env with Helm's
 * message; a deployed one only counts.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultExamplesDir, prepareDemoRepo } from "../../src/app/demo.js";
import { HELM_FIELD_MANAGER } from "../../src/reconciler/helm/service.js";
import { HelmStateStore } from "../../src/reconciler/helm/state.js";
import { e2eEnv, e2eKubeClient, newNamespace } from "../harness/e2e.js";
import { runCli } from "../helpers/cli.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const cli = (args: string[], home: string) => runCli(args, { env: { KUBECONFIG: "", HOME: home } });

describe("gitops-bot report: the helm section", () => {
  it("lists the failed and rolled-back releases from the Helm status record in the cluster", async () => {
    const ns = await newNamespace("report-helm");
    const kube = e2eKubeClient();
    const store = new HelmStateStore(kube, { namespace: ns, name: "cfg", fieldManager: HELM_FIELD_MANAGER });
    await store.put("dev/podinfo-dev", {
      releaseName: "podinfo-dev",
      targetNamespace: "dev",
      file: "releases/dev/podinfo.yaml",
      prune: true,
      status: "ready",
      reason: "UpgradeSucceeded",
      revision: 4,
    });
    await store.put("stg/podinfo-rc", {
      releaseName: "podinfo-rc",
      targetNamespace: "stg",
      file: "releases/stg/podinfo.yaml",
      prune: true,
      status: "failed",
      reason: "UpgradeFailed",
      message: "upgrade failed: timed out waiting for the condition",
      revision: 3,
    });
    await store.put("prod/podinfo-prod", {
      releaseName: "podinfo-prod",
      targetNamespace: "prod",
      file: "releases/prod/podinfo.yaml",
      prune: true,
      status: "failed",
      reason: "RolledBack",
      message: "upgrade to revision 8 failed; rolled back to revision 7",
      revision: 9,
    });

    const dir = await mkdtemp(join(tmpdir(), "report-helm-"));
    dirs.push(dir);
    const { repo } = await prepareDemoRepo(dir, defaultExamplesDir());
    const config = join(dir, "gitops-bot.yaml");
    await writeFile(
      config,
      `clusterName: e2e
repo:
  url: ${repo}
  workdir: ${join(dir, "work")}
kube:
  kubeconfig: ${e2eEnv().kubeconfigPath}
sync:
  namespace: ${ns}
  name: cfg
images:
  enabled: false
notifications:
  destinations:
    - { name: ops, type: webhook, url: "https://hooks.example.com/x" }
  reports:
    - { name: helm, schedule: "0 9 * * 1", sections: [helm], to: [ops] }
`,
    );
    const out = await cli(["report", "helm", "--print", "--config", config], dir);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(out.stdout).toContain("Needs attention: 1 Helm release(s) failed; 1 Helm release(s) rolled back");
    expect(out.stdout).toContain("== Helm releases (2) ==\n1 of 3 release(s) deployed.\n");
    expect(out.stdout).toContain(
      "stg/podinfo: failed (stg/podinfo-rc rev 3, releases/stg/podinfo.yaml): upgrade failed: timed out waiting for the condition",
    );
    expect(out.stdout).toContain(
      "prod/podinfo: rolled back (prod/podinfo-prod rev 9, releases/prod/podinfo.yaml): upgrade to revision 8 failed; rolled back to revision 7",
    );
  });
});
