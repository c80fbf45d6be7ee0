/**
 * Each provider against a local HTTP server that records and validates the payload: Slack Web
 * API (Block Kit limits, bearer token, threads, in-place updates, 429 + Retry-After), Slack
 * incoming webhook, Teams Workflows URL (Adaptive Card fields) and proactive sender, and the
 * generic webhook (a signature the receiver can verify).
 */
import { afterEach, describe, expect, it } from "vitest";
import { notificationsSchema } from "../../../src/config/notifications.js";
import { StalledError, TransientError } from "../../../src/core/errors.js";
import { Redactor } from "../../../src/core/redact.js";
import type {
  TeamsCardActivity,
  TeamsConversationSender,
} from "../../../src/notifications/providers/teams.js";
import { SIGNATURE_HEADER, verifyWebhookSignature } from "../../../src/notifications/providers/webhook.js";
import { NotificationRouter } from "../../../src/notifications/router.js";
import * as ev from "../../golden/events.js";
import { RecordingLogger } from "../../helpers/recording-logger.js";
import { adaptiveCardProblems, Recorder, slackApi, slackProblems } from "./recorder.js";

const recorders: Recorder[] = [];
afterEach(async () => {
  await Promise.all(recorders.splice(0).map((r) => r.stop()));
});

async function recorder(...args: ConstructorParameters<typeof Recorder>): Promise<Recorder> {
  const r = await new Recorder(...args).start();
  recorders.push(r);
  return r;
}

function router(
  notifications: unknown,
  extra: Partial<Parameters<typeof NotificationRouter.fromConfig>[1]> = {},
) {
  const cfg = {
    notifications: notificationsSchema.parse(notifications),
    repo: { url: "https://github.com/org/config" },
  } as Parameters<typeof NotificationRouter.fromConfig>[0];
  const logger = new RecordingLogger();
  const r = NotificationRouter.fromConfig(cfg, { redactor: new Redactor(), logger, backoffMs: 20, ...extra });
  return { r, logger };
}

describe("Slack Web API provider", () => {
  it("posts the release root, updates it in place and threads details, within Block Kit limits", async () => {
    const slack = await recorder(slackApi());
    const { r } = router({
      envOrder: ["dev", "stg", "prod"],
      destinations: [
        {
          name: "ops",
          type: "slack",
          channel: "C123",
          token: "xoxb-test-token-1234",
          apiUrl: slack.url,
          rateLimit: { perSecond: 100 },
        },
      ],
    });
    await r.post(ev.autoRelease);
    await r.post(ev.autoSync);
    await r.post(ev.promote);
    await r.post(ev.promoteHelmFailed);

    const calls = slack.requests.map((q, i) => [
      q.path,
      slack.json(i)["thread_ts"] ?? slack.json(i)["ts"] ?? null,
    ]);
    expect(calls).toEqual([
      ["/chat.postMessage", null], // auto-release root
      ["/chat.update", "1001.000100"], // its sync: same message
      ["/chat.postMessage", null], // promote root
      ["/chat.update", "1002.000100"], // Helm failure on the promote message
      ["/chat.postMessage", "1002.000100"], // the Helm error as a thread reply
    ]);
    for (const [i, q] of slack.requests.entries()) {
      expect(q.headers["authorization"]).toBe("Bearer xoxb-test-token-1234");
      expect(q.headers["content-type"]).toContain("application/json");
      expect(slackProblems(slack.json(i))).toEqual([]);
      expect(slack.json(i)["channel"]).toBe("C123");
    }
    const update = slack.json(3) as {
      attachments: { color: string; blocks: { type: string; elements?: { value: string }[] }[] }[];
    };
    expect(update.attachments[0]!.color).toBe("#a30200");
    const buttons = update.attachments[0]!.blocks.find((b) => b.type === "actions")?.elements?.map((e) =>
      JSON.parse(e.value),
    );
    expect(buttons).toContainEqual({ command: "rollback podinfo prod" });
  });

  it("respects ~1 message/s per channel and honours Retry-After on a 429", async () => {
    let first = true;
    const api = slackApi();
    const slack = await recorder((req, n) => {
      if (first) {
        first = false;
        return { status: 429, headers: { "retry-after": "1" }, body: { ok: false, error: "ratelimited" } };
      }
      return api(req, n);
    });
    const { r } = router({
      destinations: [
        { name: "ops", type: "slack", channel: "C1", token: "xoxb-abc-12345678", apiUrl: slack.url },
      ],
    });
    const t0 = Date.now();
    r.emit(ev.manualSync);
    r.emit(ev.promote);
    await r.idle();
    const at = slack.requests.map((q) => q.at - t0);
    expect(slack.requests.map((q) => q.path)).toEqual([
      "/chat.postMessage",
      "/chat.postMessage",
      "/chat.postMessage",
    ]);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(950); // waited for Retry-After: 1
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(1050); // then kept to the channel limit
    expect(r.metrics().total).toMatchObject({ rateLimited: 1, sent: 2, undeliverable: 0 });
  });

  it("gives up on a Slack error retrying cannot fix, logging it once", async () => {
    const slack = await recorder(() => ({ body: { ok: false, error: "channel_not_found" } }));
    const { r, logger } = router({
      destinations: [
        { name: "ops", type: "slack", channel: "C404", token: "xoxb-abc-12345678", apiUrl: slack.url },
      ],
    });
    await r.post(ev.manualSync);
    expect(slack.requests).toHaveLength(1);
    expect(r.metrics().total.undeliverable).toBe(1);
    expect(logger.lines.filter((l) => l.includes("channel_not_found"))).toHaveLength(1);
  });

  it("retries a 5xx and then succeeds", async () => {
    const api = slackApi();
    const slack = await recorder((req, n) => (n <= 2 ? { status: 503, body: "upstream down" } : api(req, n)));
    const { r } = router({
      destinations: [
        { name: "ops", type: "slack", channel: "C1", token: "xoxb-abc-12345678", apiUrl: slack.url },
      ],
    });
    await r.post(ev.manualSync);
    expect(slack.requests).toHaveLength(3);
    expect(r.metrics().total).toMatchObject({ retries: 2, sent: 1 });
  });

  it("posts to an incoming webhook: the release and the sync that applies it as one message", async () => {
    const hook = await recorder(() => ({ body: "ok" }));
    const { r } = router({
      destinations: [
        {
          name: "hook",
          type: "slack",
          webhookUrl: `${hook.url}/services/T/B/X`,
          format: "fluxcloud",
          rateLimit: { perSecond: 100 },
        },
      ],
    });
    r.emit(ev.autoRelease);
    // The commit is held for its sync (a webhook cannot edit a message later).
    await new Promise((res) => setTimeout(res, 300));
    expect(hook.requests).toHaveLength(0);
    r.emit(ev.autoSync);
    await r.idle();
    expect(hook.requests.map((q) => q.path)).toEqual(["/services/T/B/X"]);
    expect(hook.requests[0]!.headers["authorization"]).toBeUndefined();
    expect(slackProblems(hook.json(0))).toEqual([]);
    expect(hook.requests[0]!.body).toContain(
      "Event: Automated release of ghcr.io/stefanprodan/podinfo:dev-def5678",
    );
    expect(hook.requests[0]!.body).toContain("dev:helmrelease/podinfo-dev"); // resources from the sync
    // A later change (the Helm result) is a new message: webhooks cannot edit.
    await r.post(ev.autoHelm);
    expect(hook.requests).toHaveLength(2);
  });
});

describe("Teams providers", () => {
  it("posts an Adaptive Card 1.4 to a Workflows URL", async () => {
    const teams = await recorder(() => ({ status: 202, body: "" }));
    const { r } = router(
      {
        destinations: [
          {
            name: "t",
            type: "teams",
            url: `${teams.url}/workflows/abc?sig=xyz`,
            rateLimit: { perSecond: 100 },
          },
        ],
      },
      { settleMs: 50 },
    );
    await r.post(ev.promote); // posted alone once the settle time is over: no sync came
    await r.post(ev.promoteHelmFailed);
    expect(teams.requests.length).toBe(3); // root, root again (no update on webhooks), Helm error
    for (const [i] of teams.requests.entries()) {
      const body = teams.json(i) as unknown as TeamsCardActivity;
      expect(body.type).toBe("message");
      expect(body.attachments).toHaveLength(1);
      expect(body.attachments[0]!.contentType).toBe("application/vnd.microsoft.card.adaptive");
      expect(
        adaptiveCardProblems(body.attachments[0]!.content as unknown as Record<string, unknown>),
      ).toEqual([]);
    }
    const card = (teams.json(1) as unknown as TeamsCardActivity).attachments[0]!.content;
    expect(card.body[0]).toMatchObject({ type: "Container", style: "attention" });
    expect(JSON.stringify(card)).toContain('"data":{"gitops":{"command":"rollback podinfo prod"}}');
  });

  it("sends proactively through the bot, updates the card in place and replies in its thread", async () => {
    const calls: string[] = [];
    let n = 0;
    const sender: TeamsConversationSender = {
      async send(conv, activity, opts) {
        expect(
          adaptiveCardProblems(activity.attachments[0]!.content as unknown as Record<string, unknown>),
        ).toEqual([]);
        calls.push(`send ${conv} ${opts?.replyToId ?? "-"}`);
        return { id: `act-${++n}` };
      },
      async update(conv, id) {
        calls.push(`update ${conv} ${id}`);
      },
    };
    const { r } = router(
      { destinations: [{ name: "t", type: "teams", conversation: "19:release@thread.tacv2" }] },
      { teamsSender: sender },
    );
    await r.post(ev.promote);
    await r.post(ev.promoteHelmFailed);
    expect(calls).toEqual([
      "send 19:release@thread.tacv2 -",
      "update 19:release@thread.tacv2 act-1",
      "send 19:release@thread.tacv2 act-1",
    ]);
  });

  it("waits and retries when the Bot Connector answers 429", async () => {
    let n = 0;
    const sender: TeamsConversationSender = {
      async send() {
        n++;
        if (n === 1)
          throw Object.assign(new Error("Too Many Requests"), { statusCode: 429, retryAfterMs: 200 });
        return { id: "a" };
      },
      async update() {},
    };
    const { r } = router(
      { destinations: [{ name: "t", type: "teams", conversation: "c" }] },
      { teamsSender: sender },
    );
    await r.post(ev.promote);
    expect(n).toBe(2);
    expect(r.metrics().total).toMatchObject({ rateLimited: 1, sent: 1 });
  });
});

describe("Teams sender errors as the Teams platform raises them", () => {
  it("does not retry a conversation the bot has never seen, and retries a wrapped 429", async () => {
    let stalledCalls = 0;
    const stalled: TeamsConversationSender = {
      async send() {
        stalledCalls++;
        throw new StalledError("teams: no conversation reference for 19:x; add the bot to that team");
      },
      async update() {},
    };
    const a = router(
      { destinations: [{ name: "t", type: "teams", conversation: "19:x" }] },
      { teamsSender: stalled },
    );
    await a.r.post(ev.promote);
    expect(stalledCalls).toBe(1);
    expect(a.r.metrics().total.undeliverable).toBe(1);
    expect(a.logger.lines.join("\n")).toContain("add the bot to that team");

    let n = 0;
    const wrapped: TeamsConversationSender = {
      async send() {
        if (++n === 1) throw new TransientError("teams send failed (429)", { cause: { statusCode: 429 } });
        return { id: "1" };
      },
      async update() {},
    };
    const b = router(
      { destinations: [{ name: "t", type: "teams", conversation: "19:x" }] },
      { teamsSender: wrapped },
    );
    await b.r.post(ev.promote);
    expect(b.r.metrics().total).toMatchObject({ rateLimited: 1, sent: 1 });
  });
});

describe("generic webhook provider", () => {
  it("signs the JSON body with HMAC-SHA256 so the receiver can verify it", async () => {
    const hook = await recorder(() => ({ status: 204, body: "" }));
    const secret = "webhook-signing-secret-42";
    const { r } = router({ destinations: [{ name: "w", type: "webhook", url: `${hook.url}/hook`, secret }] });
    await r.post(ev.syncWithErrors);
    const q = hook.requests[0]!;
    const sig = q.headers[SIGNATURE_HEADER] as string;
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(secret, q.body, sig)).toBe(true);
    expect(verifyWebhookSignature(secret, q.body.replace("test", "tesT"), sig)).toBe(false);
    expect(verifyWebhookSignature("other-secret-000", q.body, sig)).toBe(false);
    const body = JSON.parse(q.body);
    expect(body).toMatchObject({ key: `release:${ev.SHA_MANUAL}`, severity: "error" });
    expect(body.events.map((e: { id: string }) => e.id)).toEqual(["ev-sync-err"]);
    expect(q.headers["x-gitops-event"]).toBe("sync");
    // The send time is inside the signed body, so a replayed old delivery is recognisable.
    expect(Math.abs(Date.parse(body.sentAt) - Date.now())).toBeLessThan(10_000);
  });

  it("sends no signature header without a secret", async () => {
    const hook = await recorder(() => ({ status: 200, body: "" }));
    const { r } = router({ destinations: [{ name: "w", type: "webhook", url: hook.url }] });
    await r.post(ev.manualSync);
    expect(hook.requests[0]!.headers[SIGNATURE_HEADER]).toBeUndefined();
  });
});

describe("isolation", () => {
  it("delivers to a working destination while another is down", async () => {
    const slack = await recorder(slackApi());
    const { r } = router({
      destinations: [
        { name: "down", type: "webhook", url: "http://127.0.0.1:9/unreachable" },
        {
          name: "ops",
          type: "slack",
          channel: "C1",
          token: "xoxb-abc-12345678",
          apiUrl: slack.url,
          rateLimit: { perSecond: 100 },
        },
      ],
    });
    const t0 = Date.now();
    r.emit(ev.manualSync);
    await new Promise((res) => setTimeout(res, 300));
    expect(slack.requests).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(2000);
    await r.idle();
    expect(r.metrics().destinations["down"]).toMatchObject({ undeliverable: 1, sent: 0 });
  });
});
