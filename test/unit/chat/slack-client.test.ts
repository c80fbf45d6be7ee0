/**
 * The one Slack error map (src/chat/slack/client.ts), table-driven over answers a fetch returns.
 */
import { describe, expect, it } from "vitest";
import { SlackClient, slackFailureInfo } from "../../../src/chat/slack/client.js";
import { StalledError, TransientError } from "../../../src/core/errors.js";

type Answer = { status: number; body: string; headers?: Record<string, string> } | "network";

function client(answers: Answer[], o: { retries?: number; retryServerErrors?: boolean } = {}) {
  const seen: { url: string; init: RequestInit }[] = [];
  const c = new SlackClient({
    token: "xoxb-secret-token-123",
    apiUrl: "http://slack.invalid/api/",
    ...o,
    fetch: async (url, init) => {
      seen.push({ url, init });
      const a = answers.shift() ?? { status: 200, body: '{"ok":true}' };
      if (a === "network")
        throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNRESET" } });
      return new Response(a.body, { status: a.status, ...(a.headers ? { headers: a.headers } : {}) });
    },
  });
  return { c, seen };
}

describe("SlackClient error map", () => {
  it.each([
    [
      "429 with Retry-After",
      { status: 429, body: "", headers: { "retry-after": "2" } },
      TransientError,
      { rateLimited: true, status: 429 },
      2000,
    ],
    [
      "ratelimited body",
      { status: 200, body: '{"ok":false,"error":"ratelimited"}' },
      TransientError,
      { rateLimited: true, slackError: "ratelimited" },
      1000,
    ],
    ["5xx", { status: 503, body: "upstream down" }, TransientError, { status: 503 }, undefined],
    [
      "transient Slack error",
      { status: 200, body: '{"ok":false,"error":"internal_error"}' },
      TransientError,
      { slackError: "internal_error" },
      undefined,
    ],
    [
      "permanent Slack error",
      { status: 200, body: '{"ok":false,"error":"channel_not_found"}' },
      StalledError,
      { slackError: "channel_not_found" },
      undefined,
    ],
    ["4xx", { status: 404, body: "no" }, StalledError, { status: 404 }, undefined],
    ["not JSON", { status: 200, body: "<html>" }, TransientError, {}, undefined],
  ] as const)("%s", async (_name, answer, kind, info, retryAfterMs) => {
    const { c } = client([answer]);
    const err = await c.postMessage({ channel: "C1", text: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(kind);
    expect(slackFailureInfo(err)).toEqual(info);
    if (err instanceof TransientError) expect(err.retryAfterMs).toBe(retryAfterMs);
    expect(String((err as Error).message)).not.toContain("xoxb-");
  });

  it("maps network errors to TransientError without the URL", async () => {
    const { c } = client(["network"]);
    const err = await c
      .respond("https://hooks.slack.invalid/secret-path", { text: "x" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).not.toContain("secret-path");
  });

  it("sends JSON with a bearer token and accepts a plain `ok` from a webhook", async () => {
    const { c, seen } = client([
      { status: 200, body: '{"ok":true,"channel":"C9","ts":"1.2"}' },
      { status: 200, body: "ok" },
    ]);
    expect(await c.postMessage({ channel: "C1", text: "x" })).toEqual({ channel: "C9", ts: "1.2" });
    await c.postWebhook("https://hooks.slack.invalid/T/B/X", { text: "x" });
    expect(seen[0]!.url).toBe("http://slack.invalid/api/chat.postMessage");
    expect((seen[0]!.init.headers as Record<string, string>).authorization).toBe(
      "Bearer xoxb-secret-token-123",
    );
    expect(seen[1]!.init.headers as Record<string, string>).not.toHaveProperty("authorization");
  });

  it("retries network errors and rate limits, and 5xx only when asked", async () => {
    const plain = client([{ status: 500, body: "" }], { retries: 2 });
    await expect(plain.c.update({ channel: "C1", ts: "1" })).rejects.toBeInstanceOf(TransientError);
    expect(plain.seen).toHaveLength(1);
    const retrying = client(["network", { status: 500, body: "" }], { retries: 2, retryServerErrors: true });
    await retrying.c.update({ channel: "C1", ts: "1" });
    expect(retrying.seen).toHaveLength(3);
  });
});
