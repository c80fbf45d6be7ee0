/**
 * The cluster is never in the way of chat (issue #11): a bot configured with a cluster whose API
 * server accepts connections and never answers (the worst outage: nothing fails fast) still
 * replies on Teams (the conversation store is shared through the cluster), commits, and asks for
 * approvals (the approval store is too). Real composition root, real git repo, the fake Bot
 * Connector; the "cluster" is a TCP socket that swallows every request.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExamplesDir, prepareDemoRepo } from "../../src/app/demo.js";
import { type Service, startService } from "../../src/app/serve.js";
import { parseConfig } from "../../src/config/load.js";
import { nullLogger } from "../../src/core/ports.js";
import { type BlackHole, startBlackHole, writeKubeconfig } from "../helpers/black-hole.js";
import { FakeBotConnector, teamsMessage } from "../helpers/fake-bot-connector.js";

const exec = promisify(execFile);

describe("gitops-bot serve while the cluster hangs (issue #11)", () => {
  let dir: string;
  let repoPath: string;
  let connector: FakeBotConnector;
  let cluster: BlackHole;
  let service: Service | undefined;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cluster-outage-it-"));
    ({ repo: repoPath } = await prepareDemoRepo(dir, defaultExamplesDir()));
    connector = await new FakeBotConnector().start();
    cluster = await startBlackHole();
    const kubeconfig = join(dir, "kubeconfig");
    await writeKubeconfig(kubeconfig, cluster.port);
    const cfg = parseConfig({
      clusterName: "outage",
      repo: { url: repoPath, workdir: join(dir, "work") },
      http: { host: "127.0.0.1", port: 0 },
      kube: { kubeconfig },
      // Test mode (no app id): activities are accepted unauthenticated from loopback.
      teams: {},
      // sync stays enabled (the default): with a kubeconfig, approvals and Teams conversations
      // are kept in the cluster (`store: auto`), which is what must not block chat.
    });
    service = await startService(cfg, { env: { HOME: dir }, logger: nullLogger });
    url = `${service.url}/api/messages`;
  });

  afterAll(async () => {
    await service?.stop();
    await cluster?.close();
    await connector?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (activity: unknown) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(activity),
    });

  /** Waits (bounded by the test timeout) until the connector received a reply containing `text`. */
  async function replyContaining(text: string): Promise<string> {
    for (;;) {
      const found = connector.messages.map((m) => JSON.stringify(m.activity)).find((m) => m.includes(text));
      if (found) return found;

      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("replies on Teams and commits a lock while the cluster does not answer", async () => {
    const res = await post(
      teamsMessage({
        serviceUrl: connector.serviceUrl,
        id: "o-lock",
        text: "lock frontend dev outage drill",
      }),
    );
    expect(res.status).toBe(200);
    const reply = await replyContaining("frontend");
    expect(reply).toMatch(/lock/i);
    const { stdout } = await exec("git", ["-C", repoPath, "log", "-1", "--format=%s%n%b"]);
    expect(stdout).toMatch(/\[dev\/frontend\] lock/);
    expect(stdout).toContain("teams:aad-alice");
  });

  it("asks for an approval of a protected change while the cluster does not answer", async () => {
    const before = (await exec("git", ["-C", repoPath, "rev-parse", "HEAD"])).stdout.trim();
    const res = await post(
      teamsMessage({
        serviceUrl: connector.serviceUrl,
        id: "o-lock-prod",
        text: "lock podinfo prod release freeze",
      }),
    );
    expect(res.status).toBe(200);
    const reply = await replyContaining("pprov");
    expect(reply).toMatch(/approv/i);
    // Nothing reached prod without the approval.
    expect((await exec("git", ["-C", repoPath, "rev-parse", "HEAD"])).stdout.trim()).toBe(before);
  });

  it("answers status with what it can read, saying the sync state could not be read", async () => {
    const res = await post(
      teamsMessage({ serviceUrl: connector.serviceUrl, id: "o-status", text: "status" }),
    );
    expect(res.status).toBe(200);
    const reply = await replyContaining("could not be read");
    expect(reply).toContain("podinfo");
  });
});
