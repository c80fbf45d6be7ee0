/**
 * The `notifications` config section and commit links: what a user writes in config and what
 * links end up in messages.
 */
import { describe, expect, it } from "vitest";
import { notificationsSchema } from "../../../src/config/notifications.js";
import { configSchema } from "../../../src/config/schema.js";
import { Redactor } from "../../../src/core/redact.js";
import { browsableRepoUrl, CommitLinker } from "../../../src/notifications/format/links.js";
import { PROVIDER_TYPES } from "../../../src/notifications/providers/index.js";
import { NotificationRouter, urlSecrets } from "../../../src/notifications/router.js";
import * as ev from "../../golden/events.js";

describe("notifications config", () => {
  it("defaults to no destinations, no routes, rich layout", () => {
    expect(notificationsSchema.parse(undefined)).toEqual({
      format: "rich",
      destinations: [],
      routes: [],
      maxAttempts: 6,
      reports: [],
    });
  });

  it("is part of the main config schema", () => {
    const shape = configSchema.shape as Record<string, unknown>;
    expect(shape["notifications"]).toBe(notificationsSchema);
  });

  it("accepts one destination of each provider type", () => {
    const n = notificationsSchema.parse({
      destinations: [
        { name: "ops", type: "slack", channel: "C123" },
        { name: "teams", type: "teams", url: "https://example.webhook.office.com/workflows/1" },
        {
          name: "hook",
          type: "webhook",
          url: "https://hooks.example.test/gitops",
          secret: "0123456789abcdef",
        },
      ],
      routes: [{ match: { env: ["prod"], severity: ["error"] }, to: ["ops", "teams"] }],
    });
    expect(n.destinations.map((d) => d.type)).toEqual(PROVIDER_TYPES);
    // No default here any more: a destination without its own apiUrl inherits `slack.apiUrl`, else
    // slack.com (issue #11), decided where the provider is built.
    expect(n.destinations[0]).not.toHaveProperty("apiUrl");
  });

  it("reports a route to an unknown destination, duplicate names and incomplete destinations", () => {
    const r = notificationsSchema.safeParse({
      destinations: [
        { name: "ops", type: "slack" },
        { name: "t", type: "teams" },
        { name: "t", type: "webhook", url: "https://x.test" },
      ],
      routes: [{ to: ["nope"] }],
    });
    expect(r.success).toBe(false);
    const messages = r.error?.issues.map((i) => i.message).join("\n") ?? "";
    expect(messages).toContain("needs `channel` (Web API) or `webhookUrl`");
    expect(messages).toContain("needs `conversation`");
  });

  it("reports unknown route destinations once destinations are valid", () => {
    const r = notificationsSchema.safeParse({
      destinations: [
        { name: "a", type: "webhook", url: "https://x.test" },
        { name: "a", type: "webhook", url: "https://y.test" },
      ],
      routes: [{ to: ["a", "nope"] }],
    });
    const messages = r.error?.issues.map((i) => i.message) ?? [];
    expect(messages).toEqual(["duplicate destination name a", "unknown destination nope"]);
  });
});

describe("commit links", () => {
  it("never puts repo credentials in a link and makes ssh remotes browsable", () => {
    expect(browsableRepoUrl("https://git:ghp_abcdefghijklmnopqrstuvwxyz@github.com/org/config.git")).toBe(
      "https://github.com/org/config",
    );
    expect(browsableRepoUrl("git@gitlab.com:group/sub/config.git")).toBe(
      "https://gitlab.com/group/sub/config",
    );
    expect(browsableRepoUrl("ssh://git@bitbucket.org/team/config.git")).toBe(
      "https://bitbucket.org/team/config",
    );
    expect(browsableRepoUrl("/srv/git/config")).toBeUndefined();
  });

  it("uses the GitHub/GitLab default, Bitbucket's /commits/, or the configured template", () => {
    const sha = "810c2e6f3b1d4a5c9e8f7a6b5c4d3e2f1a0b9c8d";
    expect(new CommitLinker("https://github.com/org/config").url(sha)).toBe(
      `https://github.com/org/config/commit/${sha}`,
    );
    expect(new CommitLinker("https://gitlab.com/org/config").url(sha)).toBe(
      `https://gitlab.com/org/config/commit/${sha}`,
    );
    expect(new CommitLinker("https://bitbucket.org/org/config").url(sha)).toBe(
      `https://bitbucket.org/org/config/commits/${sha}`,
    );
    expect(
      new CommitLinker(
        "https://git.example.test/org/config",
        "https://cgit.example.test/config/commit/?id={sha}",
      ).url(sha),
    ).toBe(`https://cgit.example.test/config/commit/?id=${sha}`);
    // A local repo has no links: the SHA is shown as code.
    expect(new CommitLinker("/srv/git/config").span(sha)).toEqual({ kind: "code", text: "810c2e6" });
  });

  it("treats every secret part of a webhook URL as a secret", () => {
    expect(urlSecrets("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX")).toContain(
      "XXXXXXXXXXXXXXXXXXXXXXXX",
    );
    expect(
      urlSecrets("https://x.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=abcdefgh12345"),
    ).toContain("abcdefgh12345");
  });
});

describe("Slack destinations without their own apiUrl (issue #11)", () => {
  it("post to the Slack platform's apiUrl with its token, not to slack.com", async () => {
    const calls: { url: string; auth: string | undefined }[] = [];
    const fetchLike = async (url: string, init: RequestInit) => {
      calls.push({ url, auth: new Headers(init.headers).get("authorization") ?? undefined });
      return new Response(JSON.stringify({ ok: true, channel: "C1", ts: "1.2" }), {
        headers: { "content-type": "application/json" },
      });
    };
    const router = NotificationRouter.fromConfig(
      {
        notifications: notificationsSchema.parse({
          destinations: [{ name: "deploys", type: "slack", channel: "C1" }],
        }),
        repo: { url: "https://github.com/org/config" },
      } as Parameters<typeof NotificationRouter.fromConfig>[0],
      {
        redactor: new Redactor(),
        fetch: fetchLike,
        slackToken: "xoxb-platform-token",
        slackApiUrl: "http://slack-proxy.internal:8080/api/",
      },
    );
    await router.post(ev.promote);
    expect(calls.map((c) => c.url)).toEqual(["http://slack-proxy.internal:8080/api/chat.postMessage"]);
    expect(calls[0]?.auth).toBe("Bearer xoxb-platform-token");
  });
});
