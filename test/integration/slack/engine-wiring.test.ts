/**
 * Final wiring: SlackPlatform in front of the real CommandEngine on a real local config repo (the
 * examples). Signed requests in, replies out to the fake Slack API, commits in git.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExamplesDir, prepareDemoRepo } from "../../../src/app/demo.js";
import { Authorizer } from "../../../src/bot/authz.js";
import { CommandEngine } from "../../../src/bot/engine.js";
import { SlackPlatform } from "../../../src/bot/platforms/slack/platform.js";
import { repoSchema } from "../../../src/config/schema.js";
import { nullLogger } from "../../../src/core/ports.js";
import { GitConfigRepo } from "../../../src/gitops/git-config-repo.js";
import { ReleaseService } from "../../../src/gitops/release-service.js";
import { HttpServer } from "../../../src/http/server.js";
import { FakeSlackApi, postSignedSlack } from "../../helpers/fake-slack-api.js";

const exec = promisify(execFile);
const SECRET = "wiring-signing-secret";

describe("Slack -> CommandEngine wiring", () => {
  let dir: string;
  let repoPath: string;
  let repo: GitConfigRepo;
  let fake: FakeSlackApi;
  let http: HttpServer;
  let slack: SlackPlatform;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "slack-wiring-"));
    repoPath = (await prepareDemoRepo(dir, defaultExamplesDir())).repo;
    repo = await GitConfigRepo.open(
      repoSchema.parse({ url: repoPath, branch: "main", workdir: join(dir, "work") }),
      {
        logger: nullLogger,
      },
    );
    fake = await new FakeSlackApi().start();
    fake.users.set("U42", { name: "alice", email: "alice@example.com" });
    fake.users.set("U77", { name: "bob", email: "bob@example.com" });
    http = new HttpServer({ host: "127.0.0.1", port: 0, logger: nullLogger });
    slack = new SlackPlatform(
      { signingSecret: SECRET, botToken: "xoxb-wiring-token-000000", apiUrl: fake.apiUrl },
      { logger: nullLogger, http },
    );
    const engine = new CommandEngine({
      ops: new ReleaseService({ repo }),
      // prod needs one approval by someone other than the requester.
      authorizer: new Authorizer({ protectedEnvs: ["prod"] }, { required: 1 }),
      cluster: "test",
      logger: nullLogger,
    });
    slack.onInvocation(engine.handle);
    await slack.start();
    url = `${(await http.start()).url}/slack/events`;
  });

  afterAll(async () => {
    await slack.stop();
    await http.stop();
    await fake.stop();
    await repo.close();
    await rm(dir, { recursive: true, force: true });
  });

  const slash = (text: string, trigger: string) => ({
    form: {
      team_id: "T1",
      channel_id: "C1",
      user_id: "U42",
      user_name: "alice",
      command: "/gitops",
      text,
      response_url: fake.responseUrl(trigger),
      trigger_id: trigger,
    },
  });

  it("answers /gitops status with what runs where", async () => {
    const res = await postSignedSlack(url, slash("status", "w-1"), { signingSecret: SECRET });
    expect(res.status).toBe(200);
    await fake.waitFor((calls) =>
      calls.some((c) => c.responseId === "w-1" || c.method === "chat.postMessage"),
    );
    await slack.idle();
    const sent = JSON.stringify(
      fake.calls.filter((c) => c.responseId === "w-1" || c.method === "chat.postMessage"),
    );
    expect(sent).toContain("podinfo");
  });

  it("refuses pasted multi-line text like the other front ends, and commits nothing", async () => {
    const before = (await exec("git", ["-C", repoPath, "rev-list", "--count", "HEAD"])).stdout.trim();
    await postSignedSlack(url, slash("status\npromote frontend dev stg", "w-multi"), {
      signingSecret: SECRET,
    });
    await fake.waitFor((calls) => calls.some((c) => c.responseId === "w-multi"));
    await slack.idle();
    const sent = JSON.stringify(fake.calls.filter((c) => c.responseId === "w-multi"));
    expect(sent).toContain("several lines");
    const after = (await exec("git", ["-C", repoPath, "rev-list", "--count", "HEAD"])).stdout.trim();
    expect(after).toBe(before);
  });

  it("commits a promote as the Slack user, once, even when the mention is retried", async () => {
    const before = (await exec("git", ["-C", repoPath, "rev-list", "--count", "HEAD"])).stdout.trim();
    const envelope = {
      type: "event_callback",
      team_id: "T1",
      api_app_id: "A1",
      event_id: "EvPromote1",
      event_time: 1700000000,
      event: {
        type: "app_mention",
        user: "U42",
        text: "<@UBOT> promote frontend dev stg",
        ts: "1700000000.000900",
        channel: "C1",
      },
    };
    expect((await postSignedSlack(url, { json: envelope }, { signingSecret: SECRET })).status).toBe(200);
    expect(
      (
        await postSignedSlack(
          url,
          { json: envelope },
          {
            signingSecret: SECRET,
            headers: { "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout" },
          },
        )
      ).status,
    ).toBe(200);
    await fake.waitFor((calls) => calls.filter((c) => c.method === "chat.postMessage").length >= 1, 20_000);
    await slack.idle();
    const after = (await exec("git", ["-C", repoPath, "rev-list", "--count", "HEAD"])).stdout.trim();
    expect(Number(after)).toBe(Number(before) + 1);
    const log = (await exec("git", ["-C", repoPath, "log", "-1", "--format=%an <%ae>%n%B"])).stdout;
    expect(log).toContain("alice <alice@example.com>");
    expect(log).toMatch(/slack:U42/);
  });

  it("runs an approval end to end: the request's Approve button, clicked by someone else, commits and edits the request", async () => {
    const count = async () =>
      Number((await exec("git", ["-C", repoPath, "rev-list", "--count", "HEAD"])).stdout.trim());
    const before = await count();
    fake.calls.length = 0;
    await postSignedSlack(url, slash("lock podinfo prod freeze for the audit", "w-prod"), {
      signingSecret: SECRET,
    });
    const isRequest = (c: { method: string; args: unknown }) =>
      c.method === "chat.postMessage" && JSON.stringify(c.args).includes("Approve");
    await fake.waitFor((calls) => calls.some(isRequest), 20_000);
    await slack.idle();
    const request = fake.calls.find(isRequest)!;
    const requestTs = (request.response as { ts: string }).ts;
    // The button exactly as the renderer made it (blocks at top level or inside the attachment).
    const blocks = [
      ...((request.args.blocks as unknown[] | undefined) ?? []),
      ...((request.args.attachments as { blocks?: unknown[] }[] | undefined) ?? []).flatMap(
        (a) => a.blocks ?? [],
      ),
    ] as { type: string; elements?: { action_id: string; value: string; text: { text: string } }[] }[];
    const approve = blocks
      .filter((b) => b.type === "actions")
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.text.text.includes("Approve"));
    expect(approve).toBeDefined();
    expect(await count()).toBe(before);

    fake.calls.length = 0;
    const click = {
      form: {
        payload: JSON.stringify({
          type: "block_actions",
          user: { id: "U77", username: "bob", team_id: "T1" },
          team: { id: "T1" },
          api_app_id: "A1",
          trigger_id: "w-click",
          channel: { id: "C1" },
          container: { type: "message", message_ts: requestTs, channel_id: "C1" },
          message: { type: "message", ts: requestTs, text: "approval" },
          response_url: fake.responseUrl("w-click"),
          actions: [
            {
              type: "button",
              action_id: approve!.action_id,
              value: approve!.value,
              action_ts: "1700000100.000001",
            },
          ],
        }),
      },
    };
    expect((await postSignedSlack(url, click, { signingSecret: SECRET })).status).toBe(200);
    await fake.waitFor((calls) => calls.some((c) => c.method === "chat.update"), 20_000);
    await slack.idle();
    expect(await count()).toBe(before + 1);
    const log = (await exec("git", ["-C", repoPath, "log", "-1", "--format=%an%n%B"])).stdout;
    expect(log).toContain("alice");
    expect(log).toMatch(/Approved-By:.*bob/i);
    const [update] = fake.callsOf("chat.update");
    expect(update?.args).toMatchObject({ channel: "C1", ts: requestTs });
  });

  it("/gitops freeze commits the freeze as the Slack user with the audit trailers, and status shows it", async () => {
    const before = Number((await exec("git", ["-C", repoPath, "rev-list", "--count", "HEAD"])).stdout.trim());
    fake.calls.length = 0;
    await postSignedSlack(url, slash("freeze stg release weekend", "w-freeze"), { signingSecret: SECRET });
    await fake.waitFor((calls) => JSON.stringify(calls).includes("Froze automation in"), 20_000);
    await slack.idle();
    const after = Number((await exec("git", ["-C", repoPath, "rev-list", "--count", "HEAD"])).stdout.trim());
    expect(after).toBe(before + 1);
    const log = (await exec("git", ["-C", repoPath, "log", "-1", "--format=%an <%ae>%n%B"])).stdout;
    expect(log).toContain("alice <alice@example.com>");
    expect(log).toContain("[stg] freeze automation");
    expect(log).toContain("Gitops-Action: freeze");
    expect(log).toContain("Gitops-Env: stg");
    expect(log).toMatch(/Requested-By: slack:U42 \(alice\)/);
    fake.calls.length = 0;
    await postSignedSlack(url, slash("status stg", "w-frozen"), { signingSecret: SECRET });
    await fake.waitFor((calls) => JSON.stringify(calls).includes("stg is frozen by alice"), 20_000);
    await slack.idle();
    expect(JSON.stringify(fake.calls)).toContain("release weekend");
  });
});
