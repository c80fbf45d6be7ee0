/**
 * Benchmark `rss`: peak resident memory of an idle bot with Slack only and no cluster (target
 * ≤ 120 MiB), the way the image runs it (`node dist/cli.js serve`, after `npm run build`).
 *
 *   ours = `gitops-bot serve` on a local config repo (the examples), Slack in HTTP mode, no
 *          cluster (the sync reconciler is off), 3 s idle after "gitops-bot started"
 *   peer = a bare Bolt app (its HTTPReceiver listening, one slash-command listener), 3 s idle: the
 *          least a Slack bot on Node.js costs
 *
 * Peak RSS is VmHWM of /proc/<pid>/status (Linux), the median of RUNS (default 3) for each side.
 * Reported: ours and peer in MiB, ratio ours/peer, the target and whether it is met, and our time
 * from spawn to "started". Env: BENCH_RSS_RUNS.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { defaultExamplesDir, prepareDemoRepo } from "../src/app/demo.js";

const ROOT = resolve(import.meta.dirname, "..");
const RUNS = Number(process.env["BENCH_RSS_RUNS"] ?? 3);
const IDLE_MS = 3000;
const TARGET_MIB = 120;

const PEER = `
import bolt from "@slack/bolt";
const receiver = new bolt.HTTPReceiver({ signingSecret: "bench-secret" });
const app = new bolt.App({ token: "xoxb-bench", receiver, logLevel: bolt.LogLevel.ERROR,
  tokenVerificationEnabled: false, botId: "B000", botUserId: "U000" });
app.command("/gitops", async ({ ack }) => { await ack(); });
await app.start(0);
process.stdout.write("started\\n");
`;

async function peakRssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  if (!m?.[1]) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Spawns `argv`, waits for "started" on its output, idles, reads its peak RSS, stops it. */
function measure(argv: string[], env: NodeJS.ProcessEnv): Promise<{ mib: number; startMs: number }> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let seen = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no "started" within 60 s:\n${out.slice(-2000)}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (seen || !/started/.test(out)) return;
      seen = true;
      const startMs = performance.now() - t0;
      setTimeout(() => {
        peakRssKiB(child.pid ?? -1).then(
          (kib) => {
            clearTimeout(timer);
            child.once("exit", () => resolvePromise({ mib: kib / 1024, startMs }));
            child.kill("SIGTERM");
          },
          (err: unknown) => {
            clearTimeout(timer);
            child.kill("SIGKILL");
            reject(err);
          },
        );
      }, IDLE_MS);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export default async function run(): Promise<string> {
  process.stderr.write("[rss] npm run build …\n");
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: ROOT,
    },
  );
  const dir = await mkdtemp(join(tmpdir(), "bench-rss-"));
  try {
    const { repo } = await prepareDemoRepo(dir, defaultExamplesDir());
    const config = join(dir, "gitops-bot.yaml");
    await writeFile(
      config,
      [
        `repo: { url: ${JSON.stringify(repo)}, workdir: ${JSON.stringify(join(dir, "work"))} }`,
        "log: { level: info }",
        "http: { host: 127.0.0.1, port: 0 }",
        "slack:",
        "  signingSecret: ${SLACK_SIGNING_SECRET}",
        "  botToken: ${SLACK_BOT_TOKEN}",
        "  botId: B000",
        "  botUserId: U000",
        "  apiUrl: http://127.0.0.1:9/api/",
        "",
      ].join("\n"),
    );
    // No kubeconfig anywhere: the bot runs chat only, as on a laptop without a cluster.
    const env = {
      PATH: process.env["PATH"],
      HOME: dir,
      SLACK_SIGNING_SECRET: "bench-secret",
      SLACK_BOT_TOKEN: "xoxb-bench",
    };
    const ours: number[] = [];
    const peer: number[] = [];
    const starts: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const o = await measure([join(ROOT, "dist/cli.js"), "serve", "--config", config], env);
      ours.push(o.mib);
      starts.push(o.startMs);
      peer.push((await measure(["--input-type=module", "-e", PEER], env)).mib);
      process.stderr.write(
        `[rss] run ${i + 1}/${RUNS}: ours=${o.mib.toFixed(1)}MiB peer=${peer.at(-1)?.toFixed(1)}MiB\n`,
      );
    }
    const [o, p] = [median(ours), median(peer)];
    return [
      `rss: ours=${o.toFixed(1)}MiB peer=${p.toFixed(1)}MiB ratio=${(o / p).toFixed(2)}`,
      `target=${TARGET_MIB}MiB met=${o <= TARGET_MIB ? "yes" : "no"} start=${Math.round(median(starts))}ms runs=${RUNS}`,
    ].join(" ");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
