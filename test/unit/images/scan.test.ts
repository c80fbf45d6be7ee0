import { describe, expect, it } from "vitest";
import { TransientError } from "../../../src/core/errors.js";
import { ImageScanner, InMemoryScanCache } from "../../../src/images/scan.js";
import type { ScanRequest } from "../../../src/images/scan-result.js";
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
});
