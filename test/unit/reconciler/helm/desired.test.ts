// The HelmReleases of one revision, read from git without a cluster: which are reconciled, which
// are kept (invalid, ignored, suspended, left to Flux) and never uninstalled, and what may be pruned.
import { describe, expect, it } from "vitest";
import { desiredAt } from "../../../../src/reconciler/helm/desired.js";
import { InMemoryConfigRepo } from "../../../helpers/in-memory-config-repo.js";

const v1 = (name: string, extra = "", annotations = "") => `apiVersion: helm.fluxcd.io/v1
kind: HelmRelease
metadata:
  name: ${name}
  namespace: dev
${annotations ? `  annotations:\n${annotations}` : ""}spec:
  chart:
    git: git@github.com:fluxcd/helm-operator-get-started
    path: charts/podinfo
    ref: master
${extra}`;

const v2 = (name: string) => `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: ${name}
  namespace: dev
spec:
  chart:
    spec:
      chart: redis
      version: 1.2.3
      sourceRef: { kind: HelmRepository, name: bitnami, namespace: flux-system }
`;

const repoFiles = {
  "releases/dev/podinfo.yaml": v1("podinfo", "  values:\n    image: { tag: 3.0.0 }\n"),
  "releases/dev/kept.yaml": v1("kept", "", '    gitops-bot.dev/prune: "disabled"\n'),
  "releases/dev/ignored.yaml": v1("ignored", "", '    fluxcd.io/ignore: "true"\n'),
  "releases/dev/paused.yaml": `${v2("paused")}  suspend: true\n`,
  "releases/dev/broken.yaml": v1("broken").replace("    path: charts/podinfo\n", ""),
  "releases/dev/redis.yaml": v2("redis"),
  "releases/dev/values.yaml":
    "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: podinfo-values, namespace: dev }\ndata:\n  values.yaml: 'replicaCount: 2'\n",
  "releases/flux/bitnami.yaml":
    "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: { name: bitnami, namespace: flux-system }\nspec:\n  url: https://charts.example.com/bitnami\n",
};

const write = (repo: InMemoryConfigRepo, path: string, content: string) =>
  repo.commit({
    subject: `edit ${path}`,
    author: { name: "t", email: "t@example.com" },
    trailers: [],
    edits: [async (f) => f.write(path, content)],
  });

const opts = {
  paths: [{ path: "releases/", prune: true }],
  prune: true,
  repo: {
    url: "https://github.com/acme/config.git",
    aliases: ["git@github.com:fluxcd/helm-operator-get-started"],
  },
  reconcileV2: true,
};

describe("desiredAt: the HelmReleases of a revision", () => {
  it("reconciles valid ones, keeps invalid, ignored and suspended ones (never uninstalled), and names the file", async () => {
    const repo = new InMemoryConfigRepo(repoFiles);
    const set = await desiredAt(repo, await repo.head(), opts);
    expect([...set.releases.keys()].sort()).toEqual(["dev/kept", "dev/podinfo", "dev/redis"]);
    expect(set.releases.get("dev/podinfo")).toMatchObject({ fromConfigRepo: true, prune: true });
    expect(set.releases.get("dev/kept")?.prune).toBe(false);
    // A v2 sourceRef resolves against the HelmRepository of the same revision.
    expect(set.releases.get("dev/redis")?.source).toEqual({
      type: "repo",
      url: "https://charts.example.com/bitnami",
      name: "redis",
      version: "1.2.3",
    });
    expect(Object.fromEntries([...set.kept].map(([k, v]) => [k, v.kind]))).toEqual({
      "dev/ignored": "skipped",
      "dev/paused": "skipped",
      "dev/broken": "invalid",
    });
    expect(set.kept.get("dev/broken")?.message).toContain("releases/dev/broken.yaml");
    expect(set.objects.has("ConfigMap/dev/podinfo-values")).toBe(true);
  });

  it("leaves v2 HelmReleases to Flux when told so, and says why", async () => {
    const repo = new InMemoryConfigRepo(repoFiles);
    const set = await desiredAt(repo, await repo.head(), {
      ...opts,
      reconcileV2: false,
      v2Reason: "left to Flux",
    });
    expect(set.releases.has("dev/redis")).toBe(false);
    expect(set.kept.get("dev/redis")).toMatchObject({
      kind: "skipped",
      message: "releases/dev/redis.yaml: left to Flux",
    });
    expect(set.leftToFlux).toBe(2); // redis and the suspended one
  });

  it("the fingerprint changes with the spec, not with an unrelated commit; pruning off keeps everything", async () => {
    const repo = new InMemoryConfigRepo(repoFiles);
    const a = await desiredAt(repo, await repo.head(), opts);
    await write(repo, "README.md", "x\n");
    const b = await desiredAt(repo, await repo.head(), { ...opts, prune: false });
    expect(b.releases.get("dev/podinfo")?.fingerprint).toBe(a.releases.get("dev/podinfo")?.fingerprint);
    expect(b.releases.get("dev/podinfo")?.prune).toBe(false);
    await write(repo, "releases/dev/podinfo.yaml", v1("podinfo", "  values:\n    image: { tag: 3.1.0 }\n"));
    const c = await desiredAt(repo, await repo.head(), opts);
    expect(c.releases.get("dev/podinfo")?.fingerprint).not.toBe(a.releases.get("dev/podinfo")?.fingerprint);
  });
});
