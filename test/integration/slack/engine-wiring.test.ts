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
import { CommandEngine } from "../../../src/bot/engine.js";
import { defaultExamplesDir, prepareDemoRepo } from "../../../src/bot/platforms/shell/demo.js";
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
    http = new HttpServer({ host: "127.0.0.1", port: 0, logger: nullLogger });
    slack = new SlackPlatform(
      { signingSecret: SECRET, botToken: "xoxb-wiring-token-000000", apiUrl: fake.apiUrl },
      { logger: nullLogger, http },
    );
    const engine = new CommandEngine({
      ops: new ReleaseService({ repo }),
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
});
