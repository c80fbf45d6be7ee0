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
  /** The example repo with podinfo's HelmRelease in `<env>/<name>.yaml` (chart `podinfo`), dev's broken. */
  function broken(name: (env: string) => string) {
    const files = loadDir();
    for (const env of ["dev", "stg", "prod"]) {
      files[`releases/${env}/${name(env)}.yaml`] = files[`releases/${env}/podinfo.yaml`]!;
      delete files[`releases/${env}/podinfo.yaml`];
    }
    files[`releases/dev/${name("dev")}.yaml`] = "kind: HelmRelease\nmetadata: [oops\n";
    return new ReleaseService({ repo: new InMemoryConfigRepo(files), clock });
  }

  async function errorOf(p: Promise<unknown>): Promise<UserError | undefined> {
    return p.then(
      () => undefined,
      (err: unknown) => err as UserError,
    );
  }

  it("names the file and its YAML error, whichever name the app goes by", async () => {
    // One file name in every env: the app is named after it, the chart name is an alias.
    const same = broken(() => "podinfo-release");
    // Another file name per env: the app is named after its chart.
    const differ = broken((env) => `podinfo-${env}`);
    for (const [svc, app, file] of [
      [same, "podinfo-release", "podinfo-release"],
      [same, "podinfo", "podinfo-release"],
      [differ, "podinfo", "podinfo-dev"],
    ] as const) {
      for (const op of [
        () => svc.release({ app, env: "dev", tag: "dev-x1", actor: alice }),
        () => svc.lock({ app, env: "dev", actor: alice }),
        () => svc.history({ app, env: "dev" }),
      ]) {
        const e = await errorOf(op());
        expect(e?.code, `${app} ${file}`).toBe("broken-file");
        expect(e?.message).toMatch(
          file === "podinfo-dev"
            ? /^podinfo was not found in dev, whose releases\/dev\/podinfo-dev.yaml cannot be read: invalid YAML/
            : new RegExp(`^dev/${app} cannot be read: releases/dev/${file}.yaml: invalid YAML`),
        );
      }
    }
  });

  it("an app named after its file also answers to its chart's name", async () => {
    const svc = broken(() => "podinfo-release");
    expect((await svc.model()).apps).toEqual(["frontend", "podinfo-release"]);
    const r = await svc.lock({ app: "podinfo", env: "stg", actor: alice });
    expect(r.subject).toBe("[stg/podinfo-release] lock");
    const u = await svc.unlock({ app: "podinfo-release", env: "stg", actor: alice });
    expect(u.commit.sha).toBeDefined();
  });
});
