/**
 * The whole service as `gitops-bot serve` builds it (src/main.ts), without a cluster: a config repo
 * on disk, Slack over real HTTP with signed payloads, the real Bolt code path, notifications to a
 * local fake Slack Web API. Proves the composition root wires chat -> engine -> git -> notifications.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExamplesDir, prepareDemoRepo } from "../../src/app/demo.js";
import { parseConfig } from "../../src/config/load.js";
import { nullLogger } from "../../src/core/ports.js";
import { type Service, startService } from "../../src/main.js";
import { FakeSlackApi, postSignedSlack } from "../helpers/fake-slack-api.js";

const run = promisify(execFile);
const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const BOT_TOKEN = "xoxb-0000000000-service-test-token-canary";

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("gitops-bot serve (composition root)", () => {
  let dir: string;
  let repoPath: string;
  let slack: FakeSlackApi;
  let service: Service;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "service-it-"));
    ({ repo: repoPath } = await prepareDemoRepo(dir, defaultExamplesDir()));
    slack = await new FakeSlackApi().start();
    const cfg = parseConfig(
      {
        clusterName: "it-cluster",
        repo: { url: repoPath, workdir: join(dir, "work") },
        http: { host: "127.0.0.1", port: 0 },
        slack: {
          signingSecret: "${SIGNING}",
          botToken: "${BOT_TOKEN}",
          apiUrl: slack.apiUrl,
          botId: "BBOT",
          botUserId: "UBOT",
        },
        approvals: { storePath: join(dir, "approvals.json") },
        sync: { enabled: false },
        // Image automation would scan the example images on ghcr.io: not what this test is about.
        images: { enabled: false },
        notifications: {
          destinations: [
            { name: "deploys", type: "slack", channel: "CDEPLOYS", apiUrl: `${slack.url}/api` },
            { name: "reports", type: "slack", channel: "CREPORTS", apiUrl: `${slack.url}/api` },
          ],
          routes: [{ to: ["deploys"] }],
          reports: [
            // Every second (6 fields: seconds first), so the test sees the schedule fire.
            { name: "every-second", schedule: "* * * * * *", to: ["reports"] },
            { name: "quiet", schedule: "0 0 1 1 *", to: ["reports"], onlyProblems: true },
          ],
        },
      },
      { SIGNING: SIGNING_SECRET, BOT_TOKEN },
    );
    service = await startService(cfg, { env: {}, logger: nullLogger });
  });

  afterAll(async () => {
    await service?.stop();
    await slack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers health, readiness and metrics on the one HTTP server", async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^# (HELP|TYPE) /m);
  });

  it("turns a signed /gitops promote into a commit by the Slack user and a deploy notification", async () => {
    const before = (await run("git", ["-C", repoPath, "rev-list", "--count", "main"])).stdout.trim();
    const res = await postSignedSlack(
      `${service.url}/slack/events`,
      {
        form: {
          command: "/gitops",
          text: "promote frontend dev stg",
          user_id: "UALICE",
          user_name: "alice",
          channel_id: "CRELEASE",
          team_id: "T1",
          trigger_id: "trig-1",
          response_url: slack.responseUrl("r1"),
        },
      },
      { signingSecret: SIGNING_SECRET },
    );
    expect(res.status).toBe(200);

    // The reply to the user, after the ack.
    const reply = await waitFor("the reply", () =>
      slack.calls.find(
        (c) =>
          c.method === "response_url" ||
          (c.method === "chat.postMessage" && c.args["channel"] !== "CREPORTS"),
      ),
    );
    expect(JSON.stringify(reply.args)).toMatch(/frontend/);

    // One new commit on main, authored as the Slack user, with audit trailers.
    const after = (await run("git", ["-C", repoPath, "rev-list", "--count", "main"])).stdout.trim();
    expect(Number(after)).toBe(Number(before) + 1);
    const { stdout: msg } = await run("git", ["-C", repoPath, "log", "-1", "--format=%an%n%B", "main"]);
    expect(msg).toMatch(/^alice\n/);
    expect(msg).toMatch(/\[stg\/frontend\] promote/);
    expect(msg).toMatch(/^Requested-By: slack:UALICE/m);
    const { stdout: stg } = await run("git", ["-C", repoPath, "show", "main:releases/stg/frontend.yaml"]);
    const { stdout: dev } = await run("git", ["-C", repoPath, "show", "main:releases/dev/frontend.yaml"]);
    const devTag = /frontend:([\w.-]+)/.exec(dev)?.[1];
    expect(devTag).toBeTruthy();
    expect(stg).toContain(devTag!);

    // The deploy notification went to the configured channel, with the bot token, never echoing it.
    const note = await waitFor("the notification", () =>
      slack.calls.find((c) => c.method === "chat.postMessage" && c.args["channel"] === "CDEPLOYS"),
    );
    expect(note.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    const text = JSON.stringify(note.args);
    expect(text).toContain(devTag!);
    expect(text).not.toContain(BOT_TOKEN);
  });

  it("refuses an unsigned request without running anything", async () => {
    const before = slack.calls.length;
    const res = await postSignedSlack(
      `${service.url}/slack/events`,
      {
        form: {
          command: "/gitops",
          text: "lock podinfo dev",
          user_id: "UEVE",
          channel_id: "C1",
          trigger_id: "t2",
        },
      },
      { signingSecret: "not-the-secret-at-all" },
    );
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    // Nothing answered it (the every-second report to CREPORTS is not an answer).
    expect(slack.calls.slice(before).filter((c) => c.args["channel"] !== "CREPORTS")).toEqual([]);
  });

  it("has no git webhook when sync is off", async () => {
    const res = await fetch(`${service.url}/hooks/git`, { method: "POST", body: "{}" });
    expect(res.status).toBe(404);
  });

  it("posts the scheduled sync report on its cron schedule, and a problems-only report only when there are some", async () => {
    const report = await waitFor("a scheduled report", () =>
      slack.calls.find((c) => c.method === "chat.postMessage" && c.args["channel"] === "CREPORTS"),
    );
    const text = JSON.stringify(report.args);
    expect(text).toContain("Sync report: it-cluster");
    expect(text).toMatch(/podinfo/); // the release matrix
    // Components this process does not run say so in one line, with why.
    expect(text).toContain("Image automation is off: images.enabled is false.");
    expect(text).toContain("Helm is off: sync.enabled is false, and Helm releases follow the sync.");
    expect(text).not.toContain(BOT_TOKEN);
    // Nothing is wrong and nothing waits: the problems-only report stays quiet.
    expect(await service.reports?.run("quiet")).toBe("healthy");

    // A prod change waiting for approval is a reason to speak up.
    await postSignedSlack(
      `${service.url}/slack/events`,
      {
        form: {
          command: "/gitops",
          text: "lock podinfo prod audit",
          user_id: "UALICE",
          user_name: "alice",
          channel_id: "CRELEASE",
          team_id: "T1",
          trigger_id: "trigger-report-lock",
          response_url: slack.responseUrl("report-lock"),
        },
      },
      { signingSecret: SIGNING_SECRET },
    );
    await waitFor("the approval request", () =>
      slack.calls.find(
        (c) => c.method === "chat.postMessage" && JSON.stringify(c.args).includes("Approval needed"),
      ),
    );
    const seen = slack.calls.length;
    expect(await service.reports?.run("quiet")).toBe("posted");
    const posted = await waitFor("the problems-only report", () =>
      slack.calls
        .slice(seen)
        .find(
          (c) => c.method === "chat.postMessage" && JSON.stringify(c.args).includes("Pending approvals (1)"),
        ),
    );
    expect(JSON.stringify(posted.args)).toContain("lock podinfo prod audit");
  });
});
