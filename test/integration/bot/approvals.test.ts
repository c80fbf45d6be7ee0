import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { messageToPlainText } from "../../../src/core/message.js";
import { type GitServer, startGitServer } from "../../harness/git-server.js";
import { alice, bob, type Setup, type setup, setupOverHttp } from "./setup.js";

const carol = { id: "slack:UCAROL", name: "carol" };
let server: GitServer;
let s: Setup;

beforeAll(async () => {
  server = await startGitServer({ username: "bot", password: "s3cret-pw" });
});
afterAll(async () => {
  await server.stop();
});
afterEach(async () => {
  await s.close();
});

function overHttp(o: Parameters<typeof setup>[0] = {}): Promise<Setup> {
  return setupOverHttp(server, o);
}

function approvalId(r: { approvalId?: string }): string {
  expect(r.approvalId).toMatch(/^[a-z2-9]{8}$/);
  return r.approvalId as string;
}

describe("approvals", () => {
  it("a prod change waits; another user's approval commits it with Approved-By; self-approval is refused", async () => {
    s = await overHttp();
    const before = await s.commitCount();
    const req = await s.run("promote frontend stg prod --force");
    expect(req.outcome).toBe("approval-requested");
    expect(req.message.visibility).toBe("channel");
    // The request shows the diff and Approve/Reject buttons.
    expect(req.message.blocks.some((b) => b.kind === "code" && b.language === "diff")).toBe(true);
    const id = approvalId(req);
    const actions = req.message.blocks.find((b) => b.kind === "actions");
    expect(actions?.kind === "actions" && actions.actions.map((a) => a.value)).toEqual([
      `approve:${id}`,
      `reject:${id}`,
    ]);
    expect(await s.commitCount()).toBe(before);

    const self = await s.run(`approve ${id}`, { button: `approve:${id}` });
    expect(self.outcome).toBe("user-error");
    expect(self.error?.message).toMatch(/your own request/);
    expect(await s.commitCount()).toBe(before);

    const ok = await s.run("", { user: bob, button: `approve:${id}` });
    expect(ok.outcome).toBe("ok");
    expect(messageToPlainText(ok.message)).toMatch(/Approved by @bob/);
    const c = await s.lastCommit();
    expect(c.author).toBe("alice <alice@example.com>");
    expect(c.message).toMatch(/Approved-By: .*bob/);
    expect(c.message).toMatch(/Requested-By: slack:UALICE/);
    expect(await s.commitCount()).toBe(before + 1);
    expect(s.events.at(-1)).toMatchObject({ kind: "command-commit", env: "prod", approvers: ["bob"] });

    // A second click on the same button (or a late approver) does nothing.
    const again = await s.run("", { user: carol, button: `approve:${id}` });
    expect(again.error?.code).toBe("no-approval");
    expect(await s.commitCount()).toBe(before + 1);
  });

  it("needs the configured number of distinct approvers", async () => {
    s = await overHttp({ approvals: { required: 2 } });
    const before = await s.commitCount();
    const id = approvalId(await s.run("lock podinfo prod freeze"));
    expect((await s.run(`approve ${id}`, { user: bob })).outcome).toBe("ok");
    expect((await s.run(`approve ${id}`, { user: bob })).error?.code).toBe("already-approved");
    expect(await s.commitCount()).toBe(before);
    expect((await s.run(`approve ${id}`, { user: carol })).outcome).toBe("ok");
    const c = await s.lastCommit();
    expect(c.message.match(/Approved-By:/g)).toHaveLength(2);
  });

  it("expires after the TTL", async () => {
    s = await overHttp({ approvals: { ttl: 60_000 } });
    const id = approvalId(await s.run("lock podinfo prod freeze"));
    s.clock.advance(61_000);
    const r = await s.run(`approve ${id}`, { user: bob });
    expect(r.error?.code).toBe("approval-expired");
    expect((await s.run("pending")).message.title?.map((x) => ("text" in x ? x.text : "")).join("")).toMatch(
      /No pending/,
    );
  });

  it("survives a restart (file store)", async () => {
    s = await overHttp();
    const before = await s.commitCount();
    const id = approvalId(await s.run("release podinfo prod 0.4.11"));
    s.restart();
    const pending = await s.run("pending", { user: bob });
    expect(messageToPlainText(pending.message)).toContain(id);
    expect((await s.run(`approve ${id}`, { user: bob })).outcome).toBe("ok");
    expect(await s.commitCount()).toBe(before + 1);
    expect(messageToPlainText((await s.run("status podinfo prod")).message)).toContain("0.4.11");
  });

  it("reject removes the request; the requester can withdraw", async () => {
    s = await overHttp();
    const id = approvalId(await s.run("lock podinfo prod freeze"));
    expect((await s.run("", { user: bob, button: `reject:${id}` })).outcome).toBe("ok");
    expect((await s.run(`approve ${id}`, { user: bob })).error?.code).toBe("no-approval");
    const id2 = approvalId(await s.run("lock podinfo prod freeze"));
    expect((await s.run(`reject ${id2}`)).outcome).toBe("ok");
  });

  it("approvers need the verb's permission; dry runs need no approval", async () => {
    s = await overHttp({
      authz: {
        rules: [{ envs: ["prod"], verbs: ["*"], users: ["UALICE", "UBOB"], groups: [], channels: [] }],
      },
    });
    const denied = await s.run("lock podinfo prod x", { user: carol });
    expect(denied.error?.code).toBe("forbidden");
    const id = approvalId(await s.run("lock podinfo prod x"));
    expect((await s.run(`approve ${id}`, { user: carol })).error?.code).toBe("forbidden");
    const dry = await s.run("lock podinfo prod x --dry-run");
    expect(dry.outcome).toBe("ok");
  });

  it("the command line acts with its own credentials: protected writes need --yes", async () => {
    s = await overHttp();
    const before = await s.commitCount();
    const no = await s.run("lock podinfo prod x", { trusted: true });
    expect(no.error?.code).toBe("needs-yes");
    const yes = await s.run("lock podinfo prod x", { trusted: true, yes: true });
    expect(yes.outcome).toBe("ok");
    expect(await s.commitCount()).toBe(before + 1);
    expect(alice.id).toBe("slack:UALICE");
  });
});
