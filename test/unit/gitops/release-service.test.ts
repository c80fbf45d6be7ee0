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

  it("release: refuses a tag automation would undo; force sets and locks in one commit", async () => {
    const { repo, svc } = setup();
    const e = await rejects(
      svc.release({ app: "podinfo", env: "dev", tag: "1.0.0", actor: alice }),
      "filter-mismatch",
    );
    expect(e.message).toBe(
      "dev/podinfo is automated and 1.0.0 does not match glob:dev-* (chart-image), so image automation would replace it again",
    );
    const r = await svc.release({ app: "podinfo", env: "dev", tag: "1.0.0", force: true, actor: alice });
    expect(r.locked).toBe(true);
    expect(r.subject).toBe("[dev/podinfo] release 1.0.0 (forced, locked)");
    expect(repo.changes).toHaveLength(1);
    const text = (await repo.read("releases/dev/podinfo.yaml"))!;
    expect(text).toContain("      tag: 1.0.0\n");
    expect(text).toContain("    fluxcd.io/locked_msg: pinned 1.0.0 (forced release by alice)\n");
  });

  it("release: validates the tag and the container", async () => {
    const { svc } = setup();
    await rejects(svc.release({ app: "frontend", env: "stg", tag: "x y", actor: alice }), "bad-tag");
    // Two containers and none has a filter in stg: say which.
    const e = await rejects(
      svc.release({ app: "frontend", env: "stg", tag: "1.0", actor: alice }),
      "ambiguous-container",
    );
    expect(e.hint).toBe("Containers: web, proxy.");
    // In dev only `web` has a filter, so it is the default.
    const r = await svc.release({ app: "frontend", env: "dev", tag: "dev-ffff", actor: alice });
    expect(r.imageChanges[0]!.container).toBe("web");
    await rejects(svc.release({ app: "frontend", env: "dev", tag: "dev-ffff", actor: alice }), "no-change");
    const p = await svc.release({
      app: "frontend",
      env: "stg",
      container: "proxy",
      tag: "1.27.4",
      actor: alice,
    });
    expect(p.commit.diff).toContain("+          image: docker.io/library/nginx:1.27.4");
  });

  it("retries on a new head: the edit runs again and keeps the other writer's change", async () => {
    const { repo, svc } = setup();
    repo.raceOnce = () => {
      repo.commitFiles(
        {
          "releases/prod/podinfo.yaml": loadDir()["releases/prod/podinfo.yaml"]!.replace(
            "replicaCount: 3",
            "replicaCount: 5",
          ),
        },
        "scale prod",
      );
    };
    const r = await svc.release({ app: "podinfo", env: "prod", tag: "0.4.11", actor: alice });
    expect(r.commit.retries).toBe(1);
    const text = (await repo.read("releases/prod/podinfo.yaml"))!;
    expect(text).toContain("replicaCount: 5");
    expect(text).toContain("tag: 0.4.11");
  });

  it("promote: dry run shows the diff and commits nothing; copies a chart version", async () => {
    const files = loadDir();
    const chart = (v: string) =>
      `    repository: https://charts.example.com\n    name: podinfo\n    version: ${v}\n`;
    const git =
      "    git: https://github.com/example/gitops-config\n    path: charts/podinfo\n    ref: main\n";
    files["releases/stg/podinfo.yaml"] = files["releases/stg/podinfo.yaml"]!.replace(git, chart("6.5.1"));
    files["releases/dev/podinfo.yaml"] = files["releases/dev/podinfo.yaml"]!.replace(git, chart("6.5.2"));
    const repo = new InMemoryConfigRepo(files);
    const svc = new ReleaseService({ repo, clock });
    const head = await repo.head();
    const plan = await svc.plan({ app: "podinfo", from: "dev", to: "stg" });
    expect(plan.chartChange).toEqual({ from: "6.5.1", to: "6.5.2" });
    expect(plan.filterConflicts).toEqual([
      { container: "chart-image", tag: "dev-kb9lm91e", filter: { kind: "glob", expr: "stg-*" } },
    ]);
    const dry = await svc.promote({
      app: "podinfo",
      from: "dev",
      to: "stg",
      force: true,
      dryRun: true,
      actor: alice,
    });
    expect(dry.commit.sha).toBeUndefined();
    expect(dry.commit.diff).toContain("+    version: 6.5.2");
    expect(await repo.head()).toBe(head);
    const r = await svc.promote({
      app: "podinfo",
      from: "dev",
      to: "stg",
      force: true,
      actor: alice,
      message: "try dev build",
    });
    expect(r.chartChange).toEqual({ from: "6.5.1", to: "6.5.2" });
    const [c] = await repo.log({ limit: 1 });
    expect(c!.body).toContain("Chart 6.5.1 -> 6.5.2 for stg:helmrelease/podinfo-rc");
    expect(c!.body).toContain("try dev build");
    expect(readTrailers(c!.trailers).chart).toBe("6.5.2");
    await rejects(svc.promote({ app: "podinfo", from: "stg", to: "stg", actor: alice }), "same-env");
  });

  it("promote: copies a git chart ref where it differs", async () => {
    const files = loadDir();
    files["releases/prod/podinfo.yaml"] = files["releases/prod/podinfo.yaml"]!.replace(
      "    ref: main\n",
      "    ref: v0.4\n",
    );
    const repo = new InMemoryConfigRepo(files);
    const svc = new ReleaseService({ repo, clock });
    const r = await svc.promote({ app: "podinfo", from: "stg", to: "prod", force: true, actor: alice });
    expect(r.chartChange).toEqual({ from: "v0.4", to: "main" });
    expect(r.commit.diff).toContain("+    ref: main");
  });

  it("rollback replaces an existing lock; rollback without history is a clear error", async () => {
    const { svc } = setup();
    await rejects(svc.rollback({ app: "podinfo", env: "prod", actor: alice }), "no-history");
    await svc.release({ app: "podinfo", env: "prod", tag: "0.4.11", actor: alice });
    await svc.lock({ app: "podinfo", env: "prod", actor: bob, message: "freeze" });
    const r = await svc.rollback({ app: "podinfo", env: "prod", actor: alice });
    expect(r.imageChanges[0]).toMatchObject({ from: "0.4.11", to: "0.4.10" });
    const m = await svc.model();
    expect(
      m.instances.find((i) => i.app === "podinfo" && i.env === "prod")!.workload.policies.locked,
    ).toMatchObject({
      user: "Alice <alice@example.com>",
      message: "rolled back to 0.4.10 by alice",
    });
  });

  it("rollback to: a commit of the file's history, a tag, or refused when it looks like an unknown commit", async () => {
    const { repo, svc } = setup();
    await svc.release({ app: "podinfo", env: "prod", tag: "0.4.11", actor: alice });
    const [first] = (await repo.log({ paths: ["releases/prod/podinfo.yaml"] })).slice(-1);
    const e = await rejects(
      svc.rollback({ app: "podinfo", env: "prod", to: "abcdef1", actor: alice }),
      "unknown-revision",
    );
    expect(e.message).toBe(
      '"abcdef1" is neither a commit in the history of releases/prod/podinfo.yaml nor a tag it ran',
    );
    const r = await svc.rollback({
      app: "podinfo",
      env: "prod",
      to: first!.sha.slice(0, 7),
      actor: alice,
      message: "bad\nbuild",
    });
    expect(r.subject).toBe(`[prod/podinfo] rollback to 0.4.10 (${first!.sha.slice(0, 7)})`);
    expect(await repo.read("releases/prod/podinfo.yaml")).toContain("    fluxcd.io/locked_msg: bad build\n");
    await rejects(svc.rollback({ app: "podinfo", env: "prod", to: "bad tag", actor: alice }), "bad-tag");
    const t = await svc.rollback({ app: "podinfo", env: "prod", to: "0.4.11", actor: alice });
    expect(t.imageChanges[0]).toMatchObject({ from: "0.4.10", to: "0.4.11" });
  });

  it("an app whose file is broken: a clear error, and other apps still work", async () => {
    const { repo, svc } = setup();
    repo.commitFiles({ "releases/stg/frontend.yaml": "kind: Deployment\nmetadata: {name: [\n" }, "oops");
    const e = await rejects(svc.lock({ app: "frontend", env: "stg", actor: alice }), "broken-file");
    expect(e.message).toMatch(/^stg\/frontend cannot be read: releases\/stg\/frontend.yaml: invalid YAML/);
    await svc.lock({ app: "frontend", env: "prod", actor: alice });
  });

  it("an app not in an env says where it is", async () => {
    const files = loadDir();
    delete files["releases/stg/frontend.yaml"];
    const svc = new ReleaseService({ repo: new InMemoryConfigRepo(files), clock });
    const e = await rejects(svc.lock({ app: "frontend", env: "stg", actor: alice }), "not-in-env");
    expect(e.hint).toBe("frontend is in: dev, prod.");
  });

  it("works with envs from namespaces and another releases path", async () => {
    const files: Record<string, string> = {};
    for (const [k, v] of Object.entries(loadDir())) {
      if (k.startsWith("releases/")) files[k.replace(/^releases\/(\w+)\//, "apps/$1-")] = v;
    }
    const repo = new InMemoryConfigRepo(files);
    const svc = new ReleaseService({ repo, clock, releasesPath: "apps", envsFrom: "namespaces" });
    const m = await svc.model();
    expect(m.envs).toEqual(["dev", "stg", "prod"]);
    expect(m.apps).toEqual(["dev-frontend", "podinfo", "prod-frontend", "stg-frontend"]);
    const r = await svc.release({ app: "podinfo", env: "prod", tag: "0.4.11", actor: alice });
    expect(r.commit.files).toEqual(["apps/prod-podinfo.yaml"]);
  });

  it("unlock removes every lock key of either prefix; automate fixes a YAML boolean", async () => {
    const files = loadDir();
    files["releases/dev/podinfo.yaml"] = files["releases/dev/podinfo.yaml"]!.replace(
      '    fluxcd.io/automated: "true"\n',
      "    fluxcd.io/automated: true\n    flux.weave.works/locked: 'true'\n    flux.weave.works/locked_msg: old\n",
    );
    const repo = new InMemoryConfigRepo(files);
    const svc = new ReleaseService({ repo, clock });
    let m = await svc.model();
    expect(m.problems).toMatchObject([
      { app: "podinfo", env: "dev", message: expect.stringMatching(/YAML boolean/) },
    ]);
    await svc.unlock({ app: "podinfo", env: "dev", actor: alice });
    await svc.automate({ app: "podinfo", env: "dev", actor: alice });
    m = await svc.model();
    expect(m.problems).toEqual([]);
    expect(await repo.read("releases/dev/podinfo.yaml")).toBe(loadDir()["releases/dev/podinfo.yaml"]);
  });

  it("autoRelease: one commit for many updates, skipping what must not move", async () => {
    const { repo, svc } = setup();
    await svc.lock({ app: "frontend", env: "prod", actor: bob });
    const bot: Actor = {
      id: "automation:image",
      name: "image-automation",
      identity: { name: "gitops-bot", email: "bot@example.com" },
    };
    const r = await svc.autoRelease({
      actor: bot,
      updates: [
        { app: "podinfo", env: "dev", container: "chart-image", tag: "dev-new1" },
        { app: "frontend", env: "dev", container: "web", tag: "dev-new2" },
        { app: "podinfo", env: "prod", container: "chart-image", tag: "stg-nope" },
        { app: "frontend", env: "prod", container: "web", tag: "1.5.0" },
        { app: "frontend", env: "stg", container: "web", tag: "x" },
        { app: "ghost", env: "dev", container: "x", tag: "1" },
      ],
    });
    expect(r.subject).toBe("Auto-release multiple (2) images");
    expect(r.applied.map((x) => `${x.env}/${x.app}:${x.from}->${x.tag}`)).toEqual([
      "dev/frontend:dev-3f2a1c9->dev-new2",
      "dev/podinfo:dev-kb9lm91e->dev-new1",
    ]);
    expect(r.skipped.map((x) => `${x.env}/${x.app}:${x.reason}`).sort()).toEqual([
      "dev/ghost:unknown",
      "prod/frontend:locked",
      "prod/podinfo:filter-mismatch",
      "stg/frontend:not-automated",
    ]);
    expect(r.commit.files).toEqual(["releases/dev/frontend.yaml", "releases/dev/podinfo.yaml"]);
    const [c] = await repo.log({ limit: 1 });
    const t = readTrailers(c!.trailers);
    expect(t).toMatchObject({ action: "auto-release", envs: ["dev"], apps: ["podinfo", "frontend"] });
    const h = await svc.history({ app: "podinfo", env: "dev" });
    expect(h[0]).toMatchObject({
      action: "auto-release",
      by: "image-automation",
      images: [{ container: "chart-image", tag: "dev-new1" }],
    });
    const one = await svc.autoRelease({
      actor: bot,
      updates: [{ app: "podinfo", env: "dev", container: "chart-image", tag: "dev-new3" }],
    });
    expect(one.subject).toBe("[dev/podinfo] Auto-release ghcr.io/stefanprodan/podinfo:dev-new3");
    const none = await svc.autoRelease({
      actor: bot,
      updates: [{ app: "podinfo", env: "dev", container: "chart-image", tag: "dev-new3" }],
    });
    expect(none.commit.sha).toBeUndefined();
    expect(none.skipped[0]!.reason).toBe("unchanged");
  });
});
