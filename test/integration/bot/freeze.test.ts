/**
 * `freeze` / `unfreeze` through the engine (parse -> authorize -> approve -> run -> reply) against a
 * real config repo (GitConfigRepo over a local clone of the examples) (issue #12).
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { messageToPlainText } from "../../../src/core/message.js";
import { FREEZES_FILE, parseFreezes } from "../../../src/gitops/freezes.js";
import { type GitServer, startGitServer } from "../../harness/git-server.js";
import { bob, type Setup, setup, setupOverHttp } from "./setup.js";

const exec = promisify(execFile);
const carol = { id: "slack:UCAROL", name: "carol", email: "carol@example.com" };
let s: Setup;
afterEach(async () => {
  await s.close();
});

const text = (r: { message: Parameters<typeof messageToPlainText>[0] }) => messageToPlainText(r.message);

/** Commits a file in the origin repo as a person would (a hand edit). */
async function commitByHand(repoPath: string, file: string, content: string): Promise<void> {
  await mkdir(dirname(join(repoPath, file)), { recursive: true });
  await writeFile(join(repoPath, file), content);
  const git = (...a: string[]) =>
    exec("git", ["-C", repoPath, "-c", "user.name=carol", "-c", "user.email=carol@example.com", ...a]);
  await git("add", "-A");
  await git("commit", "-qm", "hand edit");
}

describe("freeze and unfreeze from chat", () => {
  it("freeze commits as the chat user with the audit trailers; status shows who, why and since", async () => {
    s = await setup();
    const before = await s.commitCount();
    const r = await s.run("freeze stg release weekend, back monday");
    expect(r.outcome).toBe("ok");
    expect(text(r)).toMatch(/Froze automation in stg/);
    expect(text(r)).toContain("release weekend, back monday");
    expect(await s.commitCount()).toBe(before + 1);
    const c = await s.lastCommit();
    expect(c.author).toBe("alice <alice@example.com>");
    expect(c.message).toMatch(/^\[stg\] freeze automation\n/);
    expect(c.message).toContain("release weekend, back monday");
    expect(c.message).toContain("Gitops-Action: freeze");
    expect(c.message).toContain("Gitops-Env: stg");
    expect(c.message).toContain("Requested-By: slack:UALICE (alice)");
    expect(c.message).not.toContain("Gitops-App");
    const st = await s.run("status");
    const table = st.message.blocks.find((b) => b.kind === "table");
    expect(table?.kind === "table" && table.columns).toEqual(["app", "dev", "stg (frozen)", "prod"]);
    expect(text(st)).toContain(
      "stg is frozen by alice <alice@example.com> since 2026-03-01 10:00 UTC (0s ago): release weekend, back monday",
    );
    // Scripts (`gitops-bot cmd --json -- status`) get the freeze as data.
    expect((st.data as { freezes: unknown[] }).freezes).toEqual([
      {
        env: "stg",
        reason: "release weekend, back monday",
        by: "alice <alice@example.com>",
        at: "2026-03-01T10:00:00.000Z",
      },
    ]);
    expect(text(await s.run("status prod"))).not.toContain("frozen");
  });

  it("freezing a frozen env says so and makes no commit; unfreeze lifts it; a second unfreeze says so", async () => {
    s = await setup();
    expect((await s.run("freeze dev")).outcome).toBe("ok");
    const count = await s.commitCount();
    const again = await s.run("freeze dev other reason");
    expect(again.outcome).toBe("user-error");
    expect(again.error?.code).toBe("already-frozen");
    expect(again.error?.message).toMatch(/^dev is already frozen by alice <alice@example.com> since /);
    expect(await s.commitCount()).toBe(count);
    const un = await s.run("unfreeze dev");
    expect(un.outcome).toBe("ok");
    expect(text(un)).toMatch(/Unfroze automation in dev/);
    expect((await s.lastCommit()).message).toContain("Gitops-Action: unfreeze");
    expect(parseFreezes(await s.repo.read(FREEZES_FILE)).freezes).toEqual([]);
    const twice = await s.run("unfreeze dev");
    expect(twice.error?.code).toBe("not-frozen");
    expect(await s.commitCount()).toBe(count + 1);
  });

  it("a redelivered request (same invocation id) freezes once", async () => {
    s = await setup();
    const before = await s.commitCount();
    const [a, b] = await Promise.all([
      s.run("freeze dev", { id: "slack-retry-freeze" }),
      s.run("freeze dev", { id: "slack-retry-freeze" }),
    ]);
    expect([a.outcome, b.outcome].sort()).toEqual(["duplicate", "ok"]);
    expect(await s.commitCount()).toBe(before + 1);
  });

  it("two people freezing the same env at once: one commit, the other is told it is frozen", async () => {
    s = await setup();
    const before = await s.commitCount();
    const [a, b] = await Promise.all([s.run("freeze dev first"), s.run("freeze dev second", { user: bob })]);
    expect([a.outcome, b.outcome].sort()).toEqual(["ok", "user-error"]);
    expect([a, b].find((r) => r.outcome === "user-error")?.error?.code).toBe("already-frozen");
    expect(await s.commitCount()).toBe(before + 1);
    expect(parseFreezes(await s.repo.read(FREEZES_FILE)).freezes).toHaveLength(1);
  });

  it("automating an app in a frozen env says that nothing moves until unfreeze", async () => {
    s = await setup();
    await s.run("deautomate podinfo dev");
    await s.run("freeze dev");
    const r = await s.run("automate podinfo dev");
    expect(r.outcome).toBe("ok");
    expect(text(r)).toContain("dev is frozen: automation starts there after unfreeze dev.");
  });

  it("unfreezing someone else's freeze asks for confirmation first", async () => {
    s = await setup();
    await s.run("freeze dev audit");
    const other = await s.run("unfreeze dev", { user: bob });
    expect(other.outcome).toBe("confirmation-needed");
    expect(text(other)).toContain('dev was frozen by alice <alice@example.com> ("audit"), not by you');
    expect((await s.run("unfreeze dev --yes", { user: bob })).outcome).toBe("ok");
  });

  it("is authorized like the other writes: a user no rule lists is refused and nothing is committed", async () => {
    s = await setup({
      authz: {
        rules: [{ envs: ["stg"], verbs: ["write"], users: ["UALICE"], groups: [], channels: [] }],
      },
    });
    const before = await s.commitCount();
    const r = await s.run("freeze stg", { user: carol });
    expect(r.outcome).toBe("user-error");
    expect(r.error?.message).toBe("you are not allowed to run freeze in stg");
    expect(await s.commitCount()).toBe(before);
    expect((await s.run("freeze stg")).outcome).toBe("ok");
  });

  it("a protected env needs an approval by someone else; the commit carries Approved-By", async () => {
    s = await setup();
    const before = await s.commitCount();
    const req = await s.run("freeze prod change freeze");
    expect(req.outcome).toBe("approval-requested");
    expect(req.message.blocks.some((b) => b.kind === "code" && b.text.includes("+  - env: prod"))).toBe(true);
    expect(await s.commitCount()).toBe(before);
    const ok = await s.run("", { user: bob, button: `approve:${req.approvalId}` });
    expect(ok.outcome).toBe("ok");
    const c = await s.lastCommit();
    expect(c.author).toBe("alice <alice@example.com>");
    expect(c.message).toContain("Gitops-Action: freeze");
    expect(c.message).toMatch(/Approved-By: slack:UBOB \(bob\)/);
    expect(parseFreezes(await s.repo.read(FREEZES_FILE)).freezes.map((f) => f.env)).toEqual(["prod"]);
  });

  it("a malformed freezes file is a clear error naming the file; other envs' commands still work", async () => {
    s = await setup();
    await commitByHand(s.repoPath, FREEZES_FILE, "freezes:\n  - env: dev\n   reason: [oops\n");
    const r = await s.run("freeze stg");
    expect(r.outcome).toBe("user-error");
    expect(r.error?.message).toMatch(/^\.gitops-bot\/freezes\.yaml cannot be read: invalid YAML/);
    expect(r.error?.hint).toContain("Fix .gitops-bot/freezes.yaml in the config repo");
    const st = text(await s.run("status"));
    expect(st).toContain(".gitops-bot/freezes.yaml has 1 mistake(s)");
    expect(st).toContain("Automation is stopped in every env until it is fixed.");
    expect((await s.run("lock podinfo stg")).outcome).toBe("ok");
  });

  it("a broken entry for one env does not block freezing another", async () => {
    s = await setup();
    await commitByHand(s.repoPath, FREEZES_FILE, "freezes:\n  - env: dev\n    at: someday\n");
    expect((await s.run("freeze stg")).outcome).toBe("ok");
    const st = text(await s.run("status"));
    expect(st).toContain("dev is frozen since someday");
    expect(st).toContain("stg is frozen by alice");
    expect(st).toContain('freezes[0] (dev): "at" is not a time');
    expect(st).not.toContain("every env");
  });
});

describe.each(["native", "isomorphic"] as const)("freeze over HTTP (%s git backend)", (backend) => {
  let server: GitServer;
  beforeAll(async () => {
    server = await startGitServer({ username: "bot", password: "s3cret-pw" });
  });
  afterAll(async () => {
    await server.stop();
  });

  it("creates .gitops-bot/freezes.yaml in the remote and removes the entry again", async () => {
    s = await setupOverHttp(server, { backend });
    expect((await s.run("freeze dev nightly tests")).outcome).toBe("ok");
    const frozen = await s.run("status dev");
    expect(text(frozen)).toContain("dev is frozen by alice <alice@example.com>");
    expect((await s.lastCommit()).message).toContain("Gitops-Action: freeze");
    expect((await s.run("unfreeze dev")).outcome).toBe("ok");
    expect(text(await s.run("status dev"))).not.toContain("is frozen");
  });
});
