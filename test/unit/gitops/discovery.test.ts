import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findInstance } from "../../../src/core/release.js";
import { dirReader, discover, discoverFile, safeRepoPath, sortEnvs } from "../../../src/gitops/discovery.js";
import { readPolicies } from "../../../src/gitops/policies.js";
import { EXAMPLES_DIR } from "../../helpers/example-repo.js";

const MIXED = join(import.meta.dirname, "..", "..", "fixtures", "discovery", "mixed");

describe("discovery on examples/config-repo", () => {
  it("finds envs in promotion order, apps by chart and file name, and no problems", async () => {
    const m = await discover(dirReader(EXAMPLES_DIR), "abc");
    expect(m.revision).toBe("abc");
    expect(m.envs).toEqual(["dev", "stg", "prod"]);
    expect(m.apps).toEqual(["frontend", "podinfo"]);
    expect(m.problems).toEqual([]);
    expect(m.instances.map((i) => `${i.app}/${i.env}:${i.workload.name}`)).toEqual([
      "frontend/dev:frontend",
      "frontend/stg:frontend",
      "frontend/prod:frontend",
      "podinfo/dev:podinfo-dev",
      "podinfo/stg:podinfo-rc",
      "podinfo/prod:podinfo-prod",
    ]);
  });

  it("reads the HelmRelease image, chart and policies", async () => {
    const m = await discover(dirReader(EXAMPLES_DIR), "abc");
    const prod = findInstance(m, "podinfo", "prod")!;
    expect(prod.workload).toMatchObject({
      kind: "HelmRelease",
      apiVersion: "helm.fluxcd.io/v1",
      name: "podinfo-prod",
      namespace: "prod",
      file: "releases/prod/podinfo.yaml",
      docIndex: 0,
      releaseName: "podinfo-prod",
      chart: { type: "git", name: "podinfo", path: "charts/podinfo", ref: "main" },
      policies: { automated: true, locked: null, prefix: "fluxcd.io" },
    });
    expect(prod.workload.images).toEqual([
      {
        container: "chart-image",
        repository: "ghcr.io/stefanprodan/podinfo",
        tag: "0.4.10",
        location: {
          tagPath: ["spec", "values", "image", "tag"],
          repositoryPath: ["spec", "values", "image", "repository"],
        },
        filter: { kind: "semver", expr: "~0.4" },
      },
    ]);
  });

  it("finds the workload in the second document of a multi-document file", async () => {
    const m = await discover(dirReader(EXAMPLES_DIR), "abc");
    const fe = findInstance(m, "frontend", "prod")!;
    expect(fe.workload.docIndex).toBe(1);
    expect(fe.workload.images.map((i) => [i.container, i.tag, i.filter?.expr])).toEqual([
      ["web", "1.4.2", "^1.0"],
      ["proxy", "1.27.3", undefined],
    ]);
  });

  it("maps envs by namespace when asked", async () => {
    const m = await discover(dirReader(EXAMPLES_DIR), "abc", { envsFrom: "namespaces" });
    expect(m.envs).toEqual(["dev", "stg", "prod"]);
    expect(m.instances).toHaveLength(6);
  });
});

describe("discovery on broken and unusual files", async () => {
  const m = await discover(dirReader(MIXED), "r1");
  const problem = (file: string) => m.problems.filter((p) => p.file === file);

  it("reports a malformed file and still discovers every other app", () => {
    expect(problem("releases/dev/broken.yaml")).toMatchObject([
      { env: "dev", app: "broken", message: expect.stringMatching(/^invalid YAML/) },
    ]);
    expect(m.apps).toEqual(["agent", "bool", "cleanup", "podinfo", "podinfo-dupe", "podinfo-v2", "web"]);
    expect(m.envs).toEqual(["dev", "prod"]);
  });

  it("does not silently accept a YAML boolean for automated, and reports a bad filter", () => {
    const bool = findInstance(m, "bool", "dev")!;
    expect(bool.workload.kind).toBe("StatefulSet");
    expect(bool.workload.policies.automated).toBe(false);
    const ps = problem("releases/dev/bool.yaml");
    expect(ps).toHaveLength(2);
    expect(ps[0]).toMatchObject({
      app: "bool",
      env: "dev",
      hint: 'Quote it: fluxcd.io/automated: "true" (annotation values must be strings).',
    });
    expect(ps[1]!.message).toMatch(/filter\.fluxcd\.io\/db: "not a range" is not a valid semver range/);
  });

  it("reads the legacy prefix and fluxcd.io/tag.<container> filters", () => {
    const agent = findInstance(m, "agent", "dev")!;
    expect(agent.workload.kind).toBe("DaemonSet");
    expect(agent.workload.policies).toEqual({
      automated: false,
      locked: { user: "Dave <dave@example.com>", message: "kernel upgrade" },
      prefix: "fluxcd.io",
    });
    expect(agent.workload.images[0]!.filter).toEqual({ kind: "regex", expr: "^v\\d+$" });
  });

  it("reads CronJob containers and initContainers in a sub-folder of the env", () => {
    const job = findInstance(m, "cleanup", "dev")!;
    expect(
      job.workload.images.map((i) => [i.container, i.repository, i.tag, i.location.tagPath.join(".")]),
    ).toEqual([
      ["wait", "busybox", "1.36", "spec.jobTemplate.spec.template.spec.initContainers.0.image"],
      [
        "cleanup",
        "localhost:5000/tools/cleanup",
        "2024.1",
        "spec.jobTemplate.spec.template.spec.containers.0.image",
      ],
    ]);
  });

  it("reads alias annotations with a registry, and reports an alias without a value", () => {
    const v2 = findInstance(m, "podinfo-v2", "dev")!;
    expect(v2.workload.chart).toEqual({
      type: "source-ref",
      name: "podinfo",
      path: "./charts/podinfo",
      version: "6.5.0",
      repository: "GitRepository/config",
    });
    expect(v2.workload.images).toEqual([
      {
        container: "app",
        repository: "ghcr.io/stefanprodan/podinfo",
        tag: "6.5.0",
        location: {
          tagPath: ["spec", "values", "app", "image", "tag"],
          repositoryPath: ["spec", "values", "app", "image", "repo"],
          registryPath: ["spec", "values", "app", "image", "registry"],
        },
      },
    ]);
    expect(problem("releases/dev/podinfo-v2.yaml")).toMatchObject([
      { message: "image alias ghost: no value at spec.values.nothing.here" },
    ]);
  });

  it("names two HelmReleases of one chart in an env after their files", () => {
    const dupe = findInstance(m, "podinfo-dupe", "dev")!;
    expect(dupe.workload.chart).toMatchObject({ type: "helm-repo", name: "podinfo", version: "6.5.0" });
    expect(dupe.workload.images[0]).toMatchObject({
      container: "chart-image",
      repository: "ghcr.io/stefanprodan/podinfo",
      tag: "6.5.0",
      location: { tagPath: ["spec", "values", "tag"], repositoryPath: ["spec", "values", "image"] },
    });
  });

  it("reads Flux v2 chartRef, sub-key images (not an untagged `image: logo.png`), and skips a bad image with a problem", () => {
    const prod = findInstance(m, "podinfo", "prod")!;
    expect(prod.workload.chart).toEqual({
      type: "source-ref",
      name: "podinfo",
      repository: "OCIRepository/podinfo",
    });
    expect(prod.workload.images.map((i) => [i.container, i.repository, i.tag])).toEqual([
      ["chart-image", "ghcr.io/stefanprodan/podinfo", "6.4.0"],
      ["redis", "docker.io/library/redis", "7.2"],
    ]);
    const web = findInstance(m, "web", "prod")!;
    expect(web.workload.images.map((i) => [i.container, i.tag])).toEqual([["ok", "latest"]]);
    expect(problem("releases/prod/web.yml")).toMatchObject([
      { message: 'container web: "Not An Image" is not an image reference' },
    ]);
  });

  it("ignores files directly under releases/ and non-YAML files", () => {
    expect(m.instances.some((i) => i.workload.name === "stray")).toBe(false);
    expect(m.problems.some((p) => p.file.endsWith("README.md"))).toBe(false);
  });

  it("reports two instances of one app in one env", () => {
    const text =
      "kind: Deployment\napiVersion: apps/v1\nmetadata: {name: a}\n---\nkind: Deployment\napiVersion: apps/v1\nmetadata: {name: a}\n";
    const found = discoverFile("releases/dev/a.yaml", text);
    expect(found.instances.map((i) => i.app)).toEqual(["a", "a"]);
  });
});

describe("paths and helpers", () => {
  it("never leaves the repo root", async () => {
    for (const bad of ["../x", "a/../../x", "/etc/passwd", "a\\b", "C:/x", "a\0b"]) {
      expect(() => safeRepoPath(bad), bad).toThrow(/outside the config repo/);
    }
    expect(safeRepoPath("./releases//dev/")).toBe("releases/dev");
    await expect(dirReader(EXAMPLES_DIR).read("../package.json")).rejects.toThrow(/outside/);
    const m = await discover(dirReader(EXAMPLES_DIR), "x", { releasesPath: "../.." });
    expect(m.instances).toEqual([]);
    expect(m.problems[0]!.message).toMatch(/outside the config repo/);
  });

  it("sorts envs in promotion order", () => {
    expect(sortEnvs(["prod", "alpha", "dev", "staging", "qa"])).toEqual([
      "dev",
      "qa",
      "staging",
      "prod",
      "alpha",
    ]);
  });

  it("reads policies of both prefixes", () => {
    expect(readPolicies({ "flux.weave.works/automated": "true" }).policies).toEqual({
      automated: true,
      locked: null,
      prefix: "flux.weave.works",
    });
    const r = readPolicies({ "fluxcd.io/locked": true });
    expect(r.policies.locked).toEqual({});
    expect(r.problems[0]!.message).toMatch(/treated as locked/);
  });
});

describe("app names of HelmReleases", () => {
  const hr = (env: string, chart: string) =>
    `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: ${chart}, namespace: ${env}}\nspec:\n  chart:\n    spec: {chart: ${chart}, version: 1.0.0}\n  values:\n    image: {repository: docker.io/library/${chart}, tag: "7.2"}\n`;
  const reader = (files: Record<string, string>) => ({
    read: async (p: string) => files[p],
    list: async (d: string) => Object.keys(files).filter((f) => f.startsWith(`${d}/`)),
  });

  it("are the file's name when it is the same in every env, with the chart's name as an alias", async () => {
    const m = await discover(
      reader({
        "releases/dev/cache.yaml": hr("dev", "redis"),
        "releases/prod/cache.yaml": hr("prod", "redis"),
      }),
      "x",
    );
    expect(m.apps).toEqual(["cache"]);
    expect(findInstance(m, "cache", "prod")?.aliases).toEqual(["redis"]);
    expect(findInstance(m, "redis", "prod")?.app).toBe("cache");
  });

  it("are the chart's name when the file names differ between envs", async () => {
    const m = await discover(
      reader({
        "releases/dev/cache.yaml": hr("dev", "redis"),
        "releases/prod/redis-main.yaml": hr("prod", "redis"),
      }),
      "x",
    );
    expect(m.apps).toEqual(["redis"]);
  });
});

describe("invalid tag filters", () => {
  it("mark the container (filterError) instead of leaving it as the default glob:*", () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: a
  namespace: dev
  annotations:
    fluxcd.io/automated: "true"
    filter.fluxcd.io/app: "semver:>=1.0 <="
    filter.fluxcd.io/side: "glob:dev-*"
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/team/app:1.0.0
        - name: side
          image: ghcr.io/team/side:dev-1
`;
    const found = discoverFile("releases/dev/a.yaml", text);
    const images = found.instances[0]?.workload.images ?? [];
    const app = images.find((i) => i.container === "app");
    expect(app?.filter).toBeUndefined();
    expect(app?.filterError).toMatch(/filter\.fluxcd\.io\/app: .*not a valid semver range/);
    expect(images.find((i) => i.container === "side")).toMatchObject({
      filter: { kind: "glob", expr: "dev-*" },
    });
    expect(found.problems.map((p) => p.message).join("\n")).toMatch(/semver/);
  });
});
