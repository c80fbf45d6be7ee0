/**
 * A graceful stop (SIGTERM) of the whole service while a chat command is in flight: the command
 * finishes (its commit lands on the git server) and its reply reaches the user before the config
 * repo and the rest are closed (issue #11: never lose what a user asked for across a stop).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExamplesDir } from "../../src/app/demo.js";
import { type Service, startService } from "../../src/app/serve.js";
import { parseConfig } from "../../src/config/load.js";
import { nullLogger } from "../../src/core/ports.js";
import { type GitServer, startGitServer } from "../harness/git-server.js";
import { FakeSlackApi, postSignedSlack } from "../helpers/fake-slack-api.js";

const run = promisify(execFile);
const SIGNING_SECRET = "5b6e2c1a9f0d4e7c8b3a2f1e0d9c8b7a";
const PASSWORD = randomBytes(8).toString("hex");

describe("gitops-bot serve: graceful stop", () => {
  let dir: string;
  let git: GitServer;
  let bare: string;
  let slack: FakeSlackApi;
  let service: Service | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "service-stop-it-"));
    git = await startGitServer({ username: "bot", password: PASSWORD });
    bare = await git.createBareRepo("config.git", { seedFrom: defaultExamplesDir() });
    slack = await new FakeSlackApi().start();
  });

  afterAll(async () => {
    await service?.stop();
    await slack?.stop();
    await git?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("a command in flight at stop completes: its commit lands, its reply and its notification are sent", async () => {
    const cfg = parseConfig(
      {
        repo: {
          url: git.url("config.git"),
          auth: { username: "bot", password: "${GIT_PASSWORD}" },
          workdir: join(dir, "work"),
        },
        http: { host: "127.0.0.1", port: 0 },
        slack: {
          signingSecret: "${SIGNING}",
          botToken: "xoxb-stop-test",
          apiUrl: slack.apiUrl,
          botId: "B1",
          botUserId: "U1",
        },
        approvals: { storePath: join(dir, "approvals.json") },
        sync: { enabled: false },
        // Image automation would scan the example images on ghcr.io: not what this test is about.
        images: { enabled: false },
        notifications: {
          destinations: [{ name: "deploys", type: "slack", channel: "CDEPLOYS" }],
          routes: [{ to: ["deploys"] }],
        },
      },
      { SIGNING: SIGNING_SECRET, GIT_PASSWORD: PASSWORD },
    );
    service = await startService(cfg, { env: {}, logger: nullLogger, chatStopGraceMs: 100 });
    // Hold the command's push on the git server, so the stop arrives while it is in flight, and
    // for longer than the platform's own drain (shortened to 100 ms here; 10 s by default).
    let pushing: (() => void) | undefined;
    const pushStarted = new Promise<void>((r) => {
      pushing = r;
    });
    git.onRequest(async (req) => {
      if (!req.isPush) return;
      pushing?.();
      await new Promise((r) => setTimeout(r, 1_500));
    });
    const res = await postSignedSlack(
      `${service.url}/slack/events`,
      {
        form: {
          command: "/gitops",
          text: "lock frontend dev release freeze",
          user_id: "UALICE",
          user_name: "alice",
          channel_id: "CRELEASE",
          team_id: "T1",
          trigger_id: "trig-stop-1",
          response_url: slack.responseUrl("stop-1"),
        },
      },
      { signingSecret: SIGNING_SECRET },
    );
    expect(res.status).toBe(200);
    await pushStarted;

    const stopping = service;
    service = undefined;
    await stopping.stop();

    // The commit is on the server, by the Slack user.
    const { stdout: log } = await run("git", ["--git-dir", bare, "log", "-1", "--format=%an %s", "main"]);
    expect(log.trim()).toMatch(/^alice .*lock/i);
    // And the user was told.
    const reply = slack.calls.find(
      (c) =>
        c.method === "response_url" || (c.method === "chat.postMessage" && c.args["channel"] === "CRELEASE"),
    );
    expect(JSON.stringify(reply?.args ?? {})).toMatch(/frontend/);
    expect(JSON.stringify(reply?.args ?? {})).toMatch(/lock/i);
    // And so was the channel the team watches.
    const note = slack.calls.find((c) => c.method === "chat.postMessage" && c.args["channel"] === "CDEPLOYS");
    expect(JSON.stringify(note?.args ?? {})).toMatch(/frontend/);
  });
});
