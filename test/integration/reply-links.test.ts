/**
 * Chat replies link commits with the same template as notifications (issue #10): the documented
 * `{shortSha}` placeholder is filled in replies too (the composition root used to fill `sha7`, so
 * replies showed a literal `{shortSha}`). The whole service as `serve` builds it, Slack over real
 * HTTP with signed payloads, the local fake Slack Web API.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExamplesDir, prepareDemoRepo } from "../../src/app/demo.js";
import { type Service, startService } from "../../src/app/serve.js";
import { parseConfig } from "../../src/config/load.js";
import { nullLogger } from "../../src/core/ports.js";
import { FakeSlackApi, postSignedSlack } from "../helpers/fake-slack-api.js";

const SIGNING_SECRET = "0123456789abcdef0123456789abcdef";

describe("commit links in chat replies", () => {
  let dir: string;
  let slack: FakeSlackApi;
  let service: Service;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reply-links-"));
    const { repo } = await prepareDemoRepo(dir, defaultExamplesDir());
    slack = await new FakeSlackApi().start();
    const cfg = parseConfig({
      repo: { url: repo, workdir: join(dir, "work") },
      http: { host: "127.0.0.1", port: 0 },
      slack: { signingSecret: SIGNING_SECRET, botToken: "xoxb-links", apiUrl: slack.apiUrl },
      approvals: { storePath: join(dir, "approvals.json") },
      sync: { enabled: false },
      // Image automation would scan the example images on ghcr.io: not what this test is about.
      images: { enabled: false },
      notifications: {
        repoUrl: "https://git.example.com/team/config",
        templates: { commitLink: "{repoUrl}/c/{shortSha}?full={sha}" },
      },
    });
    service = await startService(cfg, { env: {}, logger: nullLogger });
  });

  afterAll(async () => {
    await service?.stop();
    await slack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("fills {shortSha} and {sha} in the reply to a command that committed", async () => {
    const res = await postSignedSlack(
      `${service.url}/slack/events`,
      {
        form: {
          command: "/gitops",
          text: "lock podinfo dev links test",
          user_id: "UALICE",
          user_name: "alice",
          channel_id: "CREL",
          team_id: "T1",
          trigger_id: "trig-links-1",
          response_url: slack.responseUrl("links"),
        },
      },
      { signingSecret: SIGNING_SECRET },
    );
    expect(res.status).toBe(200);
    const until = Date.now() + 15_000;
    let text = "";
    while (Date.now() < until) {
      const reply = slack.calls.find(
        (c) =>
          c.method === "response_url" || c.method === "chat.postEphemeral" || c.method === "chat.postMessage",
      );
      if (reply && /c\//.test(JSON.stringify(reply.args))) {
        text = JSON.stringify(reply.args);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = /https:\/\/git\.example\.com\/team\/config\/c\/([0-9a-f]+)\?full=([0-9a-f]+)/.exec(text);
    expect(m, `reply with a commit link, got: ${text}`).not.toBeNull();
    expect(m![1]).toHaveLength(7);
    expect(m![2]).toHaveLength(40);
    expect(m![2]!.startsWith(m![1]!)).toBe(true);
    expect(text).not.toContain("{shortSha}");
  });
});
