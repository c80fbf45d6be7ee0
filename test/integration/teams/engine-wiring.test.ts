/**
 * Final wiring: TeamsPlatform in front of the real CommandEngine on a real local config repo.
 * Activities in, Adaptive Cards out to the fake Bot Connector, commits in git.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExamplesDir, prepareDemoRepo } from "../../../src/app/demo.js";
import { CommandEngine } from "../../../src/bot/engine.js";
import { InMemoryConversationStore } from "../../../src/bot/platforms/teams/conversation-store.js";
import { TeamsPlatform } from "../../../src/bot/platforms/teams/platform.js";
import { repoSchema } from "../../../src/config/schema.js";
import { nullLogger } from "../../../src/core/ports.js";
import { GitConfigRepo } from "../../../src/gitops/git-config-repo.js";
import { ReleaseService } from "../../../src/gitops/release-service.js";
import { HttpServer } from "../../../src/http/server.js";
import { FakeBotConnector, teamsMessage } from "../../helpers/fake-bot-connector.js";

const exec = promisify(execFile);

describe("Teams -> CommandEngine wiring", () => {
  let dir: string;
  let repoPath: string;
  let repo: GitConfigRepo;
  let connector: FakeBotConnector;
  let http: HttpServer;
  let teams: TeamsPlatform;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "teams-wiring-"));
    repoPath = (await prepareDemoRepo(dir, defaultExamplesDir())).repo;
    repo = await GitConfigRepo.open(
      repoSchema.parse({ url: repoPath, branch: "main", workdir: join(dir, "work") }),
      {
        logger: nullLogger,
      },
    );
    connector = await new FakeBotConnector().start();
    connector.members.set("29:user-1", { name: "Alice Example", email: "alice@example.com" });
    http = new HttpServer({ host: "127.0.0.1", port: 0, logger: nullLogger });
    teams = new TeamsPlatform({}, { logger: nullLogger, http, store: new InMemoryConversationStore() });
    const engine = new CommandEngine({
      ops: new ReleaseService({ repo }),
      cluster: "test",
      logger: nullLogger,
    });
    teams.onInvocation(engine.handle);
    await teams.start();
    url = `${(await http.start()).url}/api/messages`;
  });

  afterAll(async () => {
    await teams.stop();
    await http.stop();
    await connector.stop();
    await repo.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (activity: unknown) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(activity),
    });

  it("answers status with a card and commits a redelivered promote once", async () => {
    expect(
      (await post(teamsMessage({ serviceUrl: connector.serviceUrl, id: "w-status", text: "status" }))).status,
    ).toBe(200);
    await teams.idle();
    expect(JSON.stringify(connector.messages)).toContain("podinfo");

    const before = Number((await exec("git", ["-C", repoPath, "rev-list", "--count", "HEAD"])).stdout.trim());
    const promote = teamsMessage({
      serviceUrl: connector.serviceUrl,
      id: "w-promote",
      text: "promote frontend dev stg",
      mentionBot: true,
      conversationId: "19:rel@thread.tacv2;messageid=5",
      conversationType: "channel",
    });
    expect((await post(promote)).status).toBe(200);
    expect((await post(promote)).status).toBe(200);
    await teams.idle();
    const after = Number((await exec("git", ["-C", repoPath, "rev-list", "--count", "HEAD"])).stdout.trim());
    expect(after).toBe(before + 1);
    const log = (await exec("git", ["-C", repoPath, "log", "-1", "--format=%an <%ae>%n%B"])).stdout;
    expect(log).toContain("Alice Example <alice@example.com>");
    expect(log).toContain("teams:aad-alice");
    expect(
      connector.activitiesIn("19:rel@thread.tacv2;messageid=5").some((c) => c.activity.type === "message"),
    ).toBe(true);
  });
});
