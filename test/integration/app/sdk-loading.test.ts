/**
 * Platform SDKs are loaded only when configured (docs/adr/0015-image-and-footprint.md): a Slack-only
 * bot without a cluster never imports botbuilder or @kubernetes/client-node, which would cost
 * ~135 MiB of its memory. The real CLI runs in a child process with a resolve hook that reports
 * every npm package it imports.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExamplesDir, prepareDemoRepo } from "../../../src/app/demo.js";

const ROOT = resolve(import.meta.dirname, "../../..");

/** Runs `gitops-bot serve` until it has started, stops it, and returns the packages it imported. */
function packagesOf(config: string, home: string): Promise<string[]> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--import",
        "./test/helpers/loaded-packages.mjs",
        "src/cli.ts",
        "serve",
        "--config",
        config,
      ],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          HOME: home,
          SLACK_SIGNING_SECRET: "s3cret",
          SLACK_BOT_TOKEN: "xoxb-1",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`gitops-bot did not start:\n${out.slice(-3000)}`));
    }, 90_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (/gitops-bot started/.test(out)) child.kill("SIGTERM");
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", () => {
      clearTimeout(timer);
      if (!/gitops-bot started/.test(out))
        fail(new Error(`gitops-bot exited before starting:\n${out.slice(-3000)}`));
      else done([...out.matchAll(/^loaded-package (\S+)$/gm)].map((m) => m[1] ?? ""));
    });
  });
}

describe("platform SDKs load only when configured", () => {
  let dir: string;
  let repo: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sdk-loading-"));
    ({ repo } = await prepareDemoRepo(dir, defaultExamplesDir()));
  });
  afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  const config = async (name: string, chat: string) => {
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      `repo: { url: ${JSON.stringify(repo)}, workdir: ${JSON.stringify(join(dir, `work-${name}`))} }\n` +
        "http: { host: 127.0.0.1, port: 0 }\n" +
        chat,
    );
    return file;
  };

  it("Slack only, no cluster: Bolt, but neither botbuilder nor the Kubernetes client", async () => {
    const file = await config(
      "slack",
      "slack:\n  signingSecret: ${SLACK_SIGNING_SECRET}\n  botToken: ${SLACK_BOT_TOKEN}\n  botId: B1\n  botUserId: U1\n  apiUrl: http://127.0.0.1:9/api/\n",
    );
    const loaded = await packagesOf(file, dir);
    expect(loaded).toContain("@slack/bolt");
    expect(loaded).not.toContain("botbuilder");
    expect(loaded).not.toContain("@kubernetes/client-node");
  });

  it("Teams only: botbuilder, but not Bolt", async () => {
    const file = await config("teams", "teams: {}\n");
    const loaded = await packagesOf(file, dir);
    expect(loaded).toContain("botbuilder");
    expect(loaded).not.toContain("@slack/bolt");
    expect(loaded).not.toContain("@kubernetes/client-node");
  });
});
