// Where `gitops-bot demo --kubeconfig` finds helm when --helm is not given, and the demo's config.
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { demoClusterConfig, EXAMPLE_CHART_REPOS, findHelm } from "../../../src/app/demo-cluster.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function fakeHelm(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const p = join(dir, "helm");
  await writeFile(p, "#!/bin/sh\necho v3.99.0\n");
  await chmod(p, 0o755);
  return p;
}

describe("findHelm", () => {
  it("takes helm from PATH first, else the e2e tools cache, else reports none", async () => {
    const root = await mkdtemp(join(tmpdir(), "find-helm-"));
    dirs.push(root);
    const tools = join(root, "tools");
    const empty = join(root, "empty");
    await mkdir(empty);
    // Nothing anywhere: undefined, so the banner says helm is missing.
    expect(await findHelm({ PATH: empty, GITOPS_BOT_TOOLS_DIR: tools })).toBeUndefined();
    // The newest cached helm-* build.
    await fakeHelm(join(tools, "helm-v3.18.0", "bin"));
    const cached = await fakeHelm(join(tools, "helm-v4.3.1", "bin"));
    expect(await findHelm({ PATH: empty, GITOPS_BOT_TOOLS_DIR: tools })).toBe(cached);
    // A helm on PATH wins; a non-executable file named helm does not count.
    const notExec = join(root, "noexec");
    await mkdir(notExec);
    await writeFile(join(notExec, "helm"), "");
    const onPath = await fakeHelm(join(root, "bin"));
    expect(await findHelm({ PATH: `${notExec}:${join(root, "bin")}`, GITOPS_BOT_TOOLS_DIR: tools })).toBe(
      onPath,
    );
  });
});

describe("demoClusterConfig", () => {
  it("names the examples' chart repo as the local repo, turns Helm off without a binary, and tags the cluster", () => {
    const base = { kubeconfig: "/k", repoPath: "/r", dir: "/d", cluster: "laptop", images: true, env: {} };
    const on = demoClusterConfig({ ...base, helmBinary: "/bin/helm" });
    expect(on.repo.aliases).toEqual(EXAMPLE_CHART_REPOS);
    expect(on.clusterName).toBe("laptop");
    expect(on.helm).toMatchObject({ enabled: true, binary: "/bin/helm" });
    expect(on.kube.leaderElection.enabled).toBe(false);
    expect(demoClusterConfig({ ...base, images: false, helmBinary: undefined })).toMatchObject({
      helm: { enabled: false },
      images: { enabled: false },
    });
  });
});
