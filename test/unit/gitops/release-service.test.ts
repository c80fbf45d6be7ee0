import { describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import type { Actor } from "../../../src/gitops/operations.js";
import { ReleaseService, suggest } from "../../../src/gitops/release-service.js";
import { readTrailers } from "../../../src/gitops/trailers.js";
import { changedLines, loadDir } from "../../helpers/example-repo.js";
import { InMemoryConfigRepo } from "../../helpers/in-memory-config-repo.js";

const alice: Actor = {
  id: "slack:U123",
  name: "alice",
  identity: { name: "Alice", email: "alice@example.com" },
};
const bob: Actor = { id: "teams:b0b", name: "bob", identity: { name: "Bob", email: "bob@example.com" } };
const clock = { now: () => new Date("2026-11-22T10:00:00Z") };

function setup() {
  const repo = new InMemoryConfigRepo(loadDir());
  const svc = new ReleaseService({ repo, clock });
  return { repo, svc };
}

async function rejects(p: Promise<unknown>, code: string): Promise<UserError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  expect((e as UserError).code).toBe(code);
  return e as UserError;
}

describe("ReleaseService (in-memory ConfigRepo)", () => {
  it("model lists envs, apps and instances", async () => {
    const { svc } = setup();
    const m = await svc.model();
    expect(m.envs).toEqual(["dev", "stg", "prod"]);
    expect(m.apps).toEqual(["frontend", "podinfo"]);
    expect(m.problems).toEqual([]);
  });

  it("release sets the tag in one commit with trailers, touching one line", async () => {
    const { repo, svc } = setup();
    const before = (await repo.read("releases/prod/podinfo.yaml"))!;
    const r = await svc.release({
      app: "podinfo",
      env: "prod",
      tag: "0.4.11",
      actor: alice,
      approvers: [bob],
    });
    expect(r.commit.sha).toBeDefined();
    expect(r.subject).toBe("[prod/podinfo] release 0.4.11");
    expect(r.imageChanges).toEqual([
      { container: "chart-image", repository: "ghcr.io/stefanprodan/podinfo", from: "0.4.10", to: "0.4.11" },
    ]);
    const after = (await repo.read("releases/prod/podinfo.yaml"))!;
    expect(changedLines(before, after)).toEqual([[18, "      tag: 0.4.10", "      tag: 0.4.11"]]);
    const [c] = await repo.log({ limit: 1 });
    const t = readTrailers(c!.trailers);
    expect(t).toMatchObject({
      action: "release",
      envs: ["prod"],
      apps: ["podinfo"],
      from: "0.4.10",
      to: "0.4.11",
    });
    expect(t.requestedBy).toEqual({ id: "slack:U123", name: "alice" });
    expect(t.approvedBy).toEqual([{ id: "teams:b0b", name: "bob" }]);
    expect(c!.body).toContain("Release ghcr.io/stefanprodan/podinfo:0.4.11 to prod:helmrelease/podinfo-prod");
    expect(c!.author.name).toBe("Alice");
  });

  it("refuses a promotion that automation would undo, and pins it with force", async () => {
    const { repo, svc } = setup();
    const e = await rejects(
      svc.promote({ app: "podinfo", from: "stg", to: "prod", actor: alice }),
      "filter-mismatch",
    );
    expect(e.message).toContain("semver:~0.4");
    expect(e.message).toContain("stg-9ij63o4c");
    const r = await svc.promote({ app: "podinfo", from: "stg", to: "prod", force: true, actor: alice });
    expect(r.locked).toBe(true);
    expect(r.subject).toBe("[prod/podinfo] promote stg-9ij63o4c from stg (forced, locked)");
    expect(repo.changes).toHaveLength(1);
    const m = await svc.model();
    const prod = m.instances.find((i) => i.app === "podinfo" && i.env === "prod")!;
    expect(prod.workload.images[0]!.tag).toBe("stg-9ij63o4c");
    expect(prod.workload.policies.locked).toMatchObject({
      user: "Alice <alice@example.com>",
      since: "2026-11-22T10:00:00.000Z",
    });
  });

  it("refuses to release into a locked target, saying who and why", async () => {
    const { svc } = setup();
    await svc.lock({ app: "podinfo", env: "prod", actor: bob, message: "incident 42" });
    const e = await rejects(
      svc.release({ app: "podinfo", env: "prod", tag: "0.4.11", actor: alice }),
      "locked",
    );
    expect(e.message).toContain("Bob <bob@example.com>");
    expect(e.message).toContain("incident 42");
    expect(e.message).toContain("2026-11-22T10:00:00.000Z");
  });

  it("rollback goes back to the previous version and locks", async () => {
    const { svc } = setup();
    await svc.release({ app: "podinfo", env: "prod", tag: "0.4.11", actor: alice });
    await svc.release({ app: "podinfo", env: "prod", tag: "0.4.12", actor: alice });
    const r = await svc.rollback({ app: "podinfo", env: "prod", actor: bob });
    expect(r.imageChanges[0]).toMatchObject({ from: "0.4.12", to: "0.4.11" });
    expect(r.locked).toBe(true);
    const h = await svc.history({ app: "podinfo", env: "prod" });
    expect(h.map((x) => [x.action, x.images[0]?.tag])).toEqual([
      ["rollback", "0.4.11"],
      ["release", "0.4.12"],
      ["release", "0.4.11"],
      ["commit", "0.4.10"], // the commit that added the file: a foreign commit, inferred from the file
    ]);
  });

  it("unknown names get a did-you-mean", async () => {
    const { svc } = setup();
    const e = await rejects(svc.lock({ app: "podnfo", env: "prod", actor: alice }), "unknown-app");
    expect(e.message).toContain('Did you mean "podinfo"');
    expect(e.hint).toContain("frontend, podinfo");
    await rejects(svc.lock({ app: "podinfo", env: "prd", actor: alice }), "unknown-env");
    await rejects(svc.lock({ app: "../x", env: "prod", actor: alice }), "bad-name");
    expect(suggest("stag", ["dev", "stg", "prod"])).toEqual(["stg"]);
  });
});
