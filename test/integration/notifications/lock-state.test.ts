/**
 * The lock state a deploy notification shows is the release model's current one (issue #10: the
 * composition root read it once at start, so a lock taken later never appeared). A real config
 * repo on disk, the real ReleaseService and notification builder, Slack notifications to the local
 * fake Web API.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExamplesDir, prepareDemoRepo } from "../../../src/app/demo.js";
import { buildNotifications } from "../../../src/app/notifications.js";
import { parseConfig } from "../../../src/config/load.js";
import { repoSchema } from "../../../src/config/schema.js";
import type { CommandCommitEvent } from "../../../src/core/events.js";
import { nullLogger } from "../../../src/core/ports.js";
import { Redactor } from "../../../src/core/redact.js";
import { GitConfigRepo } from "../../../src/gitops/git-config-repo.js";
import type { Actor } from "../../../src/gitops/operations.js";
import { ReleaseService } from "../../../src/gitops/release-service.js";
import { HttpServer } from "../../../src/http/server.js";
import { FakeSlackApi } from "../../helpers/fake-slack-api.js";

const run = promisify(execFile);
const alice: Actor = {
  id: "slack:UALICE",
  name: "alice",
  identity: { name: "alice", email: "alice@example.com" },
};

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("notifications show the lock state of now, not of start", () => {
  let dir: string;
  let repo: GitConfigRepo;
  let slack: FakeSlackApi;
  let http: HttpServer;
  let notifications: ReturnType<typeof buildNotifications>;
  let svc: ReleaseService;
  let origin: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lock-state-"));
    const { repo: path } = await prepareDemoRepo(dir, defaultExamplesDir());
    origin = path;
    repo = await GitConfigRepo.open(
      repoSchema.parse({ url: path, branch: "main", workdir: join(dir, "work"), backend: "native" }),
      { logger: nullLogger },
    );
    svc = new ReleaseService({ repo });
    slack = await new FakeSlackApi().start();
    http = new HttpServer({ host: "127.0.0.1", port: 0, logger: nullLogger });
    const cfg = parseConfig({
      repo: { url: path, workdir: join(dir, "work2") },
      sync: { enabled: false },
      notifications: {
        destinations: [
          { name: "deploys", type: "slack", channel: "CDEPLOYS", token: "xoxb-lock", apiUrl: slack.apiUrl },
        ],
        routes: [{ to: ["deploys"] }],
      },
    });
    notifications = buildNotifications(cfg, {
      ops: svc,
      http,
      redactor: new Redactor(),
      logger: nullLogger,
      reconcilerReports: false,
    });
    // Read the model now, as serve does at start: nothing is locked yet.
    await notifications.locks.refresh();
  });

  afterAll(async () => {
    await notifications?.stop();
    await repo?.close();
    await slack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function policyEvent(sha: string): CommandCommitEvent {
    return {
      kind: "command-commit",
      id: randomUUID(),
      time: new Date().toISOString(),
      cluster: "default",
      env: "dev",
      app: "podinfo",
      correlationId: sha,
      action: "policy",
      actor: "bob",
      approvers: [],
      commit: { sha, subject: "[dev/podinfo] policy", author: "bob" },
      changes: [],
      policy: "glob:dev-*",
    };
  }

  it("a lock committed straight to git after start shows on the next notification about that app", async () => {
    // Someone locks podinfo in dev without the bot (a commit to the config repo).
    const r = await svc.lock({ app: "podinfo", env: "dev", actor: alice, message: "incident 42" });
    expect(r.commit.sha).toBeTruthy();
    const { stdout } = await run("git", ["-C", origin, "log", "-1", "--format=%s", "main"]);
    expect(stdout).toMatch(/lock/);

    // The next event about podinfo/dev (here a policy change by bob) goes out with the lock shown.
    notifications.sink.emit(policyEvent(r.commit.sha as string));
    const post = await waitFor("the notification", () =>
      slack.calls.find((c) => c.method === "chat.postMessage" && c.args["channel"] === "CDEPLOYS"),
    );
    const text = JSON.stringify(post.args);
    expect(text).toContain("locked");
    expect(text).toContain("alice");
    expect(text).toContain("incident 42");
  });
});
