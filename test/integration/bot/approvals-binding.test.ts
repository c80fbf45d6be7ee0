import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Authorizer } from "../../../src/bot/authz.js";
import { CommandEngine } from "../../../src/bot/engine.js";
import { messageToPlainText } from "../../../src/core/message.js";
import { ReleaseService } from "../../../src/gitops/release-service.js";
import { type GitServer, startGitServer } from "../../harness/git-server.js";
import { bob, type Setup, type setup, setupOverHttp } from "./setup.js";

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

async function prodTag(): Promise<string> {
  return messageToPlainText((await s.run("status podinfo prod")).message);
}

describe("approvals bind to what was reviewed", () => {
  it("refuses an approval when the command would now make another change, and asks anew", async () => {
    s = await overHttp();
    const req = await s.run("promote podinfo stg prod --force");
    expect(req.outcome).toBe("approval-requested");
    expect(messageToPlainText(req.message)).toContain("stg-9ij63o4c");
    // Meanwhile someone without prod rights releases another build to stg.
    expect((await s.run("release podinfo stg stg-0newer00", { user: carol })).outcome).toBe("ok");
    const before = await s.commitCount();

    const approved = await s.run(`approve ${req.approvalId}`, { user: bob });
    const text = messageToPlainText(approved.message);
    expect(text).toMatch(/different change than the one reviewed/);
    expect(text).toContain("stg-0newer00");
    expect(await s.commitCount()).toBe(before);
    expect(await prodTag()).not.toContain("stg-");
    // The old request is gone; a new one shows the new change and can be approved.
    expect((await s.run(`approve ${req.approvalId}`, { user: bob })).error?.code).toBe("no-approval");
    const fresh = /approve ([a-z2-9]{8})/.exec(text)?.[1];
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(req.approvalId);
    expect((await s.run(`approve ${fresh}`, { user: bob })).outcome).toBe("ok");
    expect(await prodTag()).toContain("stg-0newer00");
    expect((await s.lastCommit()).message).toMatch(/Approved-By: .*bob/);
  });

  it("an approval whose commit fails stays pending and can be approved again", async () => {
    s = await overHttp();
    const req = await s.run("release podinfo prod 0.4.11");
    const before = await s.commitCount();
    const off = server.onRequest((r) => {
      if (r.isPush) throw new Error("disk full");
    });
    const failed = await s.run(`approve ${req.approvalId}`, { user: bob });
    off();
    expect(failed.outcome).toBe("internal-error");
    expect(failed.message.fallbackText).toMatch(/still pending: approve it again/);
    expect(await s.commitCount()).toBe(before);
    expect(messageToPlainText((await s.run("pending", { user: bob })).message)).toContain(
      req.approvalId as string,
    );
    expect((await s.run(`approve ${req.approvalId}`, { user: bob })).outcome).toBe("ok");
    expect(await s.commitCount()).toBe(before + 1);
    expect(await prodTag()).toContain("0.4.11");
  });

  it("a request made under `required: 1` needs two approvals once the config says 2", async () => {
    s = await overHttp({ approvals: { required: 1 } });
    const req = await s.run("lock podinfo prod freeze");
    const before = await s.commitCount();
    // The bot restarts with the stricter configuration, on the same repo and store.
    const stricter = new CommandEngine({
      ops: new ReleaseService({ repo: s.repo }),
      authorizer: new Authorizer(undefined, { required: 2 }),
      approvals: s.store,
      clock: s.clock,
    });
    const run = (user: typeof bob, id: string) =>
      stricter.execute({
        id,
        platform: "slack",
        text: `approve ${req.approvalId}`,
        user,
        channel: "C1",
        receivedAt: s.clock.now(),
      });
    const first = await run(bob, "strict-1");
    expect(first.outcome).toBe("ok");
    expect(await s.commitCount()).toBe(before);
    expect((await run(carol, "strict-2")).outcome).toBe("ok");
    expect(await s.commitCount()).toBe(before + 1);
    expect((await s.lastCommit()).message.match(/Approved-By:/g)).toHaveLength(2);
  });
});
