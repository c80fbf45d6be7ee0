import { describe, expect, it } from "vitest";
import { UserError } from "../../../../src/core/errors.js";
import type { Actor } from "../../../../src/gitops/operations.js";
import { ReleaseService } from "../../../../src/gitops/release-service.js";
import { loadDir } from "../../../helpers/example-repo.js";
import { InMemoryConfigRepo } from "../../../helpers/in-memory-config-repo.js";

const alice: Actor = { id: "slack:U1", name: "alice", identity: { name: "Alice", email: "a@example.com" } };
const clock = { now: () => new Date("2026-11-22T10:00:00Z") };
const DEV = "releases/dev/podinfo.yaml";

function setup() {
  const repo = new InMemoryConfigRepo(loadDir());
  return { repo, svc: new ReleaseService({ repo, clock }) };
}

/** Makes the next push "rejected" after another writer committed `edit(file)`. */
function raceWith(repo: InMemoryConfigRepo, edit: (text: string) => string) {
  repo.raceOnce = () => {
    repo.commitFiles({ [DEV]: edit(loadDir()[DEV]!) }, "someone else");
  };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  return (e as UserError).code;
}

const lockedBy = (t: string) =>
  t.replace(
    '    fluxcd.io/automated: "true"\n',
    '    fluxcd.io/automated: "true"\n    fluxcd.io/locked: "true"\n',
  );

describe("OperationRunner: every operation checks again on the HEAD being built", () => {
  it("a check that fails on the new HEAD leaves no commit, for each operation", async () => {
    const cases: [string, (svc: ReleaseService) => Promise<unknown>, (t: string) => string, string][] = [
      [
        "release",
        (s) => s.release({ app: "podinfo", env: "dev", tag: "dev-x1", actor: alice }),
        lockedBy,
        "locked",
      ],
      [
        "promote",
        (s) => s.promote({ app: "podinfo", from: "stg", to: "dev", force: true, actor: alice }),
        lockedBy,
        "locked",
      ],
      ["lock", (s) => s.lock({ app: "podinfo", env: "dev", actor: alice }), lockedBy, "already-locked"],
      [
        "deautomate",
        (s) => s.deautomate({ app: "podinfo", env: "dev", actor: alice }),
        (t) => t.replace('    fluxcd.io/automated: "true"\n', ""),
        "no-change",
      ],
      [
        "release (filter changed meanwhile)",
        (s) => s.release({ app: "podinfo", env: "dev", tag: "dev-x1", actor: alice }),
        (t) => t.replace("glob:dev-*", "glob:feature-*"),
        "filter-mismatch",
      ],
    ];
    for (const [name, run, race, code] of cases) {
      const { repo, svc } = setup();
      const before = (await repo.log()).length;
      raceWith(repo, race);
      expect(await codeOf(run(svc)), name).toBe(code);
      // Only the other writer's commit was added.
      expect((await repo.log()).length, name).toBe(before + 1);
    }
  });

  it("autoRelease re-checks each update on the new HEAD and skips it", async () => {
    const { repo, svc } = setup();
    raceWith(repo, lockedBy);
    const bot: Actor = { id: "automation:image", name: "image-automation", identity: alice.identity };
    const r = await svc.autoRelease({
      actor: bot,
      updates: [{ app: "podinfo", env: "dev", container: "chart-image", tag: "dev-new1" }],
    });
    expect(r.applied).toEqual([]);
    expect(r.skipped.map((s) => s.reason)).toEqual(["locked"]);
    expect(r.commit.sha).toBeUndefined();
  });
});

describe("resolving an instance whose file is broken", () => {
  it("names the file and its YAML error when the app is named after its chart, not its file", async () => {
    const files = loadDir();
    for (const env of ["dev", "stg", "prod"]) {
      files[`releases/${env}/podinfo-release.yaml`] = files[`releases/${env}/podinfo.yaml`]!;
      delete files[`releases/${env}/podinfo.yaml`];
    }
    files["releases/dev/podinfo-release.yaml"] = "kind: HelmRelease\nmetadata: [oops\n";
    const svc = new ReleaseService({ repo: new InMemoryConfigRepo(files), clock });
    expect((await svc.model()).instances.some((i) => i.app === "podinfo" && i.env === "stg")).toBe(true);
    for (const op of [
      svc.release({ app: "podinfo", env: "dev", tag: "dev-x1", actor: alice }),
      svc.lock({ app: "podinfo", env: "dev", actor: alice }),
      svc.history({ app: "podinfo", env: "dev" }),
    ]) {
      const e = await op.then(
        () => undefined,
        (err: unknown) => err as UserError,
      );
      expect(e?.code).toBe("broken-file");
      expect(e?.message).toMatch(
        /^dev\/podinfo cannot be read: releases\/dev\/podinfo-release.yaml: invalid YAML/,
      );
    }
  });
});
