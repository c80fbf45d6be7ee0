/**
 * SlackPlatform over real loopback HTTP: signed payloads go through our HttpServer, our receiver and
 * the real Bolt app; replies go to a local fake Slack Web API that records them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Invocation, Responder } from "../../../src/bot/platform.js";
import { SlackPlatform } from "../../../src/bot/platforms/slack/platform.js";
import { b, type Message, t } from "../../../src/core/message.js";
import { nullLogger } from "../../../src/core/ports.js";
import { HttpServer } from "../../../src/http/server.js";
import { FakeSlackApi, postSignedSlack } from "../../helpers/fake-slack-api.js";

const SECRET = "test-signing-secret-0123456789";
const TOKEN = "xoxb-test-0000000000-abcdefghijkl";

interface Recorded {
  inv: Invocation;
  responder: Responder;
}

const hello = (text: string, extra: Partial<Message> = {}): Message => ({
  severity: "info",
  title: [b("gitops")],
  blocks: [{ kind: "text", text: [t(text)] }],
  fallbackText: text,
  ...extra,
});

describe("SlackPlatform (HTTP mode)", () => {
  let fake: FakeSlackApi;
  let http: HttpServer;
  let slack: SlackPlatform;
  let url: string;
  let seen: Recorded[];
  let onInv: (r: Recorded) => Promise<void>;

  beforeAll(async () => {
    fake = await new FakeSlackApi().start();
    fake.users.set("U42", { name: "alice", email: "alice@example.com" });
    fake.usergroups = [{ id: "S1", handle: "release-managers", users: ["U42"] }];
    http = new HttpServer({ host: "127.0.0.1", port: 0, logger: nullLogger });
    slack = new SlackPlatform(
      { signingSecret: SECRET, botToken: TOKEN, apiUrl: fake.apiUrl },
      { logger: nullLogger, http, doubleClickWindowMs: 5_000 },
    );
    slack.onInvocation(async (inv, responder) => {
      const r = { inv, responder };
      seen.push(r);
      await onInv(r);
    });
    await slack.start();
    url = `${(await http.start()).url}/slack/events`;
  });

  afterAll(async () => {
    await slack.stop();
    await http.stop();
    await fake.stop();
  });

  beforeEach(() => {
    seen = [];
    fake.calls.length = 0;
    onInv = async () => {};
  });

  const slash = (text: string, triggerId: string, extra: Record<string, string> = {}) => ({
    form: {
      token: "deprecated",
      team_id: "T1",
      channel_id: "C1",
      channel_name: "deploys",
      user_id: "U42",
      user_name: "alice",
      command: "/gitops",
      text,
      api_app_id: "A1",
      response_url: fake.responseUrl(triggerId),
      trigger_id: triggerId,
      ...extra,
    },
  });

  it("acks a slash command at once, then runs the handler and answers through response_url and chat.postMessage", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    onInv = async ({ responder }) => {
      await gate; // the ack must not wait for the work
      await responder.reply(hello("only you", { visibility: "actor" }));
      const ref = await responder.reply(hello("everyone"));
      expect(ref).toMatchObject({ platform: "slack", channel: "C1" });
    };
    const res = await postSignedSlack(url, slash("  promote\u00a0podinfo  stg   prod ", "trig-1"), {
      signingSecret: SECRET,
    });
    expect(res.status).toBe(200);
    expect(res.text).toBe("");
    await waitUntil(() => seen.length === 1);
    release();
    await slack.idle();

    const inv = seen[0]!.inv;
    expect(inv).toMatchObject({
      id: "slack:cmd:trig-1",
      platform: "slack",
      text: "promote podinfo stg prod",
      channel: "C1",
      user: { id: "slack:U42", name: "alice", email: "alice@example.com", groups: ["S1"] },
    });
    expect(inv.button).toBeUndefined();

    const [eph] = fake.callsOf("response_url");
    expect(eph?.responseId).toBe("trig-1");
    expect(eph?.args).toMatchObject({ response_type: "ephemeral", replace_original: false });
    expect(JSON.stringify(eph?.args)).toContain("only you");

    const [post] = fake.callsOf("chat.postMessage");
    expect(post?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(post?.args.channel).toBe("C1");
    expect(post?.args.text).toContain("everyone");
    expect(Array.isArray(post?.args.blocks)).toBe(true);
  });

  it("turns a block_actions click into a button invocation; a double click keeps the id", async () => {
    onInv = async ({ responder }) => {
      await responder.reply(hello("rolled back"));
    };
    const payload = (actionTs: string) => ({
      form: {
        payload: JSON.stringify({
          type: "block_actions",
          team: { id: "T1" },
          user: { id: "U42", username: "alice", team_id: "T1" },
          api_app_id: "A1",
          trigger_id: `trig-btn-${actionTs}`,
          container: {
            type: "message",
            message_ts: "1700000000.000001",
            channel_id: "C1",
            is_ephemeral: false,
          },
          channel: { id: "C1", name: "deploys" },
          message: {
            type: "message",
            ts: "1700000000.000001",
            thread_ts: "1699999999.000009",
            text: "deploy",
          },
          response_url: fake.responseUrl(`btn-${actionTs}`),
          actions: [
            {
              type: "button",
              action_id: "gitops:0",
              block_id: "b1",
              text: { type: "plain_text", text: "Roll back" },
              value: JSON.stringify({ command: "rollback podinfo prod", value: "confirm:abc" }),
              action_ts: actionTs,
            },
          ],
        }),
      },
    });
    expect((await postSignedSlack(url, payload("1700000001.000100"), { signingSecret: SECRET })).status).toBe(
      200,
    );
    expect((await postSignedSlack(url, payload("1700000001.900100"), { signingSecret: SECRET })).status).toBe(
      200,
    );
    await waitUntil(() => seen.length === 2);
    await slack.idle();
    const [first, second] = seen.map((s) => s.inv);
    expect(first).toMatchObject({
      text: "rollback podinfo prod",
      channel: "C1",
      button: {
        value: "confirm:abc",
        messageRef: {
          platform: "slack",
          channel: "C1",
          id: "1700000000.000001",
          threadId: "1699999999.000009",
        },
      },
    });
    expect(first!.id).toBe("slack:btn:1700000000.000001:U42:gitops:0:1700000001.000100");
    expect(second!.id).toBe(first!.id);
    // The reply stays in the button's thread.
    expect(fake.callsOf("chat.postMessage")[0]?.args.thread_ts).toBe("1699999999.000009");
  });

  it("a different button in the same place within the window is its own click", async () => {
    onInv = async ({ responder }) => {
      await responder.reply(hello("done"));
    };
    const payload = (actionTs: string, command: string, value: string) => ({
      form: {
        payload: JSON.stringify({
          type: "block_actions",
          user: { id: "U42", username: "alice" },
          trigger_id: `trig-${actionTs}`,
          container: { type: "message", message_ts: "1700000000.000002", channel_id: "C1" },
          channel: { id: "C1" },
          message: { type: "message", ts: "1700000000.000002", text: "approval" },
          response_url: fake.responseUrl(`b-${actionTs}`),
          actions: [
            {
              type: "button",
              action_id: "gitops:0",
              value: JSON.stringify({ command, value }),
              action_ts: actionTs,
            },
          ],
        }),
      },
    });
    // The approval message was edited after the first decision: position 0 now holds another button.
    await postSignedSlack(url, payload("1700000002.000100", "approve abc", "approve:abc"), {
      signingSecret: SECRET,
    });
    await postSignedSlack(url, payload("1700000002.500100", "reject def", "reject:def"), {
      signingSecret: SECRET,
    });
    await waitUntil(() => seen.length === 2);
    await slack.idle();
    const [first, second] = seen.map((s) => s.inv);
    expect(first?.button?.value).toBe("approve:abc");
    expect(second?.button?.value).toBe("reject:def");
    expect(second?.id).not.toBe(first?.id);
  });

  it("ignores buttons whose value is not ours", async () => {
    const res = await postSignedSlack(
      url,
      {
        form: {
          payload: JSON.stringify({
            type: "block_actions",
            user: { id: "U42" },
            channel: { id: "C1" },
            message: { ts: "1.2" },
            actions: [{ type: "button", action_id: "other", value: "not json", action_ts: "1.3" }],
          }),
        },
      },
      { signingSecret: SECRET },
    );
    expect(res.status).toBe(200);
    await slack.idle();
    expect(seen).toHaveLength(0);
  });

  it("handles app_mention events; a retry carries the same invocation id", async () => {
    onInv = async ({ responder }) => {
      await responder.reply(hello("on it"));
    };
    const envelope = {
      token: "x",
      team_id: "T1",
      api_app_id: "A1",
      type: "event_callback",
      event_id: "Ev123",
      event_time: 1700000000,
      event: {
        type: "app_mention",
        user: "U42",
        text: "<@UBOT> promote podinfo <#C9|stg> &amp; more",
        ts: "1700000000.000500",
        channel: "C1",
        event_ts: "1700000000.000500",
      },
    };
    expect((await postSignedSlack(url, { json: envelope }, { signingSecret: SECRET })).status).toBe(200);
    const retry = await postSignedSlack(
      url,
      { json: envelope },
      {
        signingSecret: SECRET,
        headers: { "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout" },
      },
    );
    expect(retry.status).toBe(200);
    await waitUntil(() => seen.length === 2);
    await slack.idle();
    expect(seen[0]!.inv).toMatchObject({
      id: "slack:evt:Ev123",
      text: "promote podinfo #stg & more",
      channel: "C1",
    });
    expect(seen[1]!.inv.id).toBe(seen[0]!.inv.id);
    // Mentions are answered in the mention's thread.
    expect(fake.callsOf("chat.postMessage")[0]?.args.thread_ts).toBe("1700000000.000500");
  });

  it("answers url_verification with the challenge", async () => {
    const res = await postSignedSlack(
      url,
      { json: { type: "url_verification", challenge: "chal-1", token: "x" } },
      {
        signingSecret: SECRET,
      },
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ challenge: "chal-1" });
  });

  it.each([
    ["a bad signature", { signature: `v0=${"0".repeat(64)}` }],
    ["a signature made with another secret", { signingSecret: "another-secret" }],
    ["a missing signature", { signature: null }],
    ["a missing timestamp", { omitTimestamp: true }],
    ["a 6-minute-old timestamp", { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }],
    ["a timestamp 6 minutes in the future", { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 }],
  ] as const)("rejects %s with 401 and no effect", async (_name, o) => {
    const res = await postSignedSlack(url, slash("promote podinfo stg prod", "trig-bad"), {
      signingSecret: SECRET,
      ...o,
    } as Parameters<typeof postSignedSlack>[2]);
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 100));
    await slack.idle();
    expect(seen).toHaveLength(0);
    expect(fake.calls).toHaveLength(0);
  });

  it("rejects a body that was changed after signing", async () => {
    const { createHmac } = await import("node:crypto");
    const ts = String(Math.floor(Date.now() / 1000));
    const signed = new URLSearchParams(slash("status", "trig-x").form).toString();
    const sig = `v0=${createHmac("sha256", SECRET).update(`v0:${ts}:${signed}`).digest("hex")}`;
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": sig,
      },
      body: signed.replace("status", "rollback"),
    });
    expect(res.status).toBe(401);
    await slack.idle();
    expect(seen).toHaveLength(0);
  });

  it("rejects a slash command without user_id or trigger_id (Slack always sends both)", async () => {
    for (const missing of ["user_id", "trigger_id"]) {
      const { form } = slash("promote podinfo stg prod", `trig-no-${missing}`);
      delete (form as Record<string, string>)[missing];
      const res = await postSignedSlack(url, { form }, { signingSecret: SECRET });
      expect(res.status).toBe(200);
      expect(res.text).toContain("malformed");
    }
    await slack.idle();
    expect(seen).toHaveLength(0);
  });

  it("falls back to an in-channel response_url post where the bot is not a member", async () => {
    fake.fail("chat.postMessage", { error: "not_in_channel" });
    onInv = async ({ responder }) => {
      expect(await responder.reply(hello("fallback"))).toBeUndefined();
    };
    await postSignedSlack(url, slash("status", "trig-dm", { channel_id: "D1" }), { signingSecret: SECRET });
    await waitUntil(() => seen.length === 1);
    await slack.idle();
    const r = fake.callsOf("response_url");
    expect(r).toHaveLength(1);
    expect(r[0]?.args.response_type).toBe("in_channel");
  });

  it("retries a reply the Slack API answered 500 to, so the user learns the command went through", async () => {
    fake.fail("chat.postMessage", { status: 500 });
    let ref: unknown;
    onInv = async ({ responder }) => {
      ref = await responder.reply(hello("promoted"));
    };
    await postSignedSlack(url, slash("promote x y z", "trig-500"), { signingSecret: SECRET });
    await waitUntil(() => seen.length === 1);
    await slack.idle();
    expect(fake.callsOf("chat.postMessage")).toHaveLength(2);
    expect(ref).toMatchObject({ platform: "slack", channel: "C1" });
  });

  it("falls back to response_url when the Slack API keeps answering 500", async () => {
    fake.fail("chat.postMessage", { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    onInv = async ({ responder }) => {
      await responder.reply(hello("promoted"));
    };
    await postSignedSlack(url, slash("promote x y z", "trig-500b"), { signingSecret: SECRET });
    await waitUntil(() => seen.length === 1);
    await slack.idle();
    const r = fake.callsOf("response_url");
    expect(r).toHaveLength(1);
    expect(r[0]?.args.response_type).toBe("in_channel");
    expect(JSON.stringify(r[0]?.args)).toContain("promoted");
  }, 15_000);

  it("edits a reply with the same updateKey within one invocation and threads under threadKey", async () => {
    onInv = async ({ responder }) => {
      const first = await responder.reply(hello("promoting…", { updateKey: "k" }));
      const again = await responder.reply(hello("promoted", { updateKey: "k" }));
      expect(again).toEqual(first);
      await responder.reply(hello("details", { threadKey: "k" }));
    };
    await postSignedSlack(url, slash("promote podinfo stg prod", "trig-upd"), { signingSecret: SECRET });
    await waitUntil(() => seen.length === 1);
    await slack.idle();
    const posts = fake.callsOf("chat.postMessage");
    const updates = fake.callsOf("chat.update");
    expect(posts).toHaveLength(2);
    expect(updates).toHaveLength(1);
    expect(posts[0]?.args.thread_ts).toBeUndefined();
    expect(typeof updates[0]?.args.ts).toBe("string");
    expect(posts[1]?.args.thread_ts).toBe(updates[0]?.args.ts);
  });

  it("lets a later invocation edit a keyed message (an approval edits the approval request)", async () => {
    onInv = async ({ inv, responder }) => {
      await responder.reply(hello(inv.text, { updateKey: "approval:a1" }));
    };
    await postSignedSlack(url, slash("request", "trig-req"), { signingSecret: SECRET });
    await waitUntil(() => seen.length === 1);
    await slack.idle();
    await postSignedSlack(url, slash("approve a1", "trig-appr"), { signingSecret: SECRET });
    await waitUntil(() => seen.length === 2);
    await slack.idle();
    // Approved from a DM: the request in C1 is edited and the approver gets an answer in the DM.
    await postSignedSlack(url, slash("approve a1 again", "trig-appr2", { channel_id: "D9" }), {
      signingSecret: SECRET,
    });
    await waitUntil(() => seen.length === 3);
    await slack.idle();
    const posts = fake.callsOf("chat.postMessage");
    const updates = fake.callsOf("chat.update");
    expect(posts.map((p) => p.args.channel)).toEqual(["C1", "D9"]);
    expect(updates.map((u) => [u.args.channel, JSON.stringify(u.args).includes("approve a1")])).toEqual([
      ["C1", true],
      ["C1", true],
    ]);
  });

  it("send and update go through chat.postMessage and chat.update", async () => {
    const ref = await slack.send("C7", hello("deployed"), { threadId: "1.5" });
    expect(ref).toMatchObject({ platform: "slack", channel: "C7", threadId: "1.5" });
    await slack.update(ref, hello("deployed (edited)", { severity: "success" }));
    const [post] = fake.callsOf("chat.postMessage");
    const [upd] = fake.callsOf("chat.update");
    expect(post?.args).toMatchObject({ channel: "C7", thread_ts: "1.5" });
    expect(upd?.args).toMatchObject({ channel: "C7", ts: ref.id });
    expect(JSON.stringify(upd?.args)).toContain("deployed (edited)");
  });

  it("maps Slack API errors to StalledError and never logs the token", async () => {
    const lines: string[] = [];
    const { createLogger } = await import("../../../src/logging.js");
    const logger = createLogger({
      destination: { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream,
      level: "debug",
    });
    const http2 = new HttpServer({ host: "127.0.0.1", port: 0, logger });
    const p = new SlackPlatform(
      { signingSecret: SECRET, botToken: TOKEN, apiUrl: fake.apiUrl },
      { logger, http: http2 },
    );
    fake.fail("chat.postMessage", { error: "channel_not_found" });
    await expect(p.send("CX", hello("x"))).rejects.toMatchObject({
      name: "StalledError",
      message: /channel_not_found/,
    });
    expect(lines.join("")).toContain("channel_not_found");
    expect(lines.join("")).not.toContain(TOKEN);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
