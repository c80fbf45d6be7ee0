// Benchmark: 100 HelmReleases of a small hook-free chart (ConfigMaps) in 10 namespaces, our Helm
// reconciler (sync applies the revision, then Helm installs with bounded concurrency) vs a plain
// loop of `helm upgrade --install` for the same releases, in one run; then a no-op pass of all
// releases (must make zero helm writes).
//
//   helm-release: ours=<s>s peer=<s>s ratio=<r> noop=<s>s noopRatio=<r> noopHelmWrites=<n> rssPeak=<MiB>MiB concurrency=<n>
//
// One API server each (fresh etcd), the same chart and values.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { configSchema } from "../src/config/schema.js";
import type { GitopsEvent } from "../src/core/events.js";
import { nullLogger } from "../src/core/ports.js";
import { GitConfigRepo } from "../src/gitops/git-config-repo.js";
import { HelmCli, type HelmClient } from "../src/helm/cli.js";
import { K8sKubeClient } from "../src/kube/k8s-client.js";
import { HelmService } from "../src/reconciler/helm/service.js";
import { SyncService } from "../src/reconciler/sync/service.js";
import { startKube } from "../test/harness/kube.js";
import { loadTools } from "../test/harness/tools.js";

const execFileP = promisify(execFile);
const N = Number(process.env.HELM_BENCH_RELEASES ?? 100);
const NAMESPACES = 10;
const CONCURRENCY = Number(process.env.HELM_BENCH_CONCURRENCY ?? 4);

const CHART: Record<string, string> = {
  "charts/small/Chart.yaml": "apiVersion: v2\nname: small\nversion: 0.1.0\n",
  "charts/small/values.yaml": "message: hello\n",
  "charts/small/templates/cm.yaml":
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  message: {{ .Values.message | quote }}\n",
  "charts/small/templates/cm2.yaml":
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n  release: {{ .Release.Name | quote }}\n",
};

const nsOf = (i: number) => `bench-${i % NAMESPACES}`;
const hr = (i: number) => `apiVersion: helm.fluxcd.io/v1
kind: HelmRelease
metadata:
  name: app-${i}
  namespace: ${nsOf(i)}
spec:
  chart: { git: git@github.com:example/bench-config, path: charts/small, ref: main }
  values: { message: "release ${i}" }
`;

async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [p, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, p)), { recursive: true });
    await writeFile(join(root, p), content);
  }
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

/** Counts helm calls that write (everything but reads and pulls). */
function counting(inner: HelmClient, counter: { writes: number }): HelmClient {
  const writes = new Set(["install", "upgrade", "rollback", "uninstall", "test"]);
  return new Proxy(inner, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (writes.has(String(prop))) counter.writes++;
        return v.apply(target, args);
      };
    },
  });
}

export default async function run(): Promise<string> {
  const tools = await loadTools();
  const root = await mkdtemp(join(tmpdir(), "gitops-bot-bench-helm-"));
  let kube = await startKube({ tools });
  let rssPeak = 0;
  let sampling = false;
  const sample = setInterval(() => {
    if (sampling) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 50);
  try {
    const nsFiles: Record<string, string> = {};
    for (let n = 0; n < NAMESPACES; n++)
      nsFiles[`namespaces/bench-${n}.yaml`] =
        `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench-${n}\n`;

    // Peer: one `helm upgrade --install` after another, values on stdin like ours.
    const peerDir = join(root, "peer");
    await writeFiles(peerDir, CHART);
    const helmEnv = {
      ...process.env,
      HELM_CACHE_HOME: join(root, "peer-home", "cache"),
      HELM_CONFIG_HOME: join(root, "peer-home", "config"),
      HELM_DATA_HOME: join(root, "peer-home", "data"),
    };
    const peerClient = K8sKubeClient.fromOptions({ kubeconfig: kube.kubeconfigPath });
    for (let n = 0; n < NAMESPACES; n++) {
      await peerClient.apply(
        { apiVersion: "v1", kind: "Namespace", metadata: { name: `bench-${n}` } },
        { fieldManager: "bench" },
      );
    }
    peerClient.close();
    let t = performance.now();
    for (let i = 0; i < N; i++) {
      const child = execFileP(
        tools.helm,
        [
          "upgrade",
          "--install",
          `${nsOf(i)}-app-${i}`,
          join(peerDir, "charts/small"),
          "-n",
          nsOf(i),
          "-f",
          "-",
          "--kubeconfig",
          kube.kubeconfigPath,
        ],
        { env: helmEnv },
      );
      child.child.stdin?.end(JSON.stringify({ message: `release ${i}` }));
      await child;
    }
    const peer = (performance.now() - t) / 1000;
    console.error(`helm upgrade --install loop: ${peer.toFixed(2)}s`);
    await kube.stop();
    kube = await startKube({ tools });

    // Ours: sync applies the revision, the hook starts Helm, all N releases deployed.
    const oursDir = join(root, "ours");
    const files: Record<string, string> = { ...CHART, ...nsFiles };
    for (let i = 0; i < N; i++) files[`releases/${nsOf(i)}/app-${i}.yaml`] = hr(i);
    await writeFiles(oursDir, files);
    const git = (...args: string[]) =>
      execFileP("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.com", ...args], {
        cwd: oursDir,
      });
    await git("init", "-q", "-b", "main");
    await git("add", "-A");
    await git("commit", "-q", "-m", "bench releases");
    const cfg = configSchema.parse({
      repo: { url: oursDir, workdir: join(root, "work"), aliases: ["git@github.com:example/bench-config"] },
      sync: { name: "bench", interval: "1h" },
      helm: { binary: tools.helm, concurrency: CONCURRENCY, interval: "1h", cacheDir: join(root, "helm") },
      kube: { kubeconfig: kube.kubeconfigPath, leaderElection: { enabled: false } },
    });
    const repo = await GitConfigRepo.open(cfg.repo, { logger: nullLogger });
    const client = K8sKubeClient.fromOptions({ kubeconfig: kube.kubeconfigPath });
    const events: GitopsEvent[] = [];
    const sink = { emit: (e: GitopsEvent) => events.push(e) };
    const counter = { writes: 0 };
    const cli = new HelmCli({
      binary: tools.helm,
      home: join(root, "helm", "home"),
      kubeconfig: kube.kubeconfigPath,
    });
    let helm: HelmService | undefined;
    const sync = SyncService.fromConfig(cfg, {
      repo,
      kube: client,
      sink,
      onApplied: (rev) => helm?.revisionApplied(rev),
    });
    helm = new HelmService(cfg, {
      repo,
      kube: client,
      sink,
      helm: counting(cli, counter),
      appliedRevision: async () => (await sync.status.read()).lastAppliedRevision,
    });
    sync.controller.start();
    helm.controller.start();
    global.gc?.();
    rssPeak = process.memoryUsage().rss;
    sampling = true;
    const deployed = () => events.filter((e) => e.kind === "helm" && e.phase === "deployed").length;
    t = performance.now();
    const synced = await sync.trigger({ reason: "command" });
    if (synced.result?.status !== "ready") throw new Error(`sync failed: ${synced.message}`);
    while (deployed() < N) {
      const failed = events.find((e) => e.kind === "helm" && e.phase !== "deployed");
      if (failed) throw new Error(`a release failed: ${JSON.stringify(failed)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const ours = (performance.now() - t) / 1000;
    console.error(`ours: ${ours.toFixed(2)}s (${counter.writes} helm writes)`);

    // No-op: every release reconciled again at the same revision.
    const before = counter.writes;
    t = performance.now();
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => helm.reconcileNow({ namespace: nsOf(i), name: `app-${i}` })),
    );
    const noop = (performance.now() - t) / 1000;
    const noopWrites = counter.writes - before;
    if (results.some((r) => r?.status !== "ready")) throw new Error("a no-op pass was not ready");
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    sampling = false;
    sync.pause();
    helm.pause();
    client.close();
    await repo.close();
    const line =
      `helm-release: ours=${ours.toFixed(2)}s peer=${peer.toFixed(2)}s ratio=${(ours / peer).toFixed(2)} ` +
      `noop=${noop.toFixed(2)}s noopRatio=${(noop / peer).toFixed(3)} noopHelmWrites=${noopWrites} ` +
      `rssPeak=${mib(rssPeak)}MiB concurrency=${CONCURRENCY} releases=${N}`;
    console.log(line);
    return line;
  } finally {
    clearInterval(sample);
    await kube.stop();
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
