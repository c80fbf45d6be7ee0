// Benchmark: apply 1000 objects (Deployments, Services, ConfigMaps, ServiceAccounts over 10
// namespaces) to a real kube-apiserver with our sync reconciler vs `kubectl apply --server-side`,
// in one run, then a no-op re-sync of the same objects (must make zero writes).
//
//   sync-apply: ours=<s>s peer=<s>s ratio=<r> noop=<s>s noopWrites=<n> rssPeak=<MiB>MiB rssBeforeSync=<MiB>MiB
//
// Both tools apply the same generated objects (same seed) into their own namespaces on one API
// server started for this run. Ours includes reading the manifests from git; kubectl reads files.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { repoSchema } from "../src/config/schema.js";
import type { GitopsEvent } from "../src/core/events.js";
import { nullLogger } from "../src/core/ports.js";
import { GitConfigRepo } from "../src/gitops/git-config-repo.js";
import { K8sKubeClient } from "../src/kube/k8s-client.js";
import { SyncService } from "../src/reconciler/sync/service.js";
import { startKube } from "../test/harness/kube.js";
import { loadTools } from "../test/harness/tools.js";
import { generateObjects } from "./lib/generate.js";

const execFileP = promisify(execFile);
const N = Number(process.env.SYNC_BENCH_OBJECTS ?? 1000);
/** `files`: one object per file (default); `apps`: one multi-document file per app of 4 objects. */
const LAYOUT = process.env.SYNC_BENCH_LAYOUT === "apps" ? "apps" : "files";

/** Lays out generated objects as a config repo: namespaces/ and releases/<ns>/. */
async function makeRepo(root: string, prefix: string): Promise<string> {
  const gen = join(root, `gen-${prefix}`);
  const { namespaces } = await generateObjects(gen, N, { namespaces: 10, prefix, seed: 42 });
  const repo = join(root, `repo-${prefix}`);
  await mkdir(join(repo, "namespaces"), { recursive: true });
  await mkdir(join(repo, "releases"), { recursive: true });
  await rename(join(gen, "namespaces.yaml"), join(repo, "namespaces", "namespaces.yaml"));
  for (const ns of namespaces) {
    if (LAYOUT === "files") {
      await rename(join(gen, ns), join(repo, "releases", ns));
      continue;
    }
    // "apps": the four objects of an app in one multi-document file (one app = dry-run + apply).
    await mkdir(join(repo, "releases", ns), { recursive: true });
    const byApp = new Map<string, string[]>();
    for (const f of (await readdir(join(gen, ns))).sort()) {
      const app = /app-\d+/.exec(f)?.[0] ?? f;
      byApp.set(app, [...(byApp.get(app) ?? []), await readFile(join(gen, ns, f), "utf8")]);
    }
    for (const [app, docs] of byApp)
      await writeFile(join(repo, "releases", ns, `${app}.yaml`), docs.join("---\n"));
  }
  return repo;
}

async function gitInit(dir: string): Promise<void> {
  const git = (...args: string[]) =>
    execFileP("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.com", ...args], { cwd: dir });
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-q", "-m", "bench objects");
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

export default async function run(): Promise<string> {
  const tools = await loadTools();
  if (!tools.kubectl) throw new Error("kubectl is not on PATH: it is the peer of this benchmark");
  const root = await mkdtemp(join(tmpdir(), "gitops-bot-bench-sync-"));
  // One API server each: the default service CIDR (/24) cannot hold 2 x 250 Services, and a fresh
  // etcd each keeps the comparison fair.
  let kube = await startKube({ tools });
  // RSS of this process while our sync runs (sampled), not the lifetime high-water mark, which the
  // object generator and the tsx compiler set before the sync starts.
  let rssPeak = 0;
  let sampling = false;
  const sample = setInterval(() => {
    if (sampling) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 50);
  try {
    const peerRepo = await makeRepo(root, "peer");
    const oursRepo = await makeRepo(root, "ours");
    await gitInit(oursRepo);

    // Peer: kubectl applies namespaces/ then releases/ (lexical order), one object at a time.
    let t = performance.now();
    await execFileP(
      tools.kubectl,
      [
        "--kubeconfig",
        kube.kubeconfigPath,
        "apply",
        "--server-side",
        "--field-manager=kubectl-bench",
        "-R",
        "-f",
        join(peerRepo, "namespaces"),
        "-f",
        join(peerRepo, "releases"),
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const peer = (performance.now() - t) / 1000;
    console.error(`kubectl apply --server-side: ${peer.toFixed(2)}s`);
    await kube.stop();
    kube = await startKube({ tools });

    // Ours: the whole sync (fetch, read and parse from git, list, apply, state record).
    const repo = await GitConfigRepo.open(
      repoSchema.parse({ url: oursRepo, branch: "main", workdir: join(root, "work") }),
      { logger: nullLogger },
    );
    const client = K8sKubeClient.fromOptions({ kubeconfig: kube.kubeconfigPath });
    const events: GitopsEvent[] = [];
    const svc = new SyncService(
      {
        name: "bench",
        paths: [
          { path: "namespaces/", prune: true },
          { path: "releases/", prune: true },
        ],
        intervalMs: 3_600_000,
        prune: true,
        driftCorrection: true,
        concurrency: 16,
        namespace: "gitops-bot-system",
        clusterName: "bench",
        source: oursRepo,
      },
      { repo, kube: client, sink: { emit: (e) => events.push(e) } },
    );
    svc.controller.start();
    // What the process held before the sync ran (tsx, libraries, generated files), for context.
    global.gc?.();
    const rssBase = process.memoryUsage().rss;
    rssPeak = rssBase;
    sampling = true;
    t = performance.now();
    const cold = await svc.trigger({ reason: "command" });
    const ours = (performance.now() - t) / 1000;
    console.error(`ours (cold): ${ours.toFixed(2)}s`);
    if (cold.result?.status !== "ready") throw new Error(`cold sync failed: ${cold.message}`);
    const created = events
      .flatMap((e) => (e.kind === "sync" ? e.objects : []))
      .filter((o) => o.action === "created");
    if (created.length !== N + 10)
      throw new Error(`expected ${N + 10} objects created, got ${created.length}`);

    const writesBefore = client.stats().writes;
    t = performance.now();
    const again = await svc.trigger({ reason: "command" });
    const noop = (performance.now() - t) / 1000;
    const noopWrites = client.stats().writes - writesBefore;
    if (again.result?.status !== "ready") throw new Error(`no-op sync failed: ${again.message}`);
    svc.pause();
    client.close();
    await repo.close();

    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    sampling = false;
    const line =
      `sync-apply: ours=${ours.toFixed(2)}s peer=${peer.toFixed(2)}s ratio=${(ours / peer).toFixed(2)} ` +
      `noop=${noop.toFixed(3)}s noopWrites=${noopWrites} rssPeak=${mib(rssPeak)}MiB ` +
      `rssBeforeSync=${mib(rssBase)}MiB layout=${LAYOUT}`;
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
