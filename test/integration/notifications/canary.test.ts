/**
 * Canary: token-like values are planted in every secret source (bot token, webhook URLs and
 * signing secret, repo credentials, registry password, Secret data, tokens inside git / registry /
 * API server error text), and every error path is forced (5xx, 4xx, 429, Slack `ok:false`,
 * network error, a throwing Teams sender). No planted value may appear in any payload a server
 * received nor in any log line.
 */
import { afterEach, expect, it } from "vitest";
import { notificationsSchema } from "../../../src/config/notifications.js";
import type { GitopsEvent } from "../../../src/core/events.js";
import { Redactor } from "../../../src/core/redact.js";
import type { TeamsConversationSender } from "../../../src/notifications/providers/teams.js";
import { NotificationRouter } from "../../../src/notifications/router.js";
import * as ev from "../../golden/events.js";
import { RecordingLogger } from "../../helpers/recording-logger.js";
import { Recorder } from "./recorder.js";

const C = {
  slackToken: "xoxb-111111111111-CANARYslacktoken0001",
  slackHook: "CANARYhookpath0002",
  teamsSig: "CANARYteamssig0003",
  webhookSecret: "CANARY-webhook-secret-0004",
  repoToken: "CANARYrepotoken0005",
  registryPassword: "CANARYregistrypw0006",
  secretData: "CANARYsecretdata0007",
  githubToken: "ghp_CANARYgithubtoken0008abcdefghijkl",
  bearer: "CANARYbearer0009xyz",
  gitlab: "glpat-CANARYgitlab0010abcd",
  queryToken: "CANARYquerytoken0011",
};

const recorders: Recorder[] = [];
afterEach(async () => {
  await Promise.all(recorders.splice(0).map((r) => r.stop()));
});

/** Servers that fail in every way, echoing back what they received (as some real servers do). */
async function echoingFailures(): Promise<Recorder> {
  const r = await new Recorder((req, n) => {
    const echo = `${req.method} ${req.path} ${req.headers["authorization"] ?? ""} ${req.body}`;
    if (req.path.startsWith("/api/chat")) {
      return n % 2 === 0
        ? { status: 500, body: echo }
        : { body: { ok: false, error: `invalid_auth ${req.headers["authorization"]}` } };
    }
    if (req.path.startsWith("/services")) return { status: 400, body: `no_service ${echo}` };
    if (req.path.startsWith("/workflows"))
      return n % 3 === 0
        ? { status: 429, headers: { "retry-after": "0" }, body: echo }
        : { status: 502, body: echo };
    return { status: 200, body: "" }; // the generic webhook accepts: its payload is checked too
  }).start();
  recorders.push(r);
  return r;
}

const hostileText = [
  `git push https://gitops:${C.repoToken}@github.com/org/config.git rejected`,
  `pull https://robot:${C.registryPassword}@registry.test/v2/podinfo/manifests/1.2.3: 401`,
  `Secret "db" is invalid: data[password]: Invalid value: "${C.secretData}"`,
  `remote: Invalid username or password for ${C.githubToken}`,
  `Authorization: Bearer ${C.bearer}`,
  `token ${C.gitlab} expired`,
  `GET https://registry.test/token?service=x&token=${C.queryToken} failed`,
  `slack said invalid_auth for ${C.slackToken}`,
].join("\n");

function hostileEvents(): GitopsEvent[] {
  return [
    ...ev.allEvents,
    {
      ...ev.syncWithErrors,
      id: "c1",
      correlationId: "canary-sync",
      commits: [{ sha: ev.SHA_MANUAL, subject: `oops committed ${C.githubToken}` }],
      objects: [{ id: "prod:secret/db", file: "secrets/db.yaml", action: "failed", error: hostileText }],
    },
    { ...ev.promoteHelmFailed, id: "c2", error: hostileText },
    { ...ev.reconcilerFailed, id: "c3", message: hostileText },
    {
      ...ev.autoRelease,
      id: "c4",
      correlationId: "canary-auto",
      image: `https://robot:${C.registryPassword}@registry.test/podinfo`,
    },
    { ...ev.promote, id: "c5", correlationId: "canary-cmd", message: `approved, token ${C.githubToken}` },
  ];
}

it("no planted secret reaches any payload or log line, on any path", async () => {
  const server = await echoingFailures();
  const throwingSender: TeamsConversationSender = {
    async send() {
      throw Object.assign(
        new Error(`POST https://smba.trafficmanager.net/x?token=${C.queryToken} failed: Bearer ${C.bearer}`),
        {
          statusCode: 500,
        },
      );
    },
    async update() {},
  };
  const cfg = notificationsSchema.parse({
    format: "rich",
    envOrder: ["dev", "stg", "prod"],
    destinations: [
      {
        name: "api",
        type: "slack",
        channel: "C1",
        token: C.slackToken,
        apiUrl: `${server.url}/api`,
        rateLimit: { perSecond: 1000 },
      },
      {
        name: "hook",
        type: "slack",
        webhookUrl: `${server.url}/services/T/B/${C.slackHook}`,
        format: "fluxcloud",
        rateLimit: { perSecond: 1000 },
      },
      {
        name: "teams-url",
        type: "teams",
        url: `${server.url}/workflows/run?sig=${C.teamsSig}`,
        rateLimit: { perSecond: 1000 },
      },
      { name: "teams-bot", type: "teams", conversation: "19:x@thread", rateLimit: { perSecond: 1000 } },
      {
        name: "receiver",
        type: "webhook",
        url: `${server.url}/receiver`,
        secret: C.webhookSecret,
        rateLimit: { perSecond: 1000 },
      },
      {
        name: "down",
        type: "webhook",
        url: `http://127.0.0.1:9/x?token=${C.queryToken}`,
        rateLimit: { perSecond: 1000 },
      },
    ],
  });
  const logger = new RecordingLogger();
  const router = NotificationRouter.fromConfig(
    {
      notifications: cfg,
      repo: { url: `https://gitops:${C.repoToken}@github.com/org/config.git` },
    } as Parameters<typeof NotificationRouter.fromConfig>[0],
    {
      // What the composition root knows: configured secrets, plus Secret data values the sync
      // reconciler has seen.
      redactor: new Redactor([C.registryPassword, C.secretData, C.repoToken]),
      logger,
      teamsSender: throwingSender,
      backoffMs: 1,
      settleMs: 10,
    },
  );
  for (const e of hostileEvents()) router.emit(e);
  await router.idle();

  const m = router.metrics();
  // Every path was exercised: failures, retries, 429s and successful posts.
  expect(m.destinations["api"]!.undeliverable).toBeGreaterThan(0);
  expect(m.destinations["hook"]!.undeliverable).toBeGreaterThan(0);
  expect(m.destinations["teams-url"]!.rateLimited).toBeGreaterThan(0);
  expect(m.destinations["teams-url"]!.retries).toBeGreaterThan(0);
  expect(m.destinations["teams-bot"]!.undeliverable).toBeGreaterThan(0);
  expect(m.destinations["down"]!.undeliverable).toBeGreaterThan(0);
  expect(m.destinations["receiver"]!.sent).toBeGreaterThan(0);
  expect(logger.lines.length).toBeGreaterThan(5);

  const bodies = server.requests.map((q) => q.body);
  expect(bodies.length).toBeGreaterThan(10);
  // The hostile text did reach the payloads (redacted), so the check below is meaningful.
  expect(bodies.some((b) => b.includes("data[password]: Invalid value"))).toBe(true);
  for (const text of [...bodies, ...logger.lines]) {
    expect(text).not.toContain("CANARY");
  }
});
