/**
 * Benchmark `rss`: peak resident memory of the bot the way the image runs it (`node dist/cli.js
 * serve`, after `npm run build`).
 *
 *   ours = `gitops-bot serve` on a local config repo (the examples), Slack in HTTP mode, no
 *          cluster (the sync reconciler is off), 3 s idle after "gitops-bot started" (target
 *          ≤ 120 MiB)
 *   peer = a bare Bolt app (its HTTPReceiver listening, one slash-command listener), 3 s idle: the
 *          least a Slack bot on Node.js costs
 *   other: loaded = the same bot with all three reconcilers on, against a real kube-apiserver and
 *          helm (the e2e tools) and a local registry, managing a config repo of BENCH_RSS_APPS
 *          apps × 3 envs (one Deployment each, every one automated: image automation scans and
 *          plans them all each cycle) plus BENCH_RSS_RELEASES HelmReleases of a tiny chart: peak
 *          RSS until all are applied and every release is deployed, and 3 s after (target
 *          ≤ 400 MiB); `BENCH_RSS_APPS=0` skips it
 *
 * Peak RSS is VmHWM of /proc/<pid>/status (Linux), the median of RUNS (default 3) for each idle
 * side, one run for loaded. Reported: ours and peer in MiB, ratio ours/peer, the targets and
 * whether they are met, our time from spawn to "started", loaded peak and its first sync's time.
 * Env: BENCH_RSS_RUNS, BENCH_RSS_APPS (default 1000), BENCH_RSS_RELEASES (default 50).
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { defaultExamplesDir, prepareDemoRepo } from "../src/app/demo.js";
import { K8sKubeClient } from "../src/kube/k8s-client.js";
import { startKube } from "../test/harness/kube.js";
import { pushImage, type RegistryServer, startRegistry } from "../test/harness/registry.js";
import { loadTools } from "../test/harness/tools.js";

const ROOT = resolve(import.meta.dirname, "..");
const RUNS = Number(process.env["BENCH_RSS_RUNS"] ?? 3);
const IDLE_MS = 3000;
const TARGET_MIB = 120;
const LOADED_TARGET_MIB = 400;
const APPS = Number(process.env["BENCH_RSS_APPS"] ?? 1000);
const ENVS = ["dev", "stg", "prod"];
/** HelmReleases of a tiny chart in the loaded repo (dev), installed by the Helm reconciler. */
const RELEASES = Number(process.env["BENCH_RSS_RELEASES"] ?? 50);
/** Image repositories the automated workloads share (in the local registry). */
const IMAGE_REPOS = 10;
/** The chart's git URL in the HelmReleases, an alias of the config repo. */
const CHART_GIT = "https://example.invalid/bench-config.git";

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

interface Measured {
  mib: number;
  /** Spawn to "gitops-bot started" (or the peer's "started"). */
  startMs: number;
  /** Spawn to `until` resolving. */
  readyMs: number;
}

/**
 * Spawns `argv`, waits for "started" on its output and then for `until` (default: nothing more),
 * idles 3 s, reads its peak RSS, stops it.
 */
async function measure(
  argv: string[],
  env: NodeJS.ProcessEnv,
  until: () => Promise<void> = async () => {},
  timeoutMs = 60_000,
): Promise<Measured> {
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const started = new Promise<number>((resolveStart, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.length > 1_000_000) out = out.slice(-100_000);
      if (/started/.test(out)) resolveStart(performance.now() - t0);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("exit", (code) =>
      reject(new Error(`exited with ${code} before "started":\n${out.slice(-2000)}`)),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`not ready within ${timeoutMs} ms:\n${out.slice(-2000)}`)),
      timeoutMs,
    );
  });
  try {
    const startMs = await Promise.race([started, timeout]);
    await Promise.race([until(), timeout]);
    const readyMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const kib = await peakRssKiB(child.pid ?? -1);
    return { mib: kib / 1024, startMs, readyMs };
  } finally {
    clearTimeout(timer);
    child.removeAllListeners("exit");
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const slackConfig = [
  "log: { level: info }",
  "http: { host: 127.0.0.1, port: 0 }",
  "slack:",
  "  signingSecret: ${SLACK_SIGNING_SECRET}",
  "  botToken: ${SLACK_BOT_TOKEN}",
  "  botId: B000",
  "  botUserId: U000",
  "  apiUrl: http://127.0.0.1:9/api/",
];

/** Idle, Slack only, no cluster: ours vs a bare Bolt app, RUNS times each. */
async function idle(dir: string, env: NodeJS.ProcessEnv) {
  const { repo } = await prepareDemoRepo(dir, defaultExamplesDir());
  const config = join(dir, "gitops-bot.yaml");
  const repoLine = `repo: { url: ${JSON.stringify(repo)}, workdir: ${JSON.stringify(join(dir, "work"))} }`;
  await writeFile(config, [repoLine, ...slackConfig, ""].join("\n"));
  const ours: number[] = [];
  const peer: number[] = [];
  const starts: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const o = await measure([join(ROOT, "dist/cli.js"), "serve", "--config", config], env);
    ours.push(o.mib);
    starts.push(o.startMs);
    peer.push((await measure(["--input-type=module", "-e", PEER], env)).mib);
    process.stderr.write(
      `[rss] idle run ${i + 1}/${RUNS}: ours=${o.mib.toFixed(1)}MiB peer=${peer.at(-1)?.toFixed(1)}MiB\n`,
    );
  }
  return { ours: median(ours), peer: median(peer), startMs: median(starts) };
}

/** A config repo of APPS apps in each of ENVS: namespaces/ and releases/<env>/<app>.yaml. */
async function bigRepo(dir: string, registry: string): Promise<string> {
  const repo = join(dir, "big-repo");
  await mkdir(join(repo, "namespaces"), { recursive: true });
  const nsDocs = ENVS.map((e) => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${e} }\n`);
  await writeFile(join(repo, "namespaces", "envs.yaml"), nsDocs.join("---\n"));
  for (const env of ENVS) {
    await mkdir(join(repo, "releases", env), { recursive: true });
    for (let i = 0; i < APPS; i++) {
      const app = `app-${String(i).padStart(4, "0")}`;
      await writeFile(
        join(repo, "releases", env, `${app}.yaml`),
        [
          "apiVersion: apps/v1",
          "kind: Deployment",
          // Image automation watches every workload (semver, the running tag is the newest: a scan
          // and a plan per cycle, no commit), as a team with automated envs would have it.
          `metadata: { name: ${app}, namespace: ${env}, labels: { app: ${app} }, annotations: { fluxcd.io/automated: "true", filter.fluxcd.io/app: "semver:~1.0" } }`,
          "spec:",
          "  replicas: 1",
          `  selector: { matchLabels: { app: ${app} } }`,
          "  template:",
          `    metadata: { labels: { app: ${app} } }`,
          "    spec:",
          `      containers: [{ name: app, image: "${registry}/bench/app-${i % IMAGE_REPOS}:1.0.0", ports: [{ containerPort: 9898 }] }]`,
          "",
        ].join("\n"),
      );
    }
  }
  await helmReleases(repo);
  const git = (...args: string[]) => promisify(execFile)("git", args, { cwd: repo });
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "apps");
  return repo;
}

/** A tiny hook-free chart (one ConfigMap) in the repo and RELEASES HelmReleases of it in dev. */
async function helmReleases(repo: string): Promise<void> {
  await mkdir(join(repo, "charts", "tiny", "templates"), { recursive: true });
  await writeFile(join(repo, "charts", "tiny", "Chart.yaml"), "apiVersion: v2\nname: tiny\nversion: 0.1.0\n");
  await writeFile(join(repo, "charts", "tiny", "values.yaml"), "message: hello\n");
  await writeFile(
    join(repo, "charts", "tiny", "templates", "cm.yaml"),
    "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: {{ .Release.Name }} }\ndata: { message: {{ .Values.message | quote }} }\n",
  );
  await mkdir(join(repo, "releases", "dev"), { recursive: true });
  for (let i = 0; i < RELEASES; i++) {
    const name = `tiny-${String(i).padStart(3, "0")}`;
    await writeFile(
      join(repo, "releases", "dev", `${name}.yaml`),
      [
        "apiVersion: helm.fluxcd.io/v1",
        "kind: HelmRelease",
        `metadata: { name: ${name}, namespace: dev }`,
        "spec:",
        `  releaseName: ${name}`,
        `  chart: { git: ${CHART_GIT}, path: charts/tiny, ref: main }`,
        `  values: { message: "release ${i}" }`,
        "",
      ].join("\n"),
    );
  }
}

/** Pushes the automated workloads' images (one tag each: what runs is the newest). */
async function images(): Promise<RegistryServer> {
  const reg = await startRegistry();
  for (let r = 0; r < IMAGE_REPOS; r++) await pushImage(reg, `bench/app-${r}`, "1.0.0");
  return reg;
}

/** Slack + sync against a real kube-apiserver, APPS × ENVS Deployments: peak over the first sync. */
async function loaded(dir: string, env: NodeJS.ProcessEnv) {
  const tools = await loadTools();
  const kube = await startKube({ tools });
  const reg = await images();
  try {
    const repo = await bigRepo(dir, reg.host);
    const config = join(dir, "loaded.yaml");
    await writeFile(
      config,
      [
        `repo: { url: ${JSON.stringify(repo)}, workdir: ${JSON.stringify(join(dir, "work-loaded"))}, aliases: [${JSON.stringify(CHART_GIT)}] }`,
        ...slackConfig,
        `kube: { kubeconfig: ${JSON.stringify(kube.kubeconfigPath)} }`,
        "sync: { interval: 1h }",
        `helm: { binary: ${JSON.stringify(tools.helm)}, cacheDir: ${JSON.stringify(join(dir, "helm-cache"))} }`,
        "images: { interval: 10s }",
        "",
      ].join("\n"),
    );
    const client = K8sKubeClient.fromOptions({ kubeconfig: kube.kubeconfigPath });
    const want = APPS * ENVS.length;
    const allApplied = async () => {
      for (;;) {
        const n = (
          await client.list("apps/v1", "Deployment", { labelSelector: "gitops-bot.dev/sync=default" })
        ).length;
        const released = (
          await client.list("v1", "Secret", { namespace: "dev", labelSelector: "owner=helm,status=deployed" })
        ).length;
        if (n >= want && released >= RELEASES) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    const m = await measure(
      [join(ROOT, "dist/cli.js"), "serve", "--config", config],
      env,
      allApplied,
      900_000,
    );
    client.close();
    process.stderr.write(
      `[rss] loaded: ${m.mib.toFixed(1)}MiB, ${want} objects applied in ${((m.readyMs - m.startMs) / 1000).toFixed(1)} s\n`,
    );
    return { mib: m.mib, syncS: (m.readyMs - m.startMs) / 1000, objects: want };
  } finally {
    await reg.stop();
    await kube.stop();
  }
}

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
    // No kubeconfig anywhere (HOME is the temp dir): only the loaded run has a cluster.
    const env = {
      PATH: process.env["PATH"],
      HOME: dir,
      SLACK_SIGNING_SECRET: "bench-secret",
      SLACK_BOT_TOKEN: "xoxb-bench",
    };
    const i = await idle(dir, env);
    const parts = [
      `rss: ours=${i.ours.toFixed(1)}MiB peer=${i.peer.toFixed(1)}MiB ratio=${(i.ours / i.peer).toFixed(2)}`,
      `target=${TARGET_MIB}MiB met=${i.ours <= TARGET_MIB ? "yes" : "no"} start=${Math.round(i.startMs)}ms runs=${RUNS}`,
    ];
    if (APPS > 0) {
      const l = await loaded(dir, env);
      parts.push(
        `loaded=${l.mib.toFixed(1)}MiB loadedObjects=${l.objects} loadedSync=${l.syncS.toFixed(1)}s loadedTarget=${LOADED_TARGET_MIB}MiB loadedMet=${l.mib <= LOADED_TARGET_MIB ? "yes" : "no"}`,
      );
    }
    return parts.join(" ");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
