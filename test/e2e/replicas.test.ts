/**
 * Two replicas of `gitops-bot serve` against one config repo and one cluster, as the chart runs
 * them with `replicaCount: 2`: a change to prod requested through one replica is approved through
 * the other, which commits it with `Approved-By` and edits the request message the first replica
 * posted (instead of posting a second one) — the request and its message ref are shared through
 * ConfigMaps in the cluster.
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
import { e2eEnv, newNamespace } from "../harness/e2e.js";
import { FakeSlackApi, postSignedSlack } from "../helpers/fake-slack-api.js";

const run = promisify(execFile);
const SIGNING_SECRET = "e2e-replicas-signing-secret-0123";

describe("two replicas", () => {
  let dir: string;
  let repoPath: string;
  let slack: FakeSlackApi;
  let a: Service;
  let b: Service;
  let seq = 0;

  const slash = (svc: Service, text: string, user: string) =>
    postSignedSlack(
      `${svc.url}/slack/events`,
      {
        form: {
          command: "/gitops",
          text,
          user_id: user,
          user_name: user.toLowerCase(),
          channel_id: "CRELEASE",
          team_id: "T1",
          trigger_id: `replicas-${++seq}`,
          response_url: slack.responseUrl(`replicas-${seq}`),
        },
      },
      { signingSecret: SIGNING_SECRET },
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "replicas-e2e-"));
    ({ repo: repoPath } = await prepareDemoRepo(dir, defaultExamplesDir()));
    slack = await new FakeSlackApi().start();
    const ns = await newNamespace("replicas");
    const replica = (name: string) =>
      startService(
        parseConfig({
          clusterName: "e2e",
          repo: { url: repoPath, workdir: join(dir, `work-${name}`) },
          http: { host: "127.0.0.1", port: 0 },
          slack: {
            signingSecret: SIGNING_SECRET,
            botToken: "xoxb-1111111111-replicas",
            apiUrl: slack.apiUrl,
            botId: "B1",
            botUserId: "U1",
          },
          kube: {
            kubeconfig: e2eEnv().kubeconfigPath,
            leaderElection: { leaseDuration: "4s", renewDeadline: "3s", retryPeriod: "500ms" },
          },
          // The replicas share state in `ns`; they sync a folder the repo does not have, so this
          // test leaves the example's namespaces to service.test.ts.
          sync: { name: "replicas", namespace: ns, interval: "1h", paths: ["not-in-this-repo/"] },
          images: { enabled: false },
          notifications: {
            destinations: [{ name: "ops", type: "slack", channel: "COPS", apiUrl: `${slack.url}/api` }],
            routes: [{ match: { kind: ["reconciler"] }, to: ["ops"] }],
            reports: [{ name: "daily", schedule: "0 9 * * *", to: ["ops"] }],
          },
        }),
        { env: { POD_NAME: `gitops-bot-${name}` }, logger: nullLogger },
      );
    a = await replica("a");
    b = await replica("b");
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await slack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("a prod change requested on one replica is approved on the other, which edits the request message", async () => {
    expect((await slash(a, "lock frontend prod release freeze", "UALICE")).status).toBe(200);
    const request = await waitFor("the approval request", () =>
      slack.calls.find(
        (c) => c.method === "chat.postMessage" && /approve:[a-z2-9]{8}/.test(JSON.stringify(c.args)),
      ),
    );
    const id = /approve:([a-z2-9]{8})/.exec(JSON.stringify(request.args))?.[1] as string;
    const requestTs = (request.response as { ts: string }).ts;

    expect((await slash(b, `approve ${id}`, "UBOB")).status).toBe(200);
    const { stdout } = await waitFor("the approved commit", async () => {
      const log = await run("git", ["-C", repoPath, "log", "-1", "--format=%s%n%b", "main"]);
      return log.stdout.includes("Approved-By") ? log : undefined;
    });
    expect(stdout).toMatch(/\[prod\/frontend\] lock/);
    expect(stdout).toMatch(/Approved-By: .*UBOB|Approved-By: .*ubob/i);

    // Replica B edited the message replica A posted, in place.
    const edit = await waitFor("the edit of the request", () =>
      slack.calls.find((c) => c.method === "chat.update" && c.args["ts"] === requestTs),
    );
    expect(edit.args["channel"]).toBe("CRELEASE");
    expect(JSON.stringify(edit.args)).not.toMatch(/approve:[a-z2-9]{8}/); // the buttons are gone
  });

  it("a scheduled report is posted once, by the leader, not by every replica", async () => {
    const outcomes = await waitFor("a leader", async () => {
      const both = [await a.reports?.run("daily"), await b.reports?.run("daily")];
      return both.includes("posted") ? both : undefined;
    });
    expect(outcomes.sort()).toEqual(["follower", "posted"]);
    const report = await waitFor("the report", () =>
      slack.calls.find((c) => c.method === "chat.postMessage" && c.args["channel"] === "COPS"),
    );
    expect(JSON.stringify(report.args)).toContain("Sync report: e2e");
    expect(JSON.stringify(report.args)).toMatch(/cluster synced at/);
  });
});

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const until = Date.now() + 30_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
