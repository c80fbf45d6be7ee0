/**
 * The product end to end, as `gitops-bot serve` runs it: a release engineer types
 * `/gitops promote frontend dev stg` in Slack (a signed request through the real Bolt code path),
 * the bot commits to the config repo, `/gitops sync` makes the sync reconciler apply it to a real
 * kube-apiserver, and the deploy notification lands in the release channel (fake Slack Web API).
 *
 * The example repo uses the fixed namespaces dev/stg/prod; no other e2e test touches them.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExamplesDir, prepareDemoRepo } from "../../src/app/demo.js";
import { parseConfig } from "../../src/config/load.js";
import { nullLogger } from "../../src/core/ports.js";
import { type Service, startService } from "../../src/main.js";
import { e2eEnv } from "../harness/e2e.js";
import { FakeSlackApi, postSignedSlack } from "../helpers/fake-slack-api.js";

const run = promisify(execFile);
const SIGNING_SECRET = "e2e-signing-secret-0123456789abcdef";
const BOT_TOKEN = "xoxb-1111111111-e2e-service-canary";

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("gitops-bot serve against a real API server", () => {
  let dir: string;
  let repoPath: string;
  let slack: FakeSlackApi;
  let service: Service;
  let seq = 0;

  const kubectl = async (...args: string[]) =>
    (await run("kubectl", ["--kubeconfig", e2eEnv().kubeconfigPath, ...args])).stdout.trim();
  const image = (ns: string) =>
    kubectl(
      "get",
      "deployment",
      "frontend",
      "-n",
      ns,
      "-o",
      "jsonpath={.spec.template.spec.containers[0].image}",
    );
  const slash = (text: string) =>
    postSignedSlack(
      `${service.url}/slack/events`,
      {
        form: {
          command: "/gitops",
          text,
          user_id: "UALICE",
          user_name: "alice",
          channel_id: "CRELEASE",
          team_id: "T1",
          trigger_id: `trigger-${++seq}`,
          response_url: slack.responseUrl(`r${seq}`),
        },
      },
      { signingSecret: SIGNING_SECRET },
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "service-e2e-"));
    ({ repo: repoPath } = await prepareDemoRepo(dir, defaultExamplesDir()));
    slack = await new FakeSlackApi().start();
    const cfg = parseConfig({
      clusterName: "e2e",
      repo: { url: repoPath, workdir: join(dir, "work") },
      http: { host: "127.0.0.1", port: 0 },
      slack: {
        signingSecret: SIGNING_SECRET,
        botToken: BOT_TOKEN,
        apiUrl: slack.apiUrl,
        botId: "B1",
        botUserId: "U1",
      },
      approvals: { storePath: join(dir, "approvals.json") },
      kube: {
        kubeconfig: e2eEnv().kubeconfigPath,
        leaderElection: { leaseDuration: "4s", renewDeadline: "3s", retryPeriod: "500ms" },
      },
      sync: { name: "service-e2e", namespace: "service-e2e-system", interval: "1h" },
      images: { enabled: false },
      notifications: {
        destinations: [{ name: "deploys", type: "slack", channel: "CDEPLOYS", apiUrl: `${slack.url}/api` }],
      },
    });
    await kubectl("create", "namespace", "service-e2e-system").catch(() => undefined);
    service = await startService(cfg, { env: {}, logger: nullLogger });
  });

  afterAll(async () => {
    await service?.stop();
    await slack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("applies the config repo at start: namespaces and the plain Deployments", async () => {
    expect(await waitFor("frontend in stg", () => image("stg").then((i) => i || undefined))).toBe(
      "ghcr.io/example/frontend:dev-1b7e0d2",
    );
    expect(await image("prod")).toBe("ghcr.io/example/frontend:1.4.2");
  });

  it("a promotion typed in Slack reaches the cluster after /gitops sync, and is announced", async () => {
    expect((await slash("promote frontend dev stg")).status).toBe(200);
    await waitFor("the promotion commit", async () => {
      const { stdout } = await run("git", ["-C", repoPath, "log", "-1", "--format=%s", "main"]);
      return stdout.includes("[stg/frontend] promote") ? true : undefined;
    });

    expect((await slash("sync")).status).toBe(200);
    const img = await waitFor("the new image in stg", async () => {
      const i = await image("stg");
      return i.endsWith(":dev-3f2a1c9") ? i : undefined;
    });
    expect(img).toBe("ghcr.io/example/frontend:dev-3f2a1c9");
    // Nothing else moved: prod is untouched.
    expect(await image("prod")).toBe("ghcr.io/example/frontend:1.4.2");

    // The applied object carries our field manager (server-side apply), not kubectl's.
    const managers = await kubectl(
      "get",
      "deployment",
      "frontend",
      "-n",
      "stg",
      "--show-managed-fields",
      "-o",
      "jsonpath={.metadata.managedFields[*].manager}",
    );
    expect(managers.split(" ")).toContain("gitops-bot");

    // The release channel heard about it, with the new tag, and never saw the token.
    const posted = await waitFor("a deploy notification", async () => {
      const calls = slack.calls.filter(
        (c) =>
          (c.method === "chat.postMessage" || c.method === "chat.update") && c.args["channel"] === "CDEPLOYS",
      );
      const text = JSON.stringify(calls.map((c) => c.args));
      return text.includes("dev-3f2a1c9") ? text : undefined;
    });
    expect(posted).not.toContain(BOT_TOKEN);

    // /metrics counts what the notification router delivered, per destination.
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    const sent = /^gitops_notification_sent_total\{destination="deploys"\} (\d+)$/m.exec(metrics);
    expect(Number(sent?.[1])).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^gitops_notification_undeliverable_total\{destination="deploys"\} 0$/m);
  });

  it("status shows the revision the cluster runs, read from the sync state in the cluster", async () => {
    const { stdout } = await run("git", ["-C", repoPath, "rev-parse", "main"]);
    const head = stdout.trim();
    await waitFor("the sync of the head", async () =>
      (await service.sync?.status.read())?.lastAppliedRevision === head ? true : undefined,
    );
    const seen = slack.calls.length;
    expect((await slash("status")).status).toBe(200);
    const reply = await waitFor("the status reply", async () => {
      const text = JSON.stringify(slack.calls.slice(seen).map((c) => c.args));
      return text.includes("Release status") ? text : undefined;
    });
    expect(reply).toMatch(new RegExp(`cluster synced at \`?${head.slice(0, 7)}`));
    expect(reply).not.toContain("behind the config repo");
  });

  it("exports the sync's reconcile series, the leader gauge and the commands on /metrics", async () => {
    // The runs above (at start, and after /gitops sync) ended ready on the leader.
    const metrics = await waitFor("a ready sync run on /metrics", async () => {
      const t = await (await fetch(`${service.url}/metrics`)).text();
      return /^gitops_reconcile_total\{reconciler="sync",result="ready"\} [1-9]/m.test(t) ? t : undefined;
    });
    expect(metrics).toMatch(/^gitops_reconcile_duration_seconds_count\{reconciler="sync"\} [1-9]\d*$/m);
    const last = /^gitops_reconcile_last_success_timestamp_seconds\{reconciler="sync"\} ([\d.e+]+)$/m.exec(
      metrics,
    );
    expect(Number(last?.[1])).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(metrics).toMatch(/^gitops_reconcile_items\{reconciler="sync",status="ready",reason="\w+"\} 1$/m);
    // Leader election is on with a cluster, and this single replica holds the Lease.
    expect(metrics).toMatch(/^gitops_leader 1$/m);
    expect(metrics).toMatch(/^gitops_commands_total\{verb="promote",result="ok",platform="slack"\} 1$/m);
    expect(metrics).toMatch(/^gitops_commands_total\{verb="sync",result="ok",platform="slack"\} [1-9]/m);
  });
});
