import { describe, expect, it } from "vitest";
import { TransientError } from "../../../src/core/errors.js";
import { ImageScanner, InMemoryScanCache } from "../../../src/images/scan.js";
import { notifiedRepositoryIs, type ScanRequest } from "../../../src/images/scan-result.js";
import type { ImageConfig, RegistryClient, RepositoryRef } from "../../../src/registry/client.js";

/** A registry at the process boundary: canned tags and configs, recording calls. */
class FakeRegistryClient implements RegistryClient {
  calls: string[] = [];
  failConfig: ((tag: string) => Error | undefined) | undefined;
  constructor(private readonly tagList: string[]) {}
  async tags(repo: RepositoryRef): Promise<string[]> {
    this.calls.push(`tags ${repo.path}`);
    return [...this.tagList];
  }
  async digest(): Promise<string> {
    throw new Error("not used");
  }
  async config(_repo: RepositoryRef, reference: string): Promise<ImageConfig> {
    this.calls.push(`config ${reference}`);
    const err = this.failConfig?.(reference);
    if (err) throw err;
    return {
      digest: `sha256:${reference}`,
      created: new Date(Date.UTC(2026, 0, 2)),
      createdFrom: "config",
      labels: {},
    };
  }
}

const req = (over: Partial<ScanRequest> = {}): ScanRequest => ({
  repository: { key: "r.example/team/app", host: "r.example", path: "team/app" },
  timeFilters: [{ kind: "glob", expr: "dev-*" }],
  runningTags: ["dev-a"],
  ...over,
});

describe("ImageScanner", () => {
  it("reads times only for admitted and running tags, once; an injected cache is used", async () => {
    const client = new FakeRegistryClient(["dev-a", "dev-b", "main-1", "1.0.0"]);
    const cache = new InMemoryScanCache();
    const s = new ImageScanner({ client, cache });
    await s.scan([req(), req({ runningTags: ["dev-b"] })]);
    expect(client.calls.sort()).toEqual(["config dev-a", "config dev-b", "tags team/app"]);
    client.calls = [];
    await s.scan([req()]);
    expect(client.calls).toEqual(["tags team/app"]);
    const fresh = new ImageScanner({ client, cache });
    client.calls = [];
    await fresh.scan([req()]);
    expect(client.calls).toEqual(["tags team/app"]);
    cache.forgetTag("r.example/team/app", "dev-b");
    client.calls = [];
    await fresh.scan([req()]);
    expect(client.calls).toEqual(["tags team/app", "config dev-b"]);
  });

  it("semver-only requests make no config request", async () => {
    const client = new FakeRegistryClient(["1.0.0", "1.1.0"]);
    await new ImageScanner({ client }).scan([req({ timeFilters: [], runningTags: [] })]);
    expect(client.calls).toEqual(["tags team/app"]);
  });

  it("after a rate-limit error the repository's other timestamps are not asked for", async () => {
    const client = new FakeRegistryClient(["dev-a", "dev-b", "dev-c", "dev-d"]);
    client.failConfig = () =>
      new TransientError("r.example/team/app: the registry asked to wait; rate limited for another 60 s");
    const out = await new ImageScanner({ client, tagConcurrency: 1 }).scan([req()]);
    expect(client.calls.filter((c) => c.startsWith("config"))).toHaveLength(1);
    const scan = out.get("r.example/team/app");
    expect(scan?.ok && [...scan.times.values()].every((t) => /rate limited/.test(t.error ?? ""))).toBe(true);
  });

  it("a failed listing is a failed scan naming the repository", async () => {
    const client = new FakeRegistryClient([]);
    client.tags = async () => {
      throw new Error("socket hang up");
    };
    const out = await new ImageScanner({ client }).scan([req()]);
    expect(out.get("r.example/team/app")).toEqual({
      ok: false,
      repository: req().repository,
      error: "r.example/team/app: socket hang up",
    });
  });

  it("a scan limited to some repositories reuses the others' last listing, or lists them when none", async () => {
    const client = new FakeRegistryClient(["1.0.0"]);
    const s = new ImageScanner({ client });
    const other = req({
      repository: { key: "r.example/team/api", host: "r.example", path: "team/api" },
      timeFilters: [],
      runningTags: [],
    });
    const mine = req({ timeFilters: [], runningTags: [] });
    // No listing of team/api yet: it is listed although only team/app was named.
    await s.scan([mine, other], { relist: new Set(["r.example/team/app"]) });
    expect(client.calls.sort()).toEqual(["tags team/api", "tags team/app"]);
    client.calls = [];
    const out = await s.scan([mine, other], { relist: new Set(["r.example/team/app"]) });
    expect(client.calls).toEqual(["tags team/app"]);
    expect(out.get("r.example/team/api")).toMatchObject({ ok: true, tags: ["1.0.0"] });
    // A failed listing is never reused: the next limited scan lists that repository again.
    client.tags = async (repo) => {
      client.calls.push(`tags ${repo.path}`);
      throw new Error("socket hang up");
    };
    await s.scan([other]);
    client.calls = [];
    expect(
      (await s.scan([mine, other], { relist: new Set(["r.example/team/app"]) })).get(other.repository.key),
    ).toMatchObject({ ok: false });
    expect(client.calls.sort()).toEqual(["tags team/api", "tags team/app"]);
  });
});

describe("notifiedRepositoryIs", () => {
  const id = (key: string) => {
    const i = key.indexOf("/");
    return { key, host: key.slice(0, i), path: key.slice(i + 1) };
  };
  it("matches Docker Hub's hosts as one, and a host whose port the notification dropped", () => {
    expect(notifiedRepositoryIs("registry-1.docker.io/library/nginx", id("docker.io/library/nginx"))).toBe(
      true,
    );
    expect(notifiedRepositoryIs("index.docker.io/team/app", id("docker.io/team/app"))).toBe(true);
    expect(notifiedRepositoryIs("registry.hub.docker.com/nginx", id("docker.io/library/nginx"))).toBe(true);
    expect(notifiedRepositoryIs("registry.local/team/web", id("registry.local:5000/team/web"))).toBe(true);
    expect(notifiedRepositoryIs("Registry.Local:5000/team/web", id("registry.local:5000/team/web"))).toBe(
      true,
    );
  });
  it("does not match another path, registry or port", () => {
    expect(notifiedRepositoryIs("docker.io/library/redis", id("docker.io/library/nginx"))).toBe(false);
    expect(notifiedRepositoryIs("ghcr.io/library/nginx", id("docker.io/library/nginx"))).toBe(false);
    expect(notifiedRepositoryIs("registry.local:5001/team/web", id("registry.local:5000/team/web"))).toBe(
      false,
    );
    expect(notifiedRepositoryIs("registry.local/team", id("registry.local/team/web"))).toBe(false);
  });
});
