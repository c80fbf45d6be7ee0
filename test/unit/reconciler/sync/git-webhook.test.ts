import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { nullLogger, type SyncTrigger } from "../../../../src/core/ports.js";
import { HttpServer } from "../../../../src/http/server.js";
import { gitWebhookHandler, mountGitWebhook } from "../../../../src/reconciler/sync/git-webhook.js";

const SECRET = "s3cret";
const hmac = (body: string, secret = SECRET) => createHmac("sha256", secret).update(body).digest("hex");

function recorder() {
  const calls: { reason?: string; actor?: string }[] = [];
  const trigger: SyncTrigger = {
    trigger: async (o = {}) => {
      calls.push({ reason: o.reason, actor: o.actor });
      return { accepted: true, message: "ok" };
    },
  };
  return { calls, handler: gitWebhookHandler({ secret: SECRET, branch: "main", trigger }) };
}

const push = JSON.stringify({ ref: "refs/heads/main", after: "abc" });

describe("git webhook", () => {
  it.each([
    ["GitHub", { "x-github-event": "push", "x-hub-signature-256": `sha256=${hmac(push)}` }],
    [
      "Gitea",
      {
        "x-gitea-event": "push",
        "x-gitea-signature": hmac(push),
        "x-hub-signature-256": `sha256=${hmac(push)}`,
      },
    ],
    ["GitLab", { "x-gitlab-event": "Push Hook", "x-gitlab-token": SECRET }],
  ])("%s: a signed push to the branch triggers a sync", async (_name, headers) => {
    const { calls, handler } = recorder();
    expect(await handler(headers, push)).toEqual({ status: 202, body: "sync triggered" });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.reason).toBe("webhook");
  });

  it("Bitbucket Cloud and Data Center pushes trigger a sync", async () => {
    const { calls, handler } = recorder();
    const cloud = JSON.stringify({ push: { changes: [{ new: { name: "main", type: "branch" } }] } });
    expect(
      (await handler({ "x-event-key": "repo:push", "x-hub-signature": `sha256=${hmac(cloud)}` }, cloud))
        .status,
    ).toBe(202);
    const dc = JSON.stringify({ changes: [{ ref: { id: "refs/heads/main", displayId: "main" } }] });
    expect(
      (await handler({ "x-event-key": "repo:refs_changed", "x-hub-signature": `sha256=${hmac(dc)}` }, dc))
        .status,
    ).toBe(202);
    expect(calls).toHaveLength(2);
  });

  it.each([
    ["no signature", { "x-github-event": "push" }],
    ["a wrong HMAC", { "x-github-event": "push", "x-hub-signature-256": `sha256=${hmac(push, "other")}` }],
    ["a wrong GitLab token", { "x-gitlab-event": "Push Hook", "x-gitlab-token": "nope" }],
    ["a wrong Gitea signature", { "x-gitea-event": "push", "x-gitea-signature": hmac(push, "x") }],
    ["a wrong Bitbucket signature", { "x-event-key": "repo:push", "x-hub-signature": "sha256=00" }],
  ])("refuses %s with 401 and triggers nothing", async (_name, headers) => {
    const { calls, handler } = recorder();
    expect((await handler(headers, push)).status).toBe(401);
    expect(calls).toHaveLength(0);
  });

  it("ignores other branches, pings and non-push events (200, no sync)", async () => {
    const { calls, handler } = recorder();
    const other = JSON.stringify({ ref: "refs/heads/feature" });
    expect(
      await handler({ "x-github-event": "push", "x-hub-signature-256": `sha256=${hmac(other)}` }, other),
    ).toEqual({ status: 200, body: "ignored: not a push to main" });
    const ping = JSON.stringify({ zen: "hi" });
    expect(
      (await handler({ "x-github-event": "ping", "x-hub-signature-256": `sha256=${hmac(ping)}` }, ping)).body,
    ).toMatch(/not a push/);
    expect(calls).toHaveLength(0);
  });

  it("checks the signature over the exact bytes and refuses a body that is not JSON", async () => {
    const { handler } = recorder();
    const body = "not json";
    expect(
      (await handler({ "x-github-event": "push", "x-hub-signature-256": `sha256=${hmac(body)}` }, body))
        .status,
    ).toBe(400);
  });

  it("needs a secret", () => {
    const trigger: SyncTrigger = { trigger: async () => ({ accepted: true, message: "" }) };
    expect(() => gitWebhookHandler({ secret: "", branch: "main", trigger })).toThrow(/secret/);
  });

  it("is served as POST /hooks/git on the HTTP server", async () => {
    const server = new HttpServer({ host: "127.0.0.1", port: 0, logger: nullLogger });
    const calls: string[] = [];
    mountGitWebhook(server, {
      secret: SECRET,
      branch: "main",
      trigger: {
        trigger: async (o = {}) => {
          calls.push(o.actor ?? "");
          return { accepted: true, message: "ok" };
        },
      },
    });
    const { url } = await server.start();
    try {
      const res = await fetch(`${url}/hooks/git`, {
        method: "POST",
        headers: { "x-github-event": "push", "x-hub-signature-256": `sha256=${hmac(push)}` },
        body: push,
      });
      expect(res.status).toBe(202);
      expect(calls).toEqual(["github"]);
    } finally {
      await server.stop();
    }
  });
});
