/**
 * ReleaseService against the real GitConfigRepo: in local-path mode on a `git init`ed temp copy of
 * examples/config-repo, and over smart HTTP against the git server harness (rejected pushes).
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { repoSchema } from "../../src/config/schema.js";
import { UserError } from "../../src/core/errors.js";
import { nullLogger } from "../../src/core/ports.js";
import { findInstance } from "../../src/core/release.js";
import { GitConfigRepo } from "../../src/gitops/git-config-repo.js";
import type { Actor } from "../../src/gitops/operations.js";
import { ReleaseService } from "../../src/gitops/release-service.js";
import { readTrailers } from "../../src/gitops/trailers.js";
import { type GitServer, startGitServer } from "../harness/git-server.js";
import { changedLines, EXAMPLES_DIR } from "../helpers/example-repo.js";

const run = promisify(execFile);
const gitEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "Carol",
  GIT_AUTHOR_EMAIL: "carol@example.com",
  GIT_COMMITTER_NAME: "Carol",
  GIT_COMMITTER_EMAIL: "carol@example.com",
};
const git = (cwd: string, args: string[]) => run("git", args, { cwd, env: gitEnv });

const alice: Actor = {
  id: "slack:U123",
  name: "alice",
  identity: { name: "Alice", email: "alice@example.com" },
};
const bob: Actor = { id: "teams:b0b", name: "bob", identity: { name: "Bob", email: "bob@example.com" } };
const clock = { now: () => new Date("2026-11-22T10:00:00Z") };

async function rejects(p: Promise<unknown>, code: string): Promise<UserError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  expect((e as UserError).code).toBe(code);
  return e as UserError;
}

describe("ReleaseService on GitConfigRepo (local path)", () => {
  let tmp: string;
  let src: string;
  let repo: GitConfigRepo;
  let svc: ReleaseService;

  /** A commit by someone else, straight into the repo's checkout. */
  async function foreignCommit(files: Record<string, string>, message: string): Promise<string> {
    for (const [p, c] of Object.entries(files)) await writeFile(join(src, p), c);
    await git(src, ["add", "-A"]);
    await git(src, ["commit", "-qm", message]);
    return (await git(src, ["rev-parse", "HEAD"])).stdout.trim();
  }

  async function lastCommit() {
    const [c] = await repo.log({ limit: 1 });
    if (!c) throw new Error("no commits");
    return { ...c, t: readTrailers(c.trailers) };
  }

  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), "release-service-"));
    src = join(tmp, "config");
    await cp(EXAMPLES_DIR, src, { recursive: true });
    await git(src, ["init", "-q", "-b", "main"]);
    await git(src, ["add", "-A"]);
    await git(src, ["commit", "-qm", "initial import"]);
    repo = await GitConfigRepo.open(
      repoSchema.parse({ url: src, branch: "main", workdir: join(tmp, "work"), backend: "native" }),
      { logger: nullLogger },
    );
    svc = new ReleaseService({ repo, clock });
  });
  afterEach(async () => {
    await repo.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("release: one commit, subject, trailers, and only the tag line changes", async () => {
    const before = (await repo.read("releases/prod/podinfo.yaml"))!;
    const r = await svc.release({
      app: "podinfo",
      env: "prod",
      tag: "0.4.11",
      actor: alice,
      approvers: [bob],
      message: "hotfix",
    });
    expect(r.commit.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(r.commit.files).toEqual(["releases/prod/podinfo.yaml"]);
    expect(r.commit.diff).toContain("+      tag: 0.4.11");
    const after = (await repo.read("releases/prod/podinfo.yaml", r.commit.sha))!;
    expect(changedLines(before, after)).toEqual([[18, "      tag: 0.4.10", "      tag: 0.4.11"]]);
    const c = await lastCommit();
    expect(c.sha).toBe(r.commit.sha);
    expect(c.subject).toBe("[prod/podinfo] release 0.4.11");
    expect(c.body).toContain("Release ghcr.io/stefanprodan/podinfo:0.4.11 to prod:helmrelease/podinfo-prod");
    expect(c.body).toContain("hotfix");
    expect(c.author).toMatchObject({ name: "Alice", email: "alice@example.com" });
    expect(c.t).toMatchObject({
      action: "release",
      envs: ["prod"],
      apps: ["podinfo"],
      from: "0.4.10",
      to: "0.4.11",
      images: [{ container: "chart-image", image: "ghcr.io/stefanprodan/podinfo:0.4.11" }],
      requestedBy: { id: "slack:U123", name: "alice" },
      approvedBy: [{ id: "teams:b0b", name: "bob" }],
    });
    // The checkout of the local repo follows.
    expect((await git(src, ["rev-parse", "HEAD"])).stdout.trim()).toBe(r.commit.sha);
  });

  it("dry run: a diff and no commit", async () => {
    const head = await repo.head();
    const r = await svc.release({ app: "podinfo", env: "prod", tag: "0.4.11", actor: alice, dryRun: true });
    expect(r.commit.sha).toBeUndefined();
    expect(r.commit.diff).toContain("-      tag: 0.4.10");
    expect(await repo.sync()).toBe(head);
  });

  it("promote: refused when automation would undo it, pinned with force (tag + lock in one commit)", async () => {
    const e = await rejects(
      svc.promote({ app: "podinfo", from: "stg", to: "prod", actor: alice }),
      "filter-mismatch",
    );
    expect(e.message).toMatch(/stg-9ij63o4c does not match semver:~0\.4/);
    expect(e.hint).toMatch(/force/);
    const head = await repo.head();
    expect(await repo.sync()).toBe(head);

    const before = (await repo.read("releases/prod/podinfo.yaml"))!;
    const r = await svc.promote({ app: "podinfo", from: "stg", to: "prod", force: true, actor: alice });
    expect(r.locked).toBe(true);
    expect(r.subject).toBe("[prod/podinfo] promote stg-9ij63o4c from stg (forced, locked)");
    const after = (await repo.read("releases/prod/podinfo.yaml"))!;
    const changed = changedLines(before, after);
    // The tag line, then four lock annotations inserted after the filter annotation.
    expect(changed[0]).toEqual([9, "spec:", '    fluxcd.io/locked: "true"']);
    expect(after).toContain("      tag: stg-9ij63o4c\n");
    expect(after).toContain('    fluxcd.io/locked_since: "2026-11-22T10:00:00.000Z"\n');
    expect(after.split("\n").length).toBe(before.split("\n").length + 4);
    const c = await lastCommit();
    expect(c.t).toMatchObject({ action: "promote", sourceEnv: "stg", from: "0.4.10", to: "stg-9ij63o4c" });
    expect(c.body).toContain("Locked: prod:helmrelease/podinfo-prod");
  });

  it("promote: copies only the differing container, without a filter conflict", async () => {
    const before = (await repo.read("releases/stg/frontend.yaml"))!;
    const plan = await svc.plan({ app: "frontend", from: "dev", to: "stg" });
    expect(plan.imageChanges).toEqual([
      { container: "web", repository: "ghcr.io/example/frontend", from: "dev-1b7e0d2", to: "dev-3f2a1c9" },
    ]);
    expect(plan.filterConflicts).toEqual([]);
    const r = await svc.promote({ app: "frontend", from: "dev", to: "stg", actor: alice });
    expect(r.locked).toBe(false);
    const after = (await repo.read("releases/stg/frontend.yaml"))!;
    expect(changedLines(before, after)).toEqual([
      [
        18,
        "          image: ghcr.io/example/frontend:dev-1b7e0d2",
        "          image: ghcr.io/example/frontend:dev-3f2a1c9",
      ],
    ]);
  });

  it("lock refuses releases with who/why/since; unlock lifts it", async () => {
    const l = await svc.lock({ app: "podinfo", env: "prod", actor: bob, message: "incident 42" });
    expect(l.subject).toBe("[prod/podinfo] lock");
    const e = await rejects(
      svc.release({ app: "podinfo", env: "prod", tag: "0.4.11", actor: alice }),
      "locked",
    );
    expect(e.message).toBe(
      'prod/podinfo is locked by Bob <bob@example.com> since 2026-11-22T10:00:00.000Z: "incident 42"',
    );
    await rejects(svc.lock({ app: "podinfo", env: "prod", actor: alice }), "already-locked");
    const original = await (await import("node:fs/promises")).readFile(
      join(EXAMPLES_DIR, "releases/prod/podinfo.yaml"),
      "utf8",
    );
    await svc.unlock({ app: "podinfo", env: "prod", actor: bob });
    expect(await repo.read("releases/prod/podinfo.yaml")).toBe(original);
    await svc.release({ app: "podinfo", env: "prod", tag: "0.4.11", actor: alice });
  });

  it("automate, policy and deautomate edit only annotations", async () => {
    await svc.automate({ app: "frontend", env: "stg", filter: "glob:stg-*", actor: alice });
    let m = await svc.model();
    let stg = findInstance(m, "frontend", "stg")!;
    expect(stg.workload.policies.automated).toBe(true);
    expect(stg.workload.images.map((i) => i.filter)).toEqual([
      { kind: "glob", expr: "stg-*" },
      { kind: "glob", expr: "stg-*" },
    ]);
    await svc.policy({
      app: "frontend",
      env: "stg",
      container: "proxy",
      filter: "semver:^1.27",
      actor: alice,
    });
    await rejects(
      svc.policy({
        app: "frontend",
        env: "stg",
        container: "proxy",
        filter: "semver:not a range",
        actor: alice,
      }),
      "bad-filter",
    );
    await rejects(
      svc.policy({ app: "frontend", env: "stg", container: "nope", filter: "glob:*", actor: alice }),
      "unknown-container",
    );
    await svc.deautomate({ app: "frontend", env: "stg", actor: alice });
    m = await svc.model();
    stg = findInstance(m, "frontend", "stg")!;
    expect(stg.workload.policies.automated).toBe(false);
    expect(stg.workload.images[1]!.filter).toEqual({ kind: "semver", expr: "^1.27" });
    const c = await lastCommit();
    expect(c.subject).toBe("[stg/frontend] deautomate");
    expect(c.t.action).toBe("deautomate");
  });

  it("history and rollback work on a local-path repo too", async () => {
    await svc.release({ app: "frontend", env: "stg", container: "web", tag: "dev-aaaa", actor: alice });
    await svc.release({ app: "frontend", env: "stg", container: "web", tag: "dev-bbbb", actor: alice });
    const h = await svc.history({ app: "frontend", env: "stg" });
    expect(h.map((x) => x.images.find((i) => i.container === "web")?.tag)).toEqual([
      "dev-bbbb",
      "dev-aaaa",
      "dev-1b7e0d2",
    ]);
    const r = await svc.rollback({ app: "frontend", env: "stg", actor: bob });
    expect(r.imageChanges).toEqual([
      { container: "web", repository: "ghcr.io/example/frontend", from: "dev-bbbb", to: "dev-aaaa" },
    ]);
    expect(r.commit.files).toEqual(["releases/stg/frontend.yaml"]);
  });

  it("autoRelease: one commit for several apps, with auto-release trailers", async () => {
    const bot: Actor = {
      id: "automation:image",
      name: "image-automation",
      identity: { name: "gitops-bot", email: "bot@example.com" },
    };
    const r = await svc.autoRelease({
      actor: bot,
      updates: [
        { app: "podinfo", env: "dev", container: "chart-image", tag: "dev-n3w" },
        { app: "frontend", env: "dev", container: "web", tag: "dev-n3w" },
        { app: "podinfo", env: "prod", container: "chart-image", tag: "0.5.0" },
      ],
    });
    expect(r.subject).toBe("Auto-release multiple (2) images");
    expect(r.skipped).toEqual([
      { app: "podinfo", env: "prod", container: "chart-image", tag: "0.5.0", reason: "filter-mismatch" },
    ]);
    const c = await lastCommit();
    expect(c.sha).toBe(r.commit.sha);
    expect(c.author.name).toBe("gitops-bot");
    expect(c.t).toMatchObject({ action: "auto-release", envs: ["dev"], apps: ["podinfo", "frontend"] });
    expect(c.body).toContain("- ghcr.io/example/frontend:dev-n3w to dev:deployment/frontend");
    expect(r.commit.files).toEqual(["releases/dev/frontend.yaml", "releases/dev/podinfo.yaml"]);
  });

  it("a malformed file elsewhere does not block an operation", async () => {
    await foreignCommit({ "releases/dev/broken.yaml": "kind: Deployment\nmetadata: [oops\n" }, "broken file");
    await repo.sync();
    const m = await svc.model();
    expect(m.problems).toMatchObject([{ file: "releases/dev/broken.yaml", env: "dev" }]);
    expect(m.instances).toHaveLength(6);
    const r = await svc.release({ app: "podinfo", env: "dev", tag: "dev-zz99", actor: alice });
    expect(r.commit.files).toEqual(["releases/dev/podinfo.yaml"]);
    await rejects(svc.lock({ app: "broken", env: "dev", actor: alice }), "broken-file");
  });

  it("unknown app and env: did you mean, and the known names", async () => {
    const e = await rejects(
      svc.release({ app: "podinf", env: "prod", tag: "1", actor: alice }),
      "unknown-app",
    );
    expect(e.message).toBe('unknown app "podinf". Did you mean "podinfo"?');
    expect(e.hint).toBe("Known apps: frontend, podinfo.");
    const e2 = await rejects(
      svc.release({ app: "podinfo", env: "production", tag: "1", actor: alice }),
      "unknown-env",
    );
    expect(e2.hint).toBe("Known envs: dev, stg, prod.");
  });
});

describe("ReleaseService on GitConfigRepo (smart HTTP, rejected pushes)", () => {
  let server: GitServer;
  let tmp: string;
  beforeAll(async () => {
    server = await startGitServer({ username: "bot", password: "s3cret-canary" });
    tmp = await mkdtemp(join(tmpdir(), "release-service-http-"));
  });
  afterAll(async () => {
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  async function open(name: string) {
    await server.createBareRepo(name, { seedFrom: EXAMPLES_DIR });
    const repo = await GitConfigRepo.open(
      repoSchema.parse({
        url: server.url(name),
        auth: { username: "bot", password: "s3cret-canary" },
        workdir: join(tmp, name),
        backend: "native",
      }),
      { logger: nullLogger, sleep: async () => {} },
    );
    return { repo, svc: new ReleaseService({ repo, clock }) };
  }

  it("history reads trailers and infers foreign commits; rollback pins the previous version", async () => {
    const { repo, svc } = await open("history.git");
    await svc.release({ app: "podinfo", env: "prod", tag: "0.4.11", actor: alice });
    const text = (await repo.read("releases/prod/podinfo.yaml"))!;
    const foreign = await server.commitDirect("history.git", {
      files: { "releases/prod/podinfo.yaml": text.replace("tag: 0.4.11", "tag: 0.4.12") },
      message: "bump podinfo by hand",
    });
    await repo.sync();
    const h = await svc.history({ app: "podinfo", env: "prod" });
    expect(h.map((x) => [x.action, x.images, x.by, x.fromTrailers])).toEqual([
      ["commit", [{ container: "chart-image", tag: "0.4.12" }], "Other Writer", false],
      ["release", [{ container: "chart-image", tag: "0.4.11" }], "alice", true],
      ["commit", [{ container: "chart-image", tag: "0.4.10" }], "Other Writer", false],
    ]);
    expect(h[0]!.sha).toBe(foreign);

    const r = await svc.rollback({ app: "podinfo", env: "prod", actor: bob });
    expect(r.imageChanges).toEqual([
      { container: "chart-image", repository: "ghcr.io/stefanprodan/podinfo", from: "0.4.12", to: "0.4.11" },
    ]);
    expect(r.locked).toBe(true);
    expect(r.subject).toBe("[prod/podinfo] rollback to 0.4.11");
    let inst = findInstance(await svc.model(), "podinfo", "prod")!;
    expect(inst.workload.images[0]!.tag).toBe("0.4.11");
    expect(inst.workload.policies.locked).toMatchObject({ message: "rolled back to 0.4.11 by bob" });

    // By commit SHA prefix: back to what the initial import deployed, re-locking.
    const initial = h[2]!.sha.slice(0, 8);
    const r2 = await svc.rollback({
      app: "podinfo",
      env: "prod",
      to: initial,
      actor: bob,
      message: "bad build",
    });
    expect(r2.imageChanges[0]).toMatchObject({ from: "0.4.11", to: "0.4.10" });
    inst = findInstance(await svc.model(), "podinfo", "prod")!;
    expect(inst.workload.policies.locked).toMatchObject({
      message: "bad build",
      user: "Bob <bob@example.com>",
    });
    // By tag: only a version that ran in this env; anything else is refused with what did run.
    const never = await rejects(
      svc.rollback({ app: "podinfo", env: "prod", to: "0.4.9", actor: bob }),
      "never-ran",
    );
    expect(never.message).toBe(
      "0.4.9 never ran in prod/podinfo (per the history of releases/prod/podinfo.yaml)",
    );
    expect(never.hint).toMatch(/^Versions that ran: 0\.4\.10, 0\.4\.11, 0\.4\.12\. /);
    for (const ref of ["HEAD", "main"])
      await rejects(svc.rollback({ app: "podinfo", env: "prod", to: ref, actor: bob }), "never-ran");
    const r3 = await svc.rollback({ app: "podinfo", env: "prod", to: "0.4.12", actor: bob });
    expect(r3.imageChanges[0]).toMatchObject({ from: "0.4.10", to: "0.4.12" });
    const [c] = await repo.log({ limit: 1 });
    expect(readTrailers(c!.trailers)).toMatchObject({ action: "rollback", from: "0.4.10", to: "0.4.12" });
    await repo.close();
  });

  it("re-applies the edit on the new head after another writer's push", async () => {
    const { repo, svc } = await open("race.git");
    let raced = false;
    const off = server.onRequest(async (r) => {
      if (r.isPush && !raced) {
        raced = true;
        await server.commitDirect("race.git", {
          files: {
            "releases/dev/podinfo.yaml": (await repo.read("releases/dev/podinfo.yaml"))!.replace(
              "replicaCount: 1",
              "replicaCount: 2",
            ),
          },
          message: "scale dev",
        });
      }
    });
    try {
      const r = await svc.release({ app: "podinfo", env: "dev", tag: "dev-abc123", actor: alice });
      expect(r.commit.retries).toBeGreaterThanOrEqual(1);
      await repo.sync();
      const text = (await repo.read("releases/dev/podinfo.yaml"))!;
      expect(text).toContain("replicaCount: 2");
      expect(text).toContain("tag: dev-abc123");
    } finally {
      off();
      await repo.close();
    }
  });

  it("refuses on the retry when the other writer locked the target meanwhile", async () => {
    const { repo, svc } = await open("race-lock.git");
    let raced = false;
    const off = server.onRequest(async (r) => {
      if (r.isPush && !raced) {
        raced = true;
        const text = (await repo.read("releases/dev/podinfo.yaml"))!;
        await server.commitDirect("race-lock.git", {
          files: {
            "releases/dev/podinfo.yaml": text.replace(
              '    fluxcd.io/automated: "true"\n',
              '    fluxcd.io/automated: "true"\n    fluxcd.io/locked: "true"\n    fluxcd.io/locked_user: Dave\n',
            ),
          },
          message: "lock dev",
        });
      }
    });
    try {
      const e = await rejects(
        svc.release({ app: "podinfo", env: "dev", tag: "dev-abc123", actor: alice }),
        "locked",
      );
      expect(e.message).toContain("Dave");
      await repo.sync();
      expect(await repo.read("releases/dev/podinfo.yaml")).not.toContain("dev-abc123");
    } finally {
      off();
      await repo.close();
    }
  });
});
