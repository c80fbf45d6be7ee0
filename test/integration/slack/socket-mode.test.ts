/**
 * SlackPlatform in Socket Mode against the fake Slack API: `apps.connections.open` with the app
 * token, a WebSocket that says hello, envelopes in, acks out, replies through response_url.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Invocation } from "../../../src/bot/platform.js";
import { SlackPlatform } from "../../../src/bot/platforms/slack/platform.js";
import { t } from "../../../src/core/message.js";
import { nullLogger } from "../../../src/core/ports.js";
import { FakeSlackApi } from "../../helpers/fake-slack-api.js";

const APP_TOKEN = "xapp-1-A111-222-socketmodetoken";

async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("SlackPlatform (Socket Mode)", () => {
  let fake: FakeSlackApi;
  let slack: SlackPlatform;
  const seen: Invocation[] = [];

  beforeAll(async () => {
    fake = await new FakeSlackApi().start();
    // No HTTP server: Socket Mode needs none.
    slack = new SlackPlatform(
      { botToken: "xoxb-socket-token-0000", appToken: APP_TOKEN, apiUrl: fake.apiUrl },
      { logger: nullLogger },
    );
    slack.onInvocation(async (inv, responder) => {
      seen.push(inv);
      await responder.reply({
        severity: "info",
        blocks: [{ kind: "text", text: [t("pong")] }],
        fallbackText: "pong",
        visibility: "actor",
      });
    });
    await slack.start();
    await waitUntil(() => fake.socketCount === 1);
  });

  afterAll(async () => {
    await slack.stop();
    await fake.stop();
  });

  it("opens the connection with the app token", () => {
    const open = fake.callsOf("apps.connections.open");
    expect(open.length).toBeGreaterThanOrEqual(1);
    expect(open[0]?.authorization).toBe(`Bearer ${APP_TOKEN}`);
  });

  it("acks a slash command envelope, then runs the handler", async () => {
    fake.socketSend({
      envelope_id: "env-1",
      type: "slash_commands",
      accepts_response_payload: true,
      payload: {
        team_id: "T1",
        channel_id: "C1",
        user_id: "U42",
        user_name: "alice",
        command: "/gitops",
        text: "status",
        response_url: fake.responseUrl("sock-1"),
        trigger_id: "sock-trigger-1",
      },
    });
    await waitUntil(() => fake.socketAcks.some((a) => a.envelope_id === "env-1"));
    await waitUntil(() => seen.length === 1);
    await slack.idle();
    expect(seen[0]).toMatchObject({ id: "slack:cmd:sock-trigger-1", text: "status", channel: "C1" });
    const [reply] = fake.callsOf("response_url");
    expect(reply?.responseId).toBe("sock-1");
    expect(reply?.args.response_type).toBe("ephemeral");
  });

  it("gives a redelivered event the same invocation id", async () => {
    const envelope = (attempt: number) => ({
      envelope_id: `env-ev-${attempt}`,
      type: "events_api",
      accepts_response_payload: false,
      retry_attempt: attempt,
      retry_reason: attempt ? "timeout" : "",
      payload: {
        type: "event_callback",
        team_id: "T1",
        api_app_id: "A1",
        event_id: "EvSock1",
        event: {
          type: "app_mention",
          user: "U42",
          text: "<@UBOT> status",
          ts: "1700000000.1",
          channel: "C1",
        },
      },
    });
    fake.socketSend(envelope(0));
    fake.socketSend(envelope(1));
    await waitUntil(() => seen.length === 3);
    await slack.idle();
    expect(seen[1]?.id).toBe("slack:evt:EvSock1");
    expect(seen[2]?.id).toBe("slack:evt:EvSock1");
  });
});
