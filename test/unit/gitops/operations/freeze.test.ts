import { describe, expect, it } from "vitest";
import { UserError } from "../../../../src/core/errors.js";
import { FREEZES_FILE, parseFreezes } from "../../../../src/gitops/freezes.js";
import type { Actor } from "../../../../src/gitops/operations.js";
import { ReleaseService } from "../../../../src/gitops/release-service.js";
import { readTrailers } from "../../../../src/gitops/trailers.js";
import { loadDir } from "../../../helpers/example-repo.js";
import { InMemoryConfigRepo } from "../../../helpers/in-memory-config-repo.js";

const alice: Actor = { id: "slack:U1", name: "alice", identity: { name: "Alice", email: "a@example.com" } };
const bob: Actor = { id: "slack:U2", name: "bob", identity: { name: "Bob", email: "b@example.com" } };
const clock = { now: () => new Date("2026-12-07T01:00:00Z") };
const bot: Actor = { id: "automation:image", name: "image-automation", identity: alice.identity };

function setup(extra: Record<string, string> = {}) {
  const repo = new InMemoryConfigRepo({ ...loadDir(), ...extra });
  return { repo, svc: new ReleaseService({ repo, clock }) };
}

async function errorOf(p: Promise<unknown>): Promise<UserError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  return e as UserError;
}

const frozenProd = `freezes:\n  - env: prod\n    reason: audit\n    by: Bob <b@example.com>\n    at: "2026-12-06T09:00:00.000Z"\n`;

describe("freeze and unfreeze", () => {
  it("freeze commits who, why and since to the freezes file, with the audit trailers", async () => {
    const { repo, svc } = setup();
    const r = await svc.freeze({ env: "prod", message: "release weekend", actor: alice, approvers: [bob] });
    expect(r).toMatchObject({ env: "prod", app: "", action: "freeze", subject: "[prod] freeze automation" });
    expect(r.commit.files).toEqual([FREEZES_FILE]);
    expect(parseFreezes(await repo.read(FREEZES_FILE)).freezes).toEqual([
      { env: "prod", reason: "release weekend", by: "Alice <a@example.com>", at: "2026-12-07T01:00:00.000Z" },
    ]);
    const [c] = await repo.log({ limit: 1 });
    expect(c?.author).toMatchObject(alice.identity);
    expect(c?.body).toContain("release weekend");
    const t = readTrailers(c?.trailers ?? []);
    expect(t).toMatchObject({
      action: "freeze",
      envs: ["prod"],
      apps: [],
      requestedBy: { id: "slack:U1", name: "alice" },
      approvedBy: [{ id: "slack:U2", name: "bob" }],
    });
    expect((await svc.model()).freezes?.map((f) => f.env)).toEqual(["prod"]);
  });

  it("freezing a frozen env says so (who, since, why) and commits nothing", async () => {
    const { repo, svc } = setup({ [FREEZES_FILE]: frozenProd });
    const before = (await repo.log()).length;
    const e = await errorOf(svc.freeze({ env: "prod", actor: alice }));
    expect(e.code).toBe("already-frozen");
    expect(e.message).toBe("prod is already frozen by Bob <b@example.com> since 2026-12-06 09:00 UTC: audit");
    expect((await repo.log()).length).toBe(before);
  });

  it("unfreeze removes only that env; unfreezing an env that is not frozen is refused", async () => {
    const { repo, svc } = setup({ [FREEZES_FILE]: `${frozenProd}  - env: stg\n` });
    const r = await svc.unfreeze({ env: "prod", actor: alice });
    expect(r.subject).toBe("[prod] unfreeze automation");
    expect(parseFreezes(await repo.read(FREEZES_FILE)).freezes.map((f) => f.env)).toEqual(["stg"]);
    const [c] = await repo.log({ limit: 1 });
    expect(c?.body).toContain("frozen by Bob <b@example.com> since 2026-12-06 09:00 UTC: audit");
    expect(readTrailers(c?.trailers ?? []).action).toBe("unfreeze");
    const e = await errorOf(svc.unfreeze({ env: "prod", actor: alice }));
    expect(e.code).toBe("not-frozen");
    expect(e.hint).toBe("Frozen: stg.");
  });

  it("an unknown env gets did-you-mean; a frozen env no longer in the repo can still be unfrozen", async () => {
    const { svc } = setup({ [FREEZES_FILE]: "freezes:\n  - env: qa\n" });
    const e = await errorOf(svc.freeze({ env: "prd", actor: alice }));
    expect(e.code).toBe("unknown-env");
    expect(e.message).toContain('Did you mean "prod"');
    await expect(svc.unfreeze({ env: "qa", actor: alice })).resolves.toMatchObject({ action: "unfreeze" });
  });

  it("a dry run shows the diff and commits nothing", async () => {
    const { repo, svc } = setup();
    const before = (await repo.log()).length;
    const r = await svc.freeze({ env: "dev", actor: alice, dryRun: true });
    expect(r.commit.sha).toBeUndefined();
    expect(r.commit.diff).toContain("+  - env: dev");
    expect((await repo.log()).length).toBe(before);
  });

  it("checks again on the HEAD being built: a freeze that landed meanwhile means no commit", async () => {
    const { repo, svc } = setup();
    repo.raceOnce = () => {
      repo.commitFiles({ [FREEZES_FILE]: frozenProd }, "bob froze prod by hand");
    };
    const e = await errorOf(svc.freeze({ env: "prod", actor: alice }));
    expect(e.code).toBe("already-frozen");
    const [c] = await repo.log({ limit: 1 });
    expect(c?.subject).toBe("bob froze prod by hand");
  });

  it("a broken freezes file is a clear error naming it; a broken entry of another env blocks nothing", async () => {
    const broken = setup({ [FREEZES_FILE]: "freezes: [\n" });
    const e = await errorOf(broken.svc.freeze({ env: "prod", actor: alice }));
    expect(e.message).toMatch(/^\.gitops-bot\/freezes\.yaml cannot be read: invalid YAML/);
    expect(e.hint).toContain("Fix .gitops-bot/freezes.yaml in the config repo");
    // Other commands do not read the file at all.
    await expect(broken.svc.lock({ app: "podinfo", env: "prod", actor: alice })).resolves.toMatchObject({
      action: "lock",
    });
    const entry = setup({ [FREEZES_FILE]: "freezes:\n  - env: dev\n    at: soon\n" });
    await expect(entry.svc.freeze({ env: "prod", actor: alice })).resolves.toMatchObject({
      action: "freeze",
    });
    expect((await entry.svc.model()).freezeProblems?.map((p) => p.message)).toEqual([
      'freezes[0] (dev): "at" is not a time',
    ]);
  });
});

describe("autoRelease and frozen envs", () => {
  const update = { app: "podinfo", env: "dev", container: "chart-image", tag: "dev-new1" };

  it("skips updates to a frozen env", async () => {
    const { repo, svc } = setup({ [FREEZES_FILE]: "freezes:\n  - env: dev\n" });
    const r = await svc.autoRelease({ actor: bot, updates: [update] });
    expect(r.skipped.map((s) => s.reason)).toEqual(["frozen"]);
    expect(r.commit.sha).toBeUndefined();
    expect(await repo.read("releases/dev/podinfo.yaml")).toBe(loadDir()["releases/dev/podinfo.yaml"]);
  });

  it("re-checks on the HEAD being built: a freeze that landed meanwhile stops the update", async () => {
    const { repo, svc } = setup();
    repo.raceOnce = () => {
      repo.commitFiles({ [FREEZES_FILE]: "freezes:\n  - env: dev\n" }, "freeze dev");
    };
    const r = await svc.autoRelease({ actor: bot, updates: [update] });
    expect(r.applied).toEqual([]);
    expect(r.skipped.map((s) => s.reason)).toEqual(["frozen"]);
    expect(r.commit.sha).toBeUndefined();
  });

  it("an unreadable freezes file stops every update (it cannot tell which env was meant)", async () => {
    const { svc } = setup({ [FREEZES_FILE]: "freezes: [\n" });
    const r = await svc.autoRelease({ actor: bot, updates: [update] });
    expect(r.skipped.map((s) => s.reason)).toEqual(["frozen"]);
  });
});
