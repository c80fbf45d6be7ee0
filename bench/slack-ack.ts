/**
 * Benchmark `slack-ack`: how fast Slack gets its HTTP answer to a signed `/gitops` slash command
 * (Slack's limit is 3 s; we aim below 150 ms at p99), at 50 requests/s for 30 s, on loopback.
 *
 *   ours = our HttpServer + SlackPlatform (signature check, Bolt's processEvent, ack) with the real
 *          CommandEngine on a local config repo doing the work AFTER the ack (`status`, `history`,
 *          `diff` commands, replies through response_url to a local fake Slack API), all in one process
 *   peer = a bare Bolt app (its own HTTPReceiver, signature verification on) whose listener only acks
 *   other: sleep = ours with a handler that waits 200 ms of async work instead of the engine, which
 *          isolates the platform's own cost from the engine's (`ours_sleep`, `ratio_sleep`)
 *
 * Each server runs in its own child process (this file, `serve-ours` / `serve-sleep` / `serve-peer`), and
 * so does the fake Slack API that receives our replies (`serve-fake`); this process only generates load.
 * Load is open-loop (a request every 20 ms whether
 * or not earlier ones were answered, like Slack) over keep-alive connections. The two sides
 * alternate in 5 s windows so that load from other processes on the machine hits both alike.
 * Reported: p99 of each, ratio ours/peer, our p50, and how many acks took longer than 3 s.
 * The engine is slower than 50 commands/s on a small machine, so commands queue after their ack
 * (bounded concurrency); the backlog is dropped when the child is stopped.
 */
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { App, HTTPReceiver, LogLevel } from "@slack/bolt";
import { defaultExamplesDir, prepareDemoRepo } from "../src/app/demo.js";
import { CommandEngine } from "../src/bot/engine.js";
import type { InvocationHandler } from "../src/bot/platform.js";
import { SlackPlatform } from "../src/bot/platforms/slack/platform.js";
import { repoSchema } from "../src/config/schema.js";
import { nullLogger } from "../src/core/ports.js";
import { GitConfigRepo } from "../src/gitops/git-config-repo.js";
import { ReleaseService } from "../src/gitops/release-service.js";
import { HttpServer } from "../src/http/server.js";
import { FakeSlackApi } from "../test/helpers/fake-slack-api.js";

const RATE = Number(process.env["BENCH_RATE"] ?? 50);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 30);
const WINDOW_S = 5;
const SECRET = "bench-signing-secret";
const TOKEN = "xoxb-bench-0000-token";
const COMMANDS = ["status", "history podinfo stg", "status podinfo", "diff podinfo dev stg"];

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

/** Sends one signed slash command; resolves with the ack latency in ms (or Infinity on error). */
function slash(agent: Agent, url: URL, seq: number, responseUrl: string): Promise<number> {
  const body = new URLSearchParams({
    token: "x",
    team_id: "T1",
    channel_id: "C1",
    user_id: `U${seq % 7}`,
    user_name: `user${seq % 7}`,
    command: "/gitops",
    text: COMMANDS[seq % COMMANDS.length] as string,
    response_url: responseUrl,
    trigger_id: `bench.${seq}.${Date.now()}`,
  }).toString();
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = `v0=${createHmac("sha256", SECRET).update(`v0:${ts}:${body}`).digest("hex")}`;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "content-length": Buffer.byteLength(body),
          "x-slack-request-timestamp": ts,
          "x-slack-signature": sig,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve(res.statusCode === 200 ? performance.now() - t0 : Number.POSITIVE_INFINITY),
        );
      },
    );
    req.on("error", () => resolve(Number.POSITIVE_INFINITY));
    req.end(body);
  });
}

/** Fires `RATE` requests/s at `url` for `seconds`, open loop; returns every latency. */
async function load(url: URL, seconds: number, seq: { n: number }, responseUrl: string): Promise<number[]> {
  // A fresh keep-alive agent per window: a socket left idle while the other side is measured would
  // hit the server's keep-alive timeout and fail with ECONNRESET when reused.
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const total = Math.round(RATE * seconds);
  const interval = 1000 / RATE;
  const start = performance.now();
  const pending: Promise<number>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(slash(agent, url, seq.n++, responseUrl));
  }
  try {
    return await Promise.all(pending);
  } finally {
    agent.destroy();
  }
}

/** Child process: serves ours (`serve-ours <apiUrl>`) or the peer (`serve-peer`); prints `READY <port>`. */
async function serve(which: string, apiUrl: string | undefined): Promise<void> {
  let stop: () => Promise<void>;
  let port: number;
  let stats = () => ({});
  if (which === "serve-fake") {
    // The fake Slack API gets a process of its own: in the load generator's process, receiving
    // 50 replies/s would delay the ack timings of ours (which replies) and not of the peer (which doesn't).
    const fake = await new FakeSlackApi().start();
    port = Number(new URL(fake.url).port);
    stats = () => ({
      replies: fake.callsOf("response_url").length + fake.callsOf("chat.postMessage").length,
    });
    stop = () => fake.stop();
  } else if (which === "serve-ours" || which === "serve-sleep") {
    const dir = await mkdtemp(join(tmpdir(), "bench-slack-ack-"));
    const { repo: repoPath } = await prepareDemoRepo(dir, defaultExamplesDir());
    const repo = await GitConfigRepo.open(
      repoSchema.parse({ url: repoPath, branch: "main", workdir: join(dir, "work") }),
      { logger: nullLogger },
    );
    const engine = new CommandEngine({
      ops: new ReleaseService({ repo }),
      cluster: "bench",
      logger: nullLogger,
    });
    let handled = 0;
    const sleep = which === "serve-sleep";
    const handler: InvocationHandler = async (inv, responder) => {
      if (sleep) await new Promise((r) => setTimeout(r, 200));
      else await engine.handle(inv, responder);
      handled++;
    };
    const http = new HttpServer({ host: "127.0.0.1", port: 0, logger: nullLogger });
    const slack = new SlackPlatform(
      { signingSecret: SECRET, botToken: TOKEN, apiUrl, botId: "BBOT", botUserId: "UBOT" },
      {
        logger: nullLogger,
        http,
        stopGraceMs: 0,
        ...(process.env["BENCH_CONCURRENCY"]
          ? { concurrency: Number(process.env["BENCH_CONCURRENCY"]) }
          : {}),
      },
    );
    slack.onInvocation(handler);
    await slack.start();
    port = (await http.start()).port;
    stats = () => ({ handled });
    stop = async () => {
      await slack.stop();
      await http.stop();
      await repo.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    };
  } else {
    const receiver = new HTTPReceiver({ signingSecret: SECRET, logLevel: LogLevel.ERROR });
    const app = new App({
      receiver,
      token: TOKEN,
      botId: "BBOT",
      botUserId: "UBOT",
      tokenVerificationEnabled: false,
      logLevel: LogLevel.ERROR,
    });
    app.command("/gitops", async ({ ack }) => {
      await ack();
    });
    const server = await receiver.start({ port: 0, host: "127.0.0.1" });
    port = (server.address() as { port: number }).port;
    stop = () => receiver.stop();
  }
  process.stdout.write(`READY ${port}\n`);
  // The parent closes stdin to stop us.
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.once("end", () => resolve()));
  process.stdout.write(`STATS ${JSON.stringify(stats())}\n`);
  await stop();
  process.exit(0);
}

interface Child {
  url: URL;
  stop(): Promise<Record<string, unknown>>;
}

function startChild(which: string, apiUrl: string): Promise<Child> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ["--import", "tsx", self, which, apiUrl], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  let stats: Record<string, unknown> = {};
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${which} exited early (${code})`)));
    lines.on("line", (line) => {
      const ready = /^READY (\d+)$/.exec(line);
      if (ready) {
        resolve({
          url: new URL(`http://127.0.0.1:${ready[1]}/slack/events`),
          stop: async () => {
            child.stdin.end();
            const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
            await exited;
            clearTimeout(timer);
            return stats;
          },
        });
      }
      if (line.startsWith("STATS ")) stats = JSON.parse(line.slice(6)) as Record<string, unknown>;
    });
  });
}

/** Runs the benchmark and returns its summary line. */
export default async function run(): Promise<string> {
  const fake = await startChild("serve-fake", "-");
  const base = `http://127.0.0.1:${fake.url.port}`;
  const apiUrl = `${base}/api/`;
  const [ours, sleeper, peer] = await Promise.all([
    startChild("serve-ours", apiUrl),
    startChild("serve-sleep", apiUrl),
    startChild("serve-peer", apiUrl),
  ]);
  const responseUrl = `${base}/response/bench`;
  const seq = { n: 0 };
  const oursMs: number[] = [];
  const peerMs: number[] = [];
  const sleepMs: number[] = [];
  let oursStats: Record<string, unknown> = {};
  let fakeStats: Record<string, unknown> = {};
  try {
    // Warm-up (JIT, connections, the engine's first reads), not measured.
    await load(ours.url, 1, seq, responseUrl);
    await load(sleeper.url, 1, seq, responseUrl);
    await load(peer.url, 1, seq, responseUrl);
    for (let done = 0; done < SECONDS; done += WINDOW_S) {
      const w = Math.min(WINDOW_S, SECONDS - done);
      oursMs.push(...(await load(ours.url, w, seq, responseUrl)));
      peerMs.push(...(await load(peer.url, w, seq, responseUrl)));
      sleepMs.push(...(await load(sleeper.url, w, seq, responseUrl)));
    }
  } finally {
    [oursStats] = await Promise.all([ours.stop(), sleeper.stop(), peer.stop()]);
    fakeStats = await fake.stop();
  }
  const replies = String(fakeStats.replies ?? "?");
  const p99o = percentile(oursMs, 99);
  const p99p = percentile(peerMs, 99);
  const p50o = percentile(oursMs, 50);
  const over3s = oursMs.filter((ms) => ms > 3000).length;
  const failedAcks = oursMs.filter((ms) => !Number.isFinite(ms)).length;
  const p99s = percentile(sleepMs, 99);
  process.stderr.write(
    `[slack-ack] ours: n=${oursMs.length} p50=${p50o.toFixed(1)} p90=${percentile(oursMs, 90).toFixed(1)} p99=${p99o.toFixed(1)} max=${Math.max(...oursMs).toFixed(1)} ms failed=${failedAcks}; ` +
      `sleep handler: n=${sleepMs.length} p50=${percentile(sleepMs, 50).toFixed(1)} p99=${p99s.toFixed(1)} ms; ` +
      `peer: n=${peerMs.length} p50=${percentile(peerMs, 50).toFixed(1)} p99=${p99p.toFixed(1)} max=${Math.max(...peerMs).toFixed(1)} ms; ` +
      `engine commands completed=${String(oursStats.handled ?? "?")} replies=${replies}\n`,
  );
  return `slack-ack: ours=${p99o.toFixed(1)}ms peer=${p99p.toFixed(1)}ms ratio=${(p99o / p99p).toFixed(2)} p50=${p50o.toFixed(1)}ms over3s=${over3s} ours_sleep=${p99s.toFixed(1)}ms ratio_sleep=${(p99s / p99p).toFixed(2)}`;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href && process.argv[2]?.startsWith("serve-")) {
  await serve(process.argv[2], process.argv[3]);
}
