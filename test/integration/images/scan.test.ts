/**
 * The image scanner and planner against the real docker-registry (anonymous, htpasswd Basic, and a
 * bearer token front), through a counting, fault-injecting proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppInstance, ContainerImage } from "../../../src/core/release.js";
import { parseTagFilter } from "../../../src/gitops/tag-filter.js";
import { planImageUpdates, wantedScans } from "../../../src/images/plan.js";
import { ImageScanner } from "../../../src/images/scan.js";
import type { RepositoryScan } from "../../../src/images/scan-result.js";
import {
  DistributionClient,
  type DistributionClientOptions,
} from "../../../src/registry/distribution-client.js";
import { pushImage, pushIndex, type RegistryServer, startRegistry } from "../../harness/registry.js";
import { type RegistryProxy, startRegistryProxy } from "../../helpers/registry-proxy.js";

const day = (n: number) => new Date(Date.UTC(2026, 0, n, 12));

function inst(
  env: string,
  repository: string,
  tag: string,
  filter: string,
  opts: { locked?: boolean } = {},
): AppInstance {
  const img: ContainerImage = {
    container: "app",
    repository,
    tag,
    location: { tagPath: ["x"] },
    filter: parseTagFilter(filter),
  };
  return {
    app: "app",
    env,
    workload: {
      kind: "Deployment",
      apiVersion: "apps/v1",
      name: "app",
      namespace: env,
      file: `releases/${env}/app.yaml`,
      docIndex: 0,
      images: [img],
      policies: { automated: true, locked: opts.locked ? { user: "bob" } : null, prefix: "fluxcd.io" },
    },
  };
}

let reg: RegistryServer;
let proxy: RegistryProxy;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startRegistryProxy({ target: reg.url });
  await pushImage(reg, "team/glob", "dev-a", { created: day(1) });
  await pushImage(reg, "team/glob", "dev-b", { created: day(3) });
  // Built on day 2 by the config, but its label says day 5: the label wins.
  await pushImage(reg, "team/glob", "dev-c", {
    created: day(2),
    labels: { "org.opencontainers.image.created": day(5).toISOString() },
  });
  await pushImage(reg, "team/glob", "main-x", { created: day(9) });
  for (const t of ["1.2.0", "1.2.5", "1.3.0", "1.2.6-rc.1", "latest"]) await pushImage(reg, "team/semver", t);
  await pushImage(reg, "team/regex", "build-1", { created: day(1) });
  await pushImage(reg, "team/regex", "build-2", {
    created: day(2),
    labels: { "org.label-schema.build-date": day(6).toISOString() },
  });
  await pushImage(reg, "team/regex", "other", { created: day(9) });
  const amd1 = await pushImage(reg, "team/multi", "amd64-1", { created: day(1) });
  const amd4 = await pushImage(reg, "team/multi", "amd64-4", { created: day(4), layerContent: "amd4" });
  const arm8 = await pushImage(reg, "team/multi", "arm64-8", {
    created: day(8),
    platform: { os: "linux", architecture: "arm64" },
  });
  const att = await pushImage(reg, "team/multi", "att", {
    created: null,
    platform: { os: "unknown", architecture: "unknown" },
  });
  await pushIndex(reg, "team/multi", "v0", [{ image: amd1, os: "linux", architecture: "amd64" }]);
  await pushIndex(reg, "team/multi", "v1", [
    { image: att, os: "unknown", architecture: "unknown" },
    { image: arm8, os: "linux", architecture: "arm64" },
    { image: amd4, os: "linux", architecture: "amd64" },
  ]);
  for (let i = 0; i < 25; i++) await pushImage(reg, "team/many", `tag-${String(i).padStart(2, "0")}`);
  await pushImage(reg, "team/zero", "z-1", { created: new Date(0) });
  await pushImage(reg, "team/zero", "z-2", { created: day(3) });
});

afterAll(async () => {
  await proxy?.close();
  await reg?.stop();
});

function scanner(opts: DistributionClientOptions = {}) {
  const client = new DistributionClient(opts);
  return { client, scanner: new ImageScanner({ client }) };
}

async function plan(s: ImageScanner, instances: AppInstance[]) {
  const scans = await s.scan(wantedScans(instances));
  return { scans, plan: planImageUpdates({ instances, scans }) };
}

const failed = (s: RepositoryScan | undefined) => (s && !s.ok ? s.error : "(scan ok)");

describe("filters against the real registry", () => {
  it("glob orders by creation time, a label overriding the config's created", async () => {
    const { scanner: s } = scanner();
    const r = await plan(s, [inst("dev", `${proxy.host}/team/glob`, "dev-a", "glob:dev-*")]);
    expect(r.plan.decisions[0]).toMatchObject({ action: "update", current: "dev-a", to: "dev-c" });
    const scan = r.scans.get(`${proxy.host}/team/glob`);
    expect(scan?.ok && scan.times.get("dev-c")).toMatchObject({ source: "label", created: day(5) });
    expect(scan?.ok && scan.times.get("dev-b")).toMatchObject({ source: "config", created: day(3) });
    // main-x does not pass the filter: its time is not read.
    expect(scan?.ok && scan.times.has("main-x")).toBe(false);
  });

  it("semver needs only the listing: no manifest or blob request", async () => {
    const { scanner: s } = scanner();
    proxy.resetCounts();
    const r = await plan(s, [inst("prod", `${proxy.host}/team/semver`, "1.2.0", "semver:~1.2")]);
    expect(r.plan.updates).toEqual([{ app: "app", env: "prod", container: "app", tag: "1.2.5" }]);
    expect(proxy.counts).toMatchObject({ tags: 1, manifestGet: 0, manifestHead: 0, blobGet: 0 });
  });

  it("regex (unanchored RE2) with org.label-schema.build-date", async () => {
    const { scanner: s } = scanner();
    const r = await plan(s, [inst("dev", `${proxy.host}/team/regex`, "build-1", "regex:build-\\d")]);
    expect(r.plan.decisions[0]).toMatchObject({ action: "update", to: "build-2" });
  });

  it("a multi-arch index gives the linux/amd64 image's time, skipping the attestation", async () => {
    const { scanner: s } = scanner();
    const r = await plan(s, [inst("dev", `${proxy.host}/team/multi`, "v0", "glob:v*")]);
    const scan = r.scans.get(`${proxy.host}/team/multi`);
    expect(scan?.ok && scan.times.get("v1")?.created).toEqual(day(4));
    expect(r.plan.decisions[0]).toMatchObject({ action: "update", to: "v1" });
    const arm = new ImageScanner({
      client: new DistributionClient(),
      platform: { os: "linux", architecture: "arm64" },
    });
    const r2 = await plan(arm, [inst("dev", `${proxy.host}/team/multi`, "v0", "glob:v*")]);
    const s2 = r2.scans.get(`${proxy.host}/team/multi`);
    expect(s2?.ok && s2.times.get("v1")?.created).toEqual(day(8));
    // v0 has no arm64 image: that tag's time is an error naming the repository, so nothing moves.
    expect(r2.plan.decisions[0]).toMatchObject({ action: "wait", reason: "registry-error" });
    expect(r2.plan.decisions[0]?.action === "wait" && r2.plan.decisions[0].message).toMatch(
      /team\/multi.*linux\/arm64/,
    );
  });

  it("a 1970 creation time cannot order, and says so", async () => {
    const { scanner: s } = scanner();
    const r = await plan(s, [inst("dev", `${proxy.host}/team/zero`, "z-2", "glob:z-*")]);
    expect(r.plan.decisions[0]).toMatchObject({ action: "wait", reason: "cannot-order" });
    expect(r.plan.decisions[0]?.action === "wait" && r.plan.decisions[0].message).toMatch(/z-1/);
  });
});

describe("request counts", () => {
  it("a steady-state rescan is one tag list per repository, shared repositories scanned once", async () => {
    const { scanner: s } = scanner();
    const instances = [
      inst("dev", `${proxy.host}/team/glob`, "dev-a", "glob:dev-*"),
      inst("stg", `${proxy.host}/team/glob`, "main-x", "glob:main-*"),
      inst("prod", `${proxy.host}/team/semver`, "1.2.0", "semver:^1"),
    ];
    proxy.resetCounts();
    await plan(s, instances);
    // dev-a, dev-b, dev-c, main-x: one manifest and one config blob each.
    expect(proxy.counts).toMatchObject({ tags: 2, manifestGet: 4, blobGet: 4, manifestHead: 0 });
    proxy.resetCounts();
    const again = await plan(s, instances);
    expect(proxy.counts).toMatchObject({ tags: 2, manifestGet: 0, blobGet: 0, manifestHead: 0 });
    expect(again.plan.updates.map((u) => `${u.env}:${u.tag}`)).toEqual(["dev:dev-c", "prod:1.3.0"]);

    await pushImage(reg, "team/glob", "dev-new", { created: day(20) });
    proxy.resetCounts();
    const third = await plan(s, instances);
    expect(proxy.counts).toMatchObject({ tags: 2, manifestGet: 1, blobGet: 1 });
    expect(third.plan.updates.map((u) => `${u.env}:${u.tag}`)).toEqual(["dev:dev-new", "prod:1.3.0"]);
  });

  it("pagination follows the Link header page by page (also when the next link lost its port)", async () => {
    for (const dropPort of [false, true]) {
      const { client } = scanner();
      proxy.paginate = { pageSize: 10, dropPort };
      proxy.resetCounts();
      try {
        const tags = await client.tags({ host: proxy.host, path: "team/many" });
        expect(tags.sort()).toEqual(
          Array.from({ length: 25 }, (_, i) => `tag-${String(i).padStart(2, "0")}`),
        );
        expect(proxy.counts.tags).toBe(3);
      } finally {
        proxy.paginate = undefined;
      }
    }
  });

  it("a truncated page in the middle of a listing fails the whole listing", async () => {
    const { scanner: s } = scanner();
    proxy.paginate = { pageSize: 10 };
    proxy.fault = (kind, req) =>
      kind === "tags" && req.url?.includes("last=") ? { truncateTo: 15 } : undefined;
    try {
      const out = await s.scan(wantedScans([inst("dev", `${proxy.host}/team/many`, "tag-00", "glob:tag-*")]));
      expect(failed(out.get(`${proxy.host}/team/many`))).toMatch(/team\/many: .*not valid JSON/);
    } finally {
      proxy.paginate = undefined;
      proxy.fault = undefined;
    }
  });

  it("a next link to another origin is not followed", async () => {
    const { scanner: s } = scanner({ pageSize: 10 });
    proxy.fault = (kind) =>
      kind === "tags" ? { link: '<http://evil.example/v2/team/many/tags/list?n=10>; rel="next"' } : undefined;
    try {
      const out = await s.scan(wantedScans([inst("dev", `${proxy.host}/team/many`, "tag-00", "semver:*")]));
      expect(failed(out.get(`${proxy.host}/team/many`))).toMatch(
        new RegExp(`${proxy.host}/team/many: .*another host.*evil\\.example`),
      );
    } finally {
      proxy.fault = undefined;
    }
  });
});

describe("faults give an error naming the registry and repository, and no update", () => {
  const cases: [string, import("../../helpers/registry-proxy.js").Fault, RegExp][] = [
    ["401 without a challenge", { status: 401 }, /refused anonymous access \(401\)/],
    ["403", { status: 403 }, /forbids list tags \(403\)/],
    ["500", { status: 500 }, /failed to list tags \(HTTP 500\)/],
    ["garbage JSON", { status: 200, body: "<html>oops" }, /not valid JSON/],
    ["a truncated page", { truncateTo: 20 }, /not valid JSON \(truncated\?\)/],
    [
      "429 with a long Retry-After",
      { status: 429, headers: { "retry-after": "120" } },
      /asked to wait.*rate limited for another 1[12]\d s/,
    ],
  ];
  for (const [name, fault, want] of cases) {
    it(name, async () => {
      const { scanner: s } = scanner();
      proxy.fault = (kind) => (kind === "tags" ? fault : undefined);
      try {
        const instances = [inst("dev", `${proxy.host}/team/glob`, "dev-a", "glob:dev-*")];
        const r = await plan(s, instances);
        const msg = failed(r.scans.get(`${proxy.host}/team/glob`));
        expect(msg).toMatch(new RegExp(`^${proxy.host.replace(/\./g, "\\.")}/team/glob: `));
        expect(msg).toMatch(want);
        expect(r.plan.updates).toEqual([]);
        expect(r.plan.decisions[0]).toMatchObject({ action: "wait", reason: "registry-error" });
      } finally {
        proxy.fault = undefined;
      }
    });
  }

  it("404: the repository does not exist", async () => {
    const { scanner: s } = scanner();
    const r = await plan(s, [inst("dev", `${proxy.host}/team/nope`, "x", "glob:*")]);
    expect(failed(r.scans.get(`${proxy.host}/team/nope`))).toMatch(/team\/nope: repository not found/);
  });

  it("a 429 with a short Retry-After is waited out and the scan succeeds", async () => {
    const { scanner: s } = scanner();
    let n = 0;
    proxy.fault = (kind) =>
      kind === "tags" && n++ === 0 ? { status: 429, headers: { "retry-after": "1" } } : undefined;
    try {
      const r = await plan(s, [inst("prod", `${proxy.host}/team/semver`, "1.2.0", "semver:~1.2")]);
      expect(r.plan.updates.map((u) => u.tag)).toEqual(["1.2.5"]);
      expect(n).toBe(2);
    } finally {
      proxy.fault = undefined;
    }
  });

  it("a failing manifest stops only the tags it concerns, and nothing moves", async () => {
    const { scanner: s } = scanner();
    proxy.fault = (kind, req) =>
      kind === "manifestGet" && req.url?.includes("dev-b") ? { status: 500 } : undefined;
    try {
      const r = await plan(s, [
        inst("dev", `${proxy.host}/team/glob`, "dev-a", "glob:dev-*"),
        inst("prod", `${proxy.host}/team/semver`, "1.2.0", "semver:~1.2"),
      ]);
      expect(r.plan.decisions.map((d) => (d.action === "wait" ? d.reason : d.to))).toEqual([
        "registry-error",
        "1.2.5",
      ]);
      expect(r.plan.decisions[0]?.action === "wait" && r.plan.decisions[0].message).toMatch(
        /team\/glob.*HTTP 500/,
      );
    } finally {
      proxy.fault = undefined;
    }
  });
});

describe("authentication", () => {
  let authReg: RegistryServer;
  let authProxy: RegistryProxy;
  let bearerProxy: RegistryProxy;
  const canary = "canary-Pa55w0rd-7f3e9";
  const bearerCreds = { username: "robot", password: canary };

  beforeAll(async () => {
    authReg = await startRegistry({ auth: { username: "e2e", password: canary } });
    await pushImage(authReg, "private/app", "1.0.0");
    await pushImage(authReg, "private/app", "1.1.0");
    authProxy = await startRegistryProxy({ target: authReg.url });
    // A bearer-token front (realm /token, Basic credentials exchanged for a token) over the same registry.
    bearerProxy = await startRegistryProxy({
      target: authReg.url,
      upstreamAuth: { username: "e2e", password: canary },
      bearer: bearerCreds,
    });
  });
  afterAll(async () => {
    await authProxy?.close();
    await bearerProxy?.close();
    await authReg?.stop();
  });

  const semverAt = (host: string) => [inst("prod", `${host}/private/app`, "1.0.0", "semver:^1")];

  it("htpasswd Basic: works with credentials; without them a clear 401", async () => {
    const ok = scanner({
      hosts: [{ host: authProxy.host, credentials: { username: "e2e", password: canary } }],
    });
    expect((await plan(ok.scanner, semverAt(authProxy.host))).plan.updates.map((u) => u.tag)).toEqual([
      "1.1.0",
    ]);
    const anon = scanner();
    const r = await plan(anon.scanner, semverAt(authProxy.host));
    expect(failed(r.scans.get(`${authProxy.host}/private/app`))).toMatch(
      /private\/app: the registry refused anonymous access \(401\)/,
    );
  });

  it("bearer: a token from the realm with Basic credentials, cached for the next scans", async () => {
    const { scanner: s } = scanner({ hosts: [{ host: bearerProxy.host, credentials: bearerCreds }] });
    bearerProxy.resetCounts();
    expect((await plan(s, semverAt(bearerProxy.host))).plan.updates.map((u) => u.tag)).toEqual(["1.1.0"]);
    expect(bearerProxy.counts.token).toBe(1);
    bearerProxy.resetCounts();
    await plan(s, semverAt(bearerProxy.host));
    expect(bearerProxy.counts).toMatchObject({ token: 0, tags: 1 });
  });

  it("credential canary: the password never appears in errors or results", async () => {
    const texts: string[] = [];
    const wrong = { username: "robot", password: `${canary}-wrong` };
    const runs: [RegistryProxy, DistributionClientOptions][] = [
      [bearerProxy, { hosts: [{ host: bearerProxy.host, credentials: wrong }] }],
      [authProxy, { hosts: [{ host: authProxy.host, credentials: wrong }] }],
      [authProxy, { hosts: [{ host: authProxy.host, credentials: { username: "e2e", password: canary } }] }],
    ];
    for (const [p, opts] of runs) {
      for (const status of [undefined, 403, 500]) {
        p.fault = status ? (kind) => (kind === "tags" ? { status } : undefined) : undefined;
        const { scanner: s } = scanner(opts);
        const r = await plan(s, semverAt(p.host));
        texts.push(JSON.stringify([...r.scans.values()]), JSON.stringify(r.plan));
        p.fault = undefined;
      }
    }
    const all = texts.join("\n");
    expect(all).toMatch(/refused|forbids|failed/);
    for (const secret of [
      canary,
      Buffer.from(`e2e:${canary}`).toString("base64"),
      Buffer.from(`robot:${canary}`).toString("base64"),
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});
