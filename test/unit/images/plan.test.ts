import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AppInstance, ContainerImage, TagFilter } from "../../../src/core/release.js";
import { compareVersions, parseVersion, type SemVersion } from "../../../src/core/semver.js";
import { parseTagFilter } from "../../../src/gitops/tag-filter.js";
import { newestByTime } from "../../../src/images/order.js";
import { type ImageDecision, planImageUpdates, wantedScans } from "../../../src/images/plan.js";
import type { RepositoryScan, TagTime } from "../../../src/images/scan-result.js";

const REPO = "ghcr.io/team/app";
const KEY = "ghcr.io/team/app";

function image(tag: string, filter?: string, container = "app", repository = REPO): ContainerImage {
  return {
    container,
    repository,
    tag,
    location: { tagPath: ["spec"] },
    ...(filter ? { filter: parseTagFilter(filter) } : {}),
  };
}

function instance(
  images: ContainerImage[],
  opts: { env?: string; app?: string; automated?: boolean; locked?: boolean } = {},
): AppInstance {
  return {
    app: opts.app ?? "app",
    env: opts.env ?? "dev",
    workload: {
      kind: "Deployment",
      apiVersion: "apps/v1",
      name: opts.app ?? "app",
      namespace: opts.env ?? "dev",
      file: `releases/${opts.env ?? "dev"}/app.yaml`,
      docIndex: 0,
      images,
      policies: {
        automated: opts.automated ?? true,
        locked: opts.locked ? { user: "alice", message: "rollback" } : null,
        prefix: "fluxcd.io",
      },
    },
  };
}

const day = (n: number) => new Date(Date.UTC(2026, 0, n));
function scan(
  tags: Record<string, Date | undefined | "error">,
  digests: Record<string, string> = {},
): RepositoryScan {
  const times = new Map<string, TagTime>();
  for (const [t, c] of Object.entries(tags)) {
    if (c === "error") times.set(t, { error: `${KEY}:${t}: HTTP 500` });
    else times.set(t, { digest: digests[t] ?? `sha256:${t}`, ...(c ? { created: c } : {}) });
  }
  return {
    ok: true,
    repository: { key: KEY, host: "ghcr.io", path: "team/app" },
    tags: Object.keys(tags),
    times,
  };
}

function one(
  inst: AppInstance,
  s: RepositoryScan | undefined,
  frozen?: Map<string, { reason?: string }>,
): ImageDecision {
  const d = planImageUpdates({
    instances: [inst],
    scans: new Map(s ? [[KEY, s]] : []),
    ...(frozen ? { frozen } : {}),
  }).decisions[0];
  if (!d) throw new Error("no decision");
  return d;
}

const reason = (d: ImageDecision) => (d.action === "wait" ? d.reason : `update ${d.to}`);

describe("planImageUpdates", () => {
  const times = { "dev-a": day(1), "dev-b": day(3), "dev-c": day(2), "main-z": day(9) };

  it.each<[string, AppInstance, RepositoryScan | undefined, string]>([
    ["glob: newest by creation time", instance([image("dev-a", "glob:dev-*")]), scan(times), "update dev-b"],
    ["default filter glob:*", instance([image("dev-a")]), scan(times), "update main-z"],
    ["already newest", instance([image("dev-b", "glob:dev-*")]), scan(times), "newest"],
    [
      "never backwards (running newer than every candidate)",
      instance([image("main-z", "glob:dev-*")]),
      scan(times),
      "newest",
    ],
    [
      "locked (a rollback)",
      instance([image("dev-a", "glob:dev-*")], { locked: true }),
      scan(times),
      "locked",
    ],
    [
      "not automated",
      instance([image("dev-a", "glob:dev-*")], { automated: false }),
      scan(times),
      "not-automated",
    ],
    ["not scanned", instance([image("dev-a")]), undefined, "not-scanned"],
    [
      "failed listing",
      instance([image("dev-a")]),
      {
        ok: false,
        repository: { key: KEY, host: "ghcr.io", path: "team/app" },
        error: "ghcr.io/team/app: HTTP 500",
      },
      "registry-error",
    ],
    ["running tag vanished", instance([image("dev-gone", "glob:dev-*")]), scan(times), "tag-vanished"],
    ["no candidates", instance([image("dev-a", "glob:rel-*")]), scan(times), "no-candidates"],
    [
      "zero time on a candidate",
      instance([image("dev-a", "glob:dev-*")]),
      scan({ ...times, "dev-d": undefined }),
      "cannot-order",
    ],
    [
      "1970 on the running image",
      instance([image("dev-a", "glob:dev-*")]),
      scan({ ...times, "dev-a": new Date(0) }),
      "cannot-order",
    ],
    [
      "identical times, different images",
      instance([image("dev-a", "glob:dev-*")]),
      scan({ ...times, "dev-d": day(3) }),
      "cannot-order",
    ],
    [
      "identical times, same image as running",
      instance([image("dev-b", "glob:dev-*")]),
      scan({ ...times, "dev-d": day(3) }, { "dev-d": "sha256:dev-b" }),
      "newest",
    ],
    [
      "a timestamp read failed",
      instance([image("dev-a", "glob:dev-*")]),
      scan({ ...times, "dev-d": "error" }),
      "registry-error",
    ],
    ["regex", instance([image("dev-a", "regex:^dev-[ac]$")]), scan(times), "update dev-c"],
    [
      "semver: highest, non-semver ignored, no timestamps needed",
      instance([image("1.2.0", "semver:~1.2")]),
      scan({ "1.2.0": undefined, "1.2.5": undefined, "1.3.0": undefined, latest: undefined }),
      "update 1.2.5",
    ],
    [
      "semver: equal version is not newer",
      instance([image("1.3", "semver:>=1.0")]),
      scan({ "1.3": undefined, "1.3.0": undefined, "v1.3.0": undefined }),
      "newest",
    ],
    [
      "semver: never backwards when running is above the range",
      instance([image("2.0.0", "semver:~1.2")]),
      scan({ "1.2.5": undefined, "2.0.0": undefined }),
      "newest",
    ],
    [
      "semver: running tag not a version",
      instance([image("latest", "semver:~1.2")]),
      scan({ "1.2.5": undefined, latest: undefined }),
      "cannot-order",
    ],
  ])("%s", (_name, inst, s, want) => {
    expect(reason(one(inst, s))).toBe(want);
  });

  it("frozen env waits, and says why", () => {
    const d = one(instance([image("dev-a")]), scan(times), new Map([["dev", { reason: "release week" }]]));
    expect(d).toMatchObject({ action: "wait", reason: "frozen", message: "dev is frozen: release week" });
  });

  it("invalid filter stalls that container only", () => {
    const bad: ContainerImage = {
      ...image("dev-a", undefined, "bad"),
      filterError: "filter.fluxcd.io/bad: invalid",
    };
    const plan = planImageUpdates({
      instances: [instance([bad, image("dev-a", "glob:dev-*")])],
      scans: new Map([[KEY, scan(times)]]),
    });
    expect(plan.decisions.map(reason)).toEqual(["invalid-filter", "update dev-b"]);
    expect(plan.updates).toEqual([{ app: "app", env: "dev", container: "app", tag: "dev-b" }]);
  });

  it("messages name the workload file, the registry and the repository", () => {
    const d = one(instance([image("dev-gone", "glob:dev-*")]), scan(times));
    expect(d.action === "wait" && d.message).toMatch(/releases\/dev\/app\.yaml.*ghcr\.io\/team\/app/);
  });
});

describe("wantedScans", () => {
  it("scans a shared repository once, with the time filters and running tags of its users", () => {
    const reqs = wantedScans([
      instance([image("dev-a", "glob:dev-*")], { env: "dev" }),
      instance([image("stg-a", "glob:stg-*")], { env: "stg" }),
      instance([image("1.0.0", "semver:^1")], { env: "prod" }),
      instance([image("x", "glob:*", "other", "nginx")], { env: "prod", app: "web", locked: true }),
    ]);
    expect(reqs).toEqual([
      {
        repository: { key: KEY, host: "ghcr.io", path: "team/app" },
        timeFilters: [
          { kind: "glob", expr: "dev-*" },
          { kind: "glob", expr: "stg-*" },
        ],
        runningTags: ["dev-a", "stg-a"],
      },
    ]);
  });

  it("semver-only repositories need no timestamps; docker.io names are normalised", () => {
    expect(wantedScans([instance([image("1.0", "semver:^1", "app", "nginx")])])).toEqual([
      {
        repository: { key: "docker.io/library/nginx", host: "docker.io", path: "library/nginx" },
        timeFilters: [],
        runningTags: [],
      },
    ]);
  });
});

describe("never backwards (property)", () => {
  const tagArb = fc.constantFrom("a", "b", "c", "d", "e", "f");
  it("glob/regex: an update is strictly newer than what runs, and the newest candidate", () => {
    fc.assert(
      fc.property(
        fc.dictionary(tagArb, fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }), { minKeys: 1 }),
        tagArb,
        (spec, running) => {
          const tags = Object.keys(spec);
          if (!tags.includes(running)) tags.push(running);
          const times = new Map<string, TagTime>(
            tags.map((t) => {
              const n = spec[t];
              return [
                t,
                {
                  digest: `sha256:${t}`,
                  ...(n !== undefined ? { created: n === 0 ? new Date(0) : day(n) } : {}),
                },
              ];
            }),
          );
          const r = newestByTime(tags, running, times);
          if (r.kind === "newer") {
            const to = times.get(r.tag)?.created?.getTime() ?? Number.NaN;
            expect(to).toBeGreaterThan(times.get(running)?.created?.getTime() ?? Number.POSITIVE_INFINITY);
            for (const t of tags) expect(times.get(t)?.created?.getTime() ?? 0).toBeLessThanOrEqual(to);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("semver: an update is a strictly higher version than what runs, whatever the filter", () => {
    const ver = fc
      .tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.constantFrom("", "-rc.1", "-beta"))
      .map(([a, b, c, p]) => `${a}.${b}.${c}${p}`);
    const filters = fc.constantFrom(
      "semver:*",
      "semver:~1.2",
      "semver:^1",
      "semver:>=1.0.0-0",
      "semver:!=1.2.3",
      "semver:<2",
    );
    fc.assert(
      fc.property(fc.uniqueArray(ver, { minLength: 1, maxLength: 8 }), ver, filters, (tags, running, f) => {
        const all = tags.includes(running) ? tags : [...tags, running];
        const s = scan(Object.fromEntries(all.map((t) => [t, undefined])));
        const d = one(instance([image(running, f)]), s);
        if (d.action === "update") {
          const cmp = compareVersions(parseVersion(d.to) as SemVersion, parseVersion(running) as SemVersion);
          expect(cmp).toBeGreaterThan(0);
          expect((parseTagFilter(f) as TagFilter).kind).toBe("semver");
        }
      }),
      { numRuns: 1000 },
    );
  });
});
