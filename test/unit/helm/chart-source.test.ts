import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransientError } from "../../../src/core/errors.js";
import {
  ChartSourceError,
  directoryDigest,
  type GitTree,
  gitChart,
  HelmRepositoryClient,
  isConfigRepo,
  normaliseGitUrl,
  resolveChart,
  sameGitRepo,
} from "../../../src/helm/chart-source.js";

describe("git URL equivalence", () => {
  const same = [
    "https://github.com/fluxcd/helm-operator-get-started",
    "https://github.com/fluxcd/helm-operator-get-started.git",
    "https://github.com/fluxcd/helm-operator-get-started/",
    "https://token:x-oauth@github.com/fluxcd/helm-operator-get-started.git",
    "http://github.com/fluxcd/helm-operator-get-started",
    "git@github.com:fluxcd/helm-operator-get-started",
    "git@github.com:fluxcd/helm-operator-get-started.git",
    "ssh://git@github.com/fluxcd/helm-operator-get-started",
    "ssh://git@github.com:22/fluxcd/helm-operator-get-started.git",
    "git+ssh://git@GitHub.com/FluxCD/helm-operator-get-started.git",
  ];
  it.each(same)("%s names github.com/fluxcd/helm-operator-get-started", (u) => {
    expect(normaliseGitUrl(u)).toBe("github.com/fluxcd/helm-operator-get-started");
    expect(sameGitRepo(u, same[0] as string)).toBe(true);
  });
  it.each([
    ["git@github.com:fluxcd/other", "https://github.com/fluxcd/helm-operator-get-started"],
    [
      "git@gitlab.com:fluxcd/helm-operator-get-started",
      "https://github.com/fluxcd/helm-operator-get-started",
    ],
    [
      "https://github.com/fluxcd/helm-operator-get-started-fork",
      "https://github.com/fluxcd/helm-operator-get-started",
    ],
  ])("%s is not %s", (a, b) => expect(sameGitRepo(a, b)).toBe(false));

  it("matches repo.url or an alias", () => {
    const repo = {
      url: "https://git.example.com/me/fork.git",
      aliases: ["git@github.com:fluxcd/helm-operator-get-started"],
    };
    expect(isConfigRepo("ssh://git@git.example.com:2222/me/fork", repo)).toBe(true);
    expect(isConfigRepo("https://github.com/fluxcd/helm-operator-get-started.git", repo)).toBe(true);
    expect(isConfigRepo("https://github.com/fluxcd/flux", repo)).toBe(false);
  });
});

class InMemoryTree implements GitTree {
  constructor(readonly revs: Record<string, Record<string, string>>) {}
  async list(dir: string, at = "head") {
    return Object.keys(this.revs[at] ?? {}).filter((p) => !dir || p.startsWith(`${dir}/`));
  }
  async read(path: string, at = "head") {
    return this.revs[at]?.[path];
  }
}

describe("git charts", () => {
  let cache: string;
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), "chart-src-"));
  });
  afterAll(() => rm(cache, { recursive: true, force: true }));

  const chart = {
    "charts/podinfo/Chart.yaml": "apiVersion: v2\nname: podinfo\nversion: 0.4.0\n",
    "charts/podinfo/values.yaml": "replicaCount: 1\n",
    "charts/podinfo/templates/cm.yaml": "kind: ConfigMap\n",
    "releases/dev/podinfo.yaml": "kind: HelmRelease\n",
  };
  const tree = new InMemoryTree({
    a: chart,
    b: { ...chart, "charts/podinfo/templates/cm.yaml": "kind: ConfigMap # edited\n" },
    c: { ...chart, "releases/dev/podinfo.yaml": "kind: HelmRelease # other change\n" },
  });

  it("digests the directory: a template edit without a version bump is a change, a commit elsewhere is not", async () => {
    const a = await gitChart(tree, "a", "charts/podinfo", cache, "releases/dev/podinfo.yaml");
    const b = await gitChart(tree, "b", "charts/podinfo", cache, "releases/dev/podinfo.yaml");
    const c = await gitChart(tree, "c", "charts/podinfo", cache, "releases/dev/podinfo.yaml");
    expect(a).toMatchObject({ name: "podinfo", version: "0.4.0" });
    expect(b.version).toBe(a.version);
    expect(b.digest).not.toBe(a.digest);
    expect(c.digest).toBe(a.digest);
    expect(await readFile(join(b.path, "templates", "cm.yaml"), "utf8")).toContain("edited");
    expect(await readFile(join(a.path, "Chart.yaml"), "utf8")).toContain("podinfo");
  });

  it("names the file and path of a chart that does not exist", async () => {
    await expect(gitChart(tree, "a", "charts/nope", cache, "releases/dev/x.yaml")).rejects.toThrow(
      "releases/dev/x.yaml: spec.chart.path: charts/nope does not exist at a",
    );
    await expect(gitChart(tree, "a", "releases", cache, "f.yaml")).rejects.toThrow(ChartSourceError);
  });

  it("resolveChart reads a chart named by the config repo's SSH form from our own clone", async () => {
    const deps = {
      configRepo: {
        url: "https://github.com/me/config.git",
        aliases: ["git@github.com:fluxcd/helm-operator-get-started"],
        tree,
        revision: "b",
      },
      repositories: new HelmRepositoryClient({ cacheDir: cache }),
      helm: undefined as never,
      cacheDir: cache,
    };
    const viaSsh = await resolveChart(
      { type: "git", url: "git@github.com:me/config", path: "charts/podinfo", ref: "main" },
      "f.yaml",
      deps,
    );
    const viaAlias = await resolveChart(
      {
        type: "git",
        url: "ssh://git@github.com/fluxcd/helm-operator-get-started.git",
        path: "charts/podinfo",
      },
      "f.yaml",
      deps,
    );
    expect(viaSsh.digest).toBe(viaAlias.digest);
    expect(viaSsh.description).toContain("charts/podinfo@b");
    await expect(
      resolveChart(
        { type: "git", url: "git@github.com:someone/else", path: "charts/podinfo" },
        "f.yaml",
        deps,
      ),
    ).rejects.toThrow("f.yaml: spec.chart.git: git@github.com:someone/else is not the config repo");
  });

  it("directoryDigest depends on names and contents only", () => {
    const m = (e: [string, string][]) => directoryDigest(new Map(e));
    expect(
      m([
        ["a", "1"],
        ["b", "2"],
      ]),
    ).toBe(
      m([
        ["b", "2"],
        ["a", "1"],
      ]),
    );
    expect(m([["a", "1"]])).not.toBe(m([["b", "1"]]));
    expect(m([["a", "12"]])).not.toBe(
      m([
        ["a", "1"],
        ["2", ""],
      ]),
    );
  });
});

describe("HelmRepositoryClient", () => {
  let cache: string;
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), "chart-repo-"));
  });
  afterAll(() => rm(cache, { recursive: true, force: true }));

  const tgz = Buffer.from("fake chart archive");
  const index = `apiVersion: v1\nentries:\n  demo:\n    - {name: demo, version: 1.2.0, urls: [demo-1.2.0.tgz]}\n    - {name: demo, version: 1.10.0, urls: [charts/demo-1.10.0.tgz]}\n    - {name: demo, version: 2.0.0-rc.1, urls: [demo-2.0.0-rc.1.tgz]}\n`;
  const fakeFetch = () => {
    const calls: { url: string; auth: string | undefined }[] = [];
    const f = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      calls.push({ url, auth: (init?.headers as Record<string, string>)?.authorization });
      if (url.endsWith("/index.yaml")) return new Response(index);
      if (url.endsWith(".tgz")) return new Response(tgz);
      return new Response("nope", { status: 404 });
    }) as typeof fetch;
    return { f, calls };
  };

  it("picks exact versions and the highest semver match, caches the index, sends basic auth", async () => {
    const { f, calls } = fakeFetch();
    const repo = new HelmRepositoryClient({
      cacheDir: cache,
      fetch: f,
      credentials: (u) => (u === "https://charts.example.com" ? { username: "u", password: "p" } : undefined),
    });
    const exact = await repo.chart("https://charts.example.com/", "demo", "1.2.0");
    const range = await repo.chart("https://charts.example.com", "demo", "^1.0.0");
    expect(exact.version).toBe("1.2.0");
    expect(range.version).toBe("1.10.0");
    expect(range.digest).not.toBe(exact.digest);
    expect(await readFile(range.path)).toEqual(tgz);
    expect(calls.filter((c) => c.url.endsWith("index.yaml"))).toHaveLength(1);
    expect(calls.map((c) => c.url)).toContain("https://charts.example.com/charts/demo-1.10.0.tgz");
    expect(calls.every((c) => c.auth === `Basic ${Buffer.from("u:p").toString("base64")}`)).toBe(true);
    // A second resolve of the same version downloads nothing.
    const n = calls.length;
    await repo.chart("https://charts.example.com", "demo", "1.2.0");
    expect(calls.length).toBe(n);
  });

  it("says which chart or version is missing", async () => {
    const repo = new HelmRepositoryClient({ cacheDir: cache, fetch: fakeFetch().f });
    await expect(repo.chart("https://charts.example.com", "other", "1.0.0")).rejects.toThrow(
      "chart other not found in https://charts.example.com",
    );
    await expect(repo.chart("https://charts.example.com", "demo", "9.9.9")).rejects.toThrow(
      "chart demo version 9.9.9 not found",
    );
  });

  it("an unreachable repository is transient, with credentials redacted", async () => {
    const f = (async () => {
      throw new TypeError("fetch failed");
    }) as typeof fetch;
    const repo = new HelmRepositoryClient({ cacheDir: cache, fetch: f });
    const err = await repo.chart("https://user:pw@gone.example.com", "x", "1.0.0").catch((e) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toContain("unreachable");
    expect(err.message).not.toContain("pw");
  });
});
