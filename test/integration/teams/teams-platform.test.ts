/**
 * TeamsPlatform over real loopback HTTP: activities POSTed to /api/messages go through our
 * HttpServer and botbuilder's CloudAdapter (real JWT validation when an app id is set, against a
 * local OpenID metadata + JWKS server); replies go to a fake Bot Connector that records them.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PasswordServiceClientCredentialFactory, TokenCredentials } from "botframework-connector";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Invocation, Responder } from "../../../src/bot/platform.js";
import {
  FileConversationStore,
  InMemoryConversationStore,
} from "../../../src/bot/platforms/teams/conversation-store.js";
import { TeamsPlatform } from "../../../src/bot/platforms/teams/platform.js";
import { b, type Message, t } from "../../../src/core/message.js";
import { nullLogger } from "../../../src/core/ports.js";
import { HttpServer } from "../../../src/http/server.js";
import { FakeBotConnector, teamsMessage } from "../../helpers/fake-bot-connector.js";

const hello = (text: string, extra: Partial<Message> = {}): Message => ({
  severity: "success",
  title: [b("gitops")],
  blocks: [{ kind: "text", text: [t(text)] }],
  fallbackText: text,
  ...extra,
});

interface Recorded {
  inv: Invocation;
  responder: Responder;
}

async function post(
  url: string,
  activity: unknown,
  auth?: string,
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
    body: JSON.stringify(activity),
  });
  return { status: res.status, text: await res.text() };
}

async function waitUntil(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("TeamsPlatform without authentication (teams: {})", () => {
  let connector: FakeBotConnector;
  let http: HttpServer;
  let teams: TeamsPlatform;
  let url: string;
  let dir: string;
  let store: FileConversationStore;
  let seen: Recorded[];
  let onInv: (r: Recorded) => Promise<void>;

  beforeAll(async () => {
    connector = await new FakeBotConnector().start();
    connector.members.set("29:user-1", {
      name: "Alice Example",
      email: "alice@example.com",
      aadObjectId: "aad-alice",
    });
    dir = await mkdtemp(join(tmpdir(), "teams-store-"));
    store = new FileConversationStore(join(dir, "refs.json"));
    http = new HttpServer({ host: "127.0.0.1", port: 0, logger: nullLogger });
    teams = new TeamsPlatform({}, { logger: nullLogger, http, store });
    teams.onInvocation(async (inv, responder) => {
      const r = { inv, responder };
      seen.push(r);
      await onInv(r);
    });
    await teams.start();
    url = `${(await http.start()).url}/api/messages`;
  });

  afterAll(async () => {
    await teams.stop();
    await http.stop();
    await connector.stop();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    seen = [];
    connector.calls.length = 0;
    onInv = async () => {};
  });

  it("runs plain text in a 1:1 chat and replies with an Adaptive Card", async () => {
    onInv = async ({ responder }) => {
      const ref = await responder.reply(hello("podinfo is at stg-1"));
      expect(ref).toMatchObject({ platform: "teams", channel: "a:personal-chat-1" });
    };
    const res = await post(
      url,
      teamsMessage({ serviceUrl: connector.serviceUrl, id: "act-in-1", text: "status&nbsp;podinfo  " }),
    );
    expect(res.status).toBe(200);
    await waitUntil(() => seen.length === 1);
    await teams.idle();
    expect(seen[0]!.inv).toMatchObject({
      id: "teams:act-in-1",
      platform: "teams",
      text: "status podinfo",
      channel: "a:personal-chat-1",
      user: { id: "teams:aad-alice", name: "Alice Example", email: "alice@example.com" },
    });
    const calls = connector.activitiesIn("a:personal-chat-1");
    expect(calls.map((c) => c.activity.type)).toEqual(["typing", "message"]);
    const card = calls[1]!.activity.attachments as { contentType: string; content: { type: string } }[];
    expect(card[0]).toMatchObject({
      contentType: "application/vnd.microsoft.card.adaptive",
      content: { type: "AdaptiveCard" },
    });
    expect(JSON.stringify(card)).toContain("podinfo is at stg-1");
  });

  // The Teams sibling of issue #11's Slack 500: botbuilder's HTTP pipeline retries 5xx itself.
  it("retries a reply the connector answered 500 to, so the user learns the command went through", async () => {
    onInv = async ({ responder }) => {
      // The reply's first two tries fail.
      connector.failNext = { status: 500, count: 2 };
      await responder.reply(hello("frontend locked in dev"));
    };
    const res = await post(
      url,
      teamsMessage({ serviceUrl: connector.serviceUrl, id: "act-500", text: "lock" }),
    );
    expect(res.status).toBe(200);
    await waitUntil(() => seen.length === 1);
    await teams.idle();
    const delivered = connector.calls.filter((c) => c.activity.type === "message");
    expect(delivered.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(delivered.at(-1)?.activity)).toContain("frontend locked in dev");
    expect(connector.failNext?.count).toBe(0);
  });

  it("strips the bot mention in a channel and answers in the thread", async () => {
    onInv = async ({ responder }) => {
      const ref = await responder.reply(hello("promoted"));
      expect(ref).toMatchObject({ channel: "19:chan@thread.tacv2", threadId: "1700000000001" });
    };
    const conversationId = "19:chan@thread.tacv2;messageid=1700000000001";
    const res = await post(
      url,
      teamsMessage({
        serviceUrl: connector.serviceUrl,
        id: "act-in-2",
        text: "promote podinfo stg prod",
        mentionBot: true,
        conversationId,
        conversationType: "channel",
      }),
    );
    expect(res.status).toBe(200);
    await waitUntil(() => seen.length === 1);
    await teams.idle();
    expect(seen[0]!.inv).toMatchObject({ text: "promote podinfo stg prod", channel: "19:chan@thread.tacv2" });
    expect(connector.activitiesIn(conversationId).map((c) => c.activity.type)).toEqual(["typing", "message"]);
  });

  it("turns Action.Submit data into a button invocation; a redelivery has the same id", async () => {
    const activity = teamsMessage({
      serviceUrl: connector.serviceUrl,
      id: "act-in-3",
      value: { gitops: { command: "rollback podinfo prod", value: "approve:r1" } },
      replyToId: "act-card-9",
    });
    expect((await post(url, activity)).status).toBe(200);
    expect((await post(url, activity)).status).toBe(200);
    await waitUntil(() => seen.length === 2);
    await teams.idle();
    expect(seen[0]!.inv).toMatchObject({
      id: "teams:act-in-3",
      text: "rollback podinfo prod",
      button: {
        value: "approve:r1",
        messageRef: { platform: "teams", channel: "a:personal-chat-1", id: "act-card-9" },
      },
    });
    expect(seen[1]!.inv.id).toBe(seen[0]!.inv.id);
  });

  it("ignores submits that are not ours and empty messages", async () => {
    await post(url, teamsMessage({ serviceUrl: connector.serviceUrl, id: "x1", value: { other: 1 } }));
    await post(
      url,
      teamsMessage({ serviceUrl: connector.serviceUrl, id: "x2", text: "  ", mentionBot: true }),
    );
    await teams.idle();
    expect(seen).toHaveLength(0);
  });

  it("updates a reply with the same updateKey", async () => {
    onInv = async ({ responder }) => {
      const a = await responder.reply(hello("promoting…", { updateKey: "k" }));
      const b2 = await responder.reply(hello("promoted", { updateKey: "k" }));
      expect(b2).toEqual(a);
    };
    await post(
      url,
      teamsMessage({ serviceUrl: connector.serviceUrl, id: "act-in-4", text: "promote x y z" }),
    );
    await waitUntil(() => seen.length === 1);
    await teams.idle();
    const puts = connector.calls.filter((c) => c.method === "PUT");
    expect(puts).toHaveLength(1);
    expect(puts[0]!.activityId).toMatch(/^act-/);
    expect(JSON.stringify(puts[0]!.activity)).toContain("promoted");
  });

  it("lets a later invocation edit a keyed card", async () => {
    onInv = async ({ inv, responder }) => {
      await responder.reply(hello(inv.text, { updateKey: "approval:t1" }));
    };
    await post(url, teamsMessage({ serviceUrl: connector.serviceUrl, id: "req-1", text: "request" }));
    await waitUntil(() => seen.length === 1);
    await teams.idle();
    await post(url, teamsMessage({ serviceUrl: connector.serviceUrl, id: "appr-1", text: "approve t1" }));
    await waitUntil(() => seen.length === 2);
    await teams.idle();
    const msgs = connector.calls.filter((c) => c.method === "POST" && c.activity.type === "message");
    const puts = connector.calls.filter((c) => c.method === "PUT");
    expect(msgs).toHaveLength(1);
    expect(puts).toHaveLength(1);
    expect(JSON.stringify(puts[0]!.activity)).toContain("approve t1");
  });

  it("honours threadKey in replies as Slack does: the reply goes into the thread of the keyed card", async () => {
    let rootId: string | undefined;
    let detailThread: string | undefined;
    onInv = async ({ responder }) => {
      rootId = (await responder.reply(hello("approval requested", { updateKey: "approval:t9" })))?.id;
      detailThread = (await responder.reply(hello("details", { threadKey: "approval:t9" })))?.threadId;
    };
    await post(
      url,
      teamsMessage({
        serviceUrl: connector.serviceUrl,
        id: "thr-1",
        text: "promote x y z",
        mentionBot: true,
        conversationId: "19:threads@thread.tacv2",
        conversationType: "channel",
      }),
    );
    await waitUntil(() => seen.length === 1);
    await teams.idle();
    const msgs = connector.calls.filter((c) => c.method === "POST" && c.activity.type === "message");
    expect(msgs).toHaveLength(2);
    expect(msgs[0]!.conversationId).toBe("19:threads@thread.tacv2");
    expect(rootId).toMatch(/^act-/);
    expect(msgs[1]!.conversationId).toBe(`19:threads@thread.tacv2;messageid=${rootId}`);
    expect(detailThread).toBe(rootId);
  });

  it("stores conversation references on disk and sends proactively by conversation id", async () => {
    await post(
      url,
      teamsMessage({
        serviceUrl: connector.serviceUrl,
        id: "act-in-5",
        text: "status",
        mentionBot: true,
        conversationId: "19:deploys@thread.tacv2;messageid=42",
        conversationType: "channel",
      }),
    );
    await teams.idle();
    await store.flush();
    const saved = JSON.parse(await readFile(join(dir, "refs.json"), "utf8")) as Record<
      string,
      { serviceUrl: string }
    >;
    expect(saved["19:deploys@thread.tacv2"]?.serviceUrl).toBe(connector.serviceUrl);

    // A new process reads the same file.
    const again = new FileConversationStore(join(dir, "refs.json"));
    expect(await again.get("19:deploys@thread.tacv2;messageid=7")).toMatchObject({
      serviceUrl: connector.serviceUrl,
    });

    connector.calls.length = 0;
    const ref = await teams.send("19:deploys@thread.tacv2", hello("deployed podinfo"));
    expect(ref).toMatchObject({ platform: "teams", channel: "19:deploys@thread.tacv2" });
    const inThread = await teams.send("19:deploys@thread.tacv2", hello("details"), { threadId: ref.id });
    await teams.update(ref, hello("deployed podinfo (edited)"));
    const id = await teams.sender.sendToConversation("19:deploys@thread.tacv2", {
      type: "AdaptiveCard",
      $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
      version: "1.4",
      body: [],
    });
    expect(id).toMatch(/^act-/);
    expect(connector.calls.map((c) => [c.method, c.conversationId])).toEqual([
      ["POST", "19:deploys@thread.tacv2"],
      ["POST", `19:deploys@thread.tacv2;messageid=${ref.id}`],
      ["PUT", "19:deploys@thread.tacv2"],
      ["POST", "19:deploys@thread.tacv2"],
    ]);
    expect(inThread.threadId).toBe(ref.id);
    expect(connector.calls[2]!.activityId).toBe(ref.id);
  });

  it("refuses to send where it has never been, and maps a connector 403 to StalledError", async () => {
    await expect(teams.send("19:unknown@thread.tacv2", hello("x"))).rejects.toMatchObject({
      name: "StalledError",
    });
    connector.failNext = { status: 403, count: 1 };
    await expect(teams.send("a:personal-chat-1", hello("x"))).rejects.toMatchObject({ name: "StalledError" });
  });

  it("in test mode (no app id) refuses serviceUrls that are not loopback, link-local metadata included", async () => {
    for (const [i, serviceUrl] of [
      "http://169.254.169.254/latest/",
      "http://[fe80::1]/",
      "https://smba.trafficmanager.net/emea/",
    ].entries()) {
      const res = await post(
        url,
        teamsMessage({
          serviceUrl,
          id: `ssrf-${i}`,
          text: "status",
          conversationId: `a:ssrf-chat-${i}`,
        }),
      );
      expect(res.status).toBe(403);
      expect(await store.get(`a:ssrf-chat-${i}`)).toBeUndefined();
    }
    await teams.idle();
    expect(seen).toHaveLength(0);
    expect(connector.calls).toHaveLength(0);
  });

  it("answers 400 to a malformed body", async () => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(res.status).toBe(400);
  });
});

describe("TeamsPlatform with an app id (JWT validation)", () => {
  const APP_ID = "00000000-1111-2222-3333-444444444444";
  let connector: FakeBotConnector;
  let http: HttpServer;
  let teams: TeamsPlatform;
  let url: string;
  let seen: Invocation[];

  /** MSAL only talks to https login endpoints; outbound calls get a fixed token instead. The audience check (isValidAppId) stays botbuilder's. */
  class FixedTokenCredentialsFactory extends PasswordServiceClientCredentialFactory {
    override async createCredentials(): Promise<TokenCredentials> {
      return new TokenCredentials("fake-outbound-token");
    }
  }

  beforeAll(async () => {
    connector = await new FakeBotConnector().start();
    http = new HttpServer({ host: "127.0.0.1", port: 0, logger: nullLogger });
    teams = new TeamsPlatform(
      { appId: APP_ID, appPassword: "app-password-secret", openIdMetadataUrl: connector.openIdMetadataUrl },
      {
        logger: nullLogger,
        http,
        store: new InMemoryConversationStore(),
        credentialsFactory: new FixedTokenCredentialsFactory(APP_ID, "app-password-secret"),
      },
    );
    teams.onInvocation(async (inv, responder) => {
      seen.push(inv);
      await responder.reply(hello("ok"));
    });
    await teams.start();
    url = `${(await http.start()).url}/api/messages`;
  });

  afterAll(async () => {
    await teams.stop();
    await http.stop();
    await connector.stop();
  });

  beforeEach(() => {
    seen = [];
    connector.calls.length = 0;
  });

  const activity = (id: string) =>
    teamsMessage({ serviceUrl: connector.serviceUrl, id, text: "status", botId: `28:${APP_ID}` });

  it("accepts a token signed by the published key", async () => {
    const token = connector.signToken({ audience: APP_ID, serviceUrl: connector.serviceUrl });
    const res = await post(url, activity("ok-1"), `Bearer ${token}`);
    expect(res.status).toBe(200);
    await waitUntil(() => seen.length === 1);
    await teams.idle();
    expect(seen[0]!.id).toBe("teams:ok-1");
    const reply = connector.messages[0];
    expect(reply?.authorization).toBe("Bearer fake-outbound-token");
  });

  it.each([
    ["no Authorization header", () => undefined],
    [
      "a token signed by another key",
      () =>
        `Bearer ${connector.signToken({ audience: APP_ID, serviceUrl: connector.serviceUrl, key: "forged" })}`,
    ],
    [
      "an expired token",
      () =>
        `Bearer ${connector.signToken({ audience: APP_ID, serviceUrl: connector.serviceUrl, expiresInSec: -600 })}`,
    ],
    [
      "a token for another app",
      () => `Bearer ${connector.signToken({ audience: "some-other-app", serviceUrl: connector.serviceUrl })}`,
    ],
    [
      "a token from another issuer",
      () =>
        `Bearer ${connector.signToken({ audience: APP_ID, serviceUrl: connector.serviceUrl, issuer: "https://evil.example" })}`,
    ],
    [
      "a token for another serviceUrl",
      () => `Bearer ${connector.signToken({ audience: APP_ID, serviceUrl: "https://smba.example/" })}`,
    ],
    ["garbage", () => "Bearer not.a.jwt"],
  ])("rejects %s with 401 and no effect", async (_name, header) => {
    const res = await post(url, activity("bad-1"), header());
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 50));
    await teams.idle();
    expect(seen).toHaveLength(0);
    expect(connector.calls).toHaveLength(0);
  });
});

describe("TeamsPlatform.fromConfig", () => {
  it("warns loudly when teams: {} disables authentication, and not when an app id is set", async () => {
    const { createLogger } = await import("../../../src/logging.js");
    const { configSchema } = await import("../../../src/config/schema.js");
    const lines: string[] = [];
    const logger = createLogger({
      destination: { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream,
    });
    const open = configSchema.parse({ repo: { url: "/tmp/x" }, teams: {} });
    const dir = await mkdtemp(join(tmpdir(), "teams-cfg-"));
    TeamsPlatform.fromConfig(
      { ...open.teams, conversationStore: join(dir, "refs.json") },
      {
        logger,
        http: new HttpServer({ host: "127.0.0.1", port: 0, logger }),
      },
    );
    expect(lines.join("")).toMatch(/TEAMS AUTHENTICATION IS DISABLED/);
    lines.length = 0;
    const secured = configSchema.parse({
      repo: { url: "/tmp/x" },
      teams: { appId: "app", appPassword: "very-secret-password" },
    });
    TeamsPlatform.fromConfig(secured.teams!, {
      logger,
      http: new HttpServer({ host: "127.0.0.1", port: 0, logger }),
      store: new InMemoryConversationStore(),
    });
    expect(lines.join("")).not.toMatch(/DISABLED/);
    expect(lines.join("")).not.toContain("very-secret-password");
    await rm(dir, { recursive: true, force: true });
  });
});
