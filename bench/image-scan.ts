/**
 * Benchmark `image-scan`: REPOS repositories x TAGS tags in the real docker-registry, behind a
 * counting proxy (test/helpers/registry-proxy.ts). Per repository 40% `dev-*` tags (created one
 * minute apart), 30% `stg-*`, 30% semver; one automated `dev` workload with `glob:dev-*` and one
 * `prod` workload with `semver:^1` use it (so each repository is shared by two workloads).
 *
 *   ours  = ImageScanner cold scan (wantedScans -> scan -> planImageUpdates): one listing per
 *           repository, timestamps (manifest + config blob) only for the tags `glob:dev-*` admits
 *   peer  = the naive Flux v1 scan against the same registry: list tags, then per tag a manifest
 *           GET and a config blob GET, 10 at a time (`--registry-burst` 10)
 *   ratio = ours/peer requests for the cold scan
 *   other = cold times, steady-state rescan requests (target: REPOS tag lists, 0 manifest/blob).
 *   big_* = one repository with BIG_TAGS (10,000) tags, the same mix and workloads: ours cold scan
 *           time, requests and heap growth (peak while scanning, and retained with the scan held;
 *           exact with `node --expose-gc`, else indicative), the steady rescan, and the naive peer's
 *           cold scan of it (`BENCH_BIG_PEER=0` skips the peer; `BENCH_BIG_TAGS=0` the whole case).
 */

import type { AppInstance } from "../src/core/release.js";
import { planImageUpdates, wantedScans } from "../src/images/plan.js";
import { ImageScanner } from "../src/images/scan.js";
import { DistributionClient, MANIFEST_TYPES } from "../src/registry/distribution-client.js";
import { pushImage, startRegistry } from "../test/harness/registry.js";
import { startRegistryProxy } from "../test/helpers/registry-proxy.js";

const REPOS = Number(process.env["BENCH_REPOS"] ?? 100);
const TAGS = Number(process.env["BENCH_TAGS"] ?? 100);
const BIG_TAGS = Number(process.env["BENCH_BIG_TAGS"] ?? 10_000);
const BIG_PEER = process.env["BENCH_BIG_PEER"] !== "0";

function tagsFor(i: number, n = TAGS): string[] {
  const out: string[] = [];
  for (let t = 0; t < n; t++) {
    const r = t % 10;
    if (r < 4) out.push(`dev-${i}-${String(t).padStart(4, "0")}`);
    else if (r < 7) out.push(`stg-${i}-${String(t).padStart(4, "0")}`);
    else out.push(`1.${Math.floor(t / 10)}.${r}`);
  }
  return out;
}

function workload(
  env: string,
  repository: string,
  tag: string,
  filter: AppInstance["workload"]["images"][0]["filter"],
): AppInstance {
  return {
    app: repository.split("/").pop() ?? "app",
    env,
    workload: {
      kind: "Deployment",
      apiVersion: "apps/v1",
      name: "app",
      namespace: env,
      file: `releases/${env}/${repository.split("/").pop()}.yaml`,
      docIndex: 0,
      images: [
        { container: "app", repository, tag, location: { tagPath: ["x"] }, ...(filter ? { filter } : {}) },
      ],
      policies: { automated: true, locked: null, prefix: "fluxcd.io" },
    },
  };
}

async function pool<T>(items: readonly T[], size: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** Flux v1's scan without a cache: every tag's manifest and config blob. */
async function naiveScan(base: string, repos: string[]): Promise<number> {
  let timed = 0;
  await pool(repos, 1, async (repo) => {
    const list = (await (await fetch(`${base}/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    await pool(list.tags, 10, async (tag) => {
      const m = (await (
        await fetch(`${base}/v2/${repo}/manifests/${tag}`, { headers: { accept: MANIFEST_TYPES.join(", ") } })
      ).json()) as { config: { digest: string } };
      const cfg = (await (await fetch(`${base}/v2/${repo}/blobs/${m.config.digest}`)).json()) as {
        created?: string;
      };
      if (cfg.created) timed++;
    });
  });
  return timed;
}

type Proxy = Awaited<ReturnType<typeof startRegistryProxy>>;
type Registry = Awaited<ReturnType<typeof startRegistry>>;

const requests = (c: Proxy["counts"]) => c.tags + c.manifestGet + c.manifestHead + c.blobGet;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** Heap in use now (after a full GC when `--expose-gc` allows one). */
function heapNow(): number {
  global.gc?.();
  return process.memoryUsage().heapUsed;
}

/** The 10,000-tag repository (see the file comment): the `big_*` fields of the summary line. */
async function bigRepository(reg: Registry, proxy: Proxy): Promise<string> {
  const repo = "bench/big";
  const base = Date.UTC(2025, 0, 1);
  const t0 = Date.now();
  await pool(
    tagsFor(9999, BIG_TAGS).map((tag, t) => ({ tag, created: new Date(base + t * 60_000) })),
    8,
    async (j) => {
      await pushImage(reg, repo, j.tag, { created: j.created, layerContent: "shared layer" });
    },
  );
  process.stderr.write(`[image-scan] pushed ${BIG_TAGS} tags of ${repo} in ${Date.now() - t0} ms
`);
  const instances = [
    workload("dev", `${proxy.host}/${repo}`, "dev-9999-0000", { kind: "glob", expr: "dev-*" }),
    workload("prod", `${proxy.host}/${repo}`, "1.0.7", { kind: "semver", expr: "^1" }),
  ];
  const scanner = new ImageScanner({
    client: new DistributionClient({ hosts: [{ host: proxy.host, maxConcurrency: 10 }] }),
  });
  proxy.resetCounts();
  const before = heapNow();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 20);
  let t = Date.now();
  const scans = await scanner.scan(wantedScans(instances));
  const plan = planImageUpdates({ instances, scans });
  const coldMs = Date.now() - t;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  const retained = heapNow() - before;
  const cold = { ...proxy.counts };
  proxy.resetCounts();
  t = Date.now();
  planImageUpdates({ instances, scans: await scanner.scan(wantedScans(instances)) });
  const steadyMs = Date.now() - t;
  const steady = { ...proxy.counts };
  let peer = "big_peer=skipped";
  if (BIG_PEER) {
    proxy.resetCounts();
    t = Date.now();
    await naiveScan(proxy.url, [repo]);
    const peerMs = Date.now() - t;
    const peerReq = requests(proxy.counts);
    peer = `big_peer=${peerReq}req big_peer_cold=${peerMs}ms big_ratio=${(requests(cold) / peerReq).toFixed(3)}`;
  }
  process.stderr.write(
    `[image-scan] big: cold ${coldMs} ms ${JSON.stringify(cold)}; steady ${steadyMs} ms ${JSON.stringify(steady)}; updates ${plan.updates.length}; gc ${global.gc ? "exposed" : "not exposed"}\n`,
  );
  return (
    `big_tags=${BIG_TAGS} big_ours=${requests(cold)}req big_cold=${coldMs}ms ` +
    `big_heap_peak=${mib(peak - before)}MiB big_heap_retained=${mib(retained)}MiB ` +
    `big_steady_lists=${steady.tags} big_steady_manifest_blob=${steady.manifestGet + steady.manifestHead + steady.blobGet} ` +
    `big_steady=${steadyMs}ms ${peer}`
  );
}

export default async function run(): Promise<string> {
  const reg = await startRegistry();
  const proxy = await startRegistryProxy({ target: reg.url });
  try {
    const t0 = Date.now();
    const base = Date.UTC(2026, 0, 1);
    const jobs: { repo: string; tag: string; created: Date }[] = [];
    for (let i = 0; i < REPOS; i++) {
      tagsFor(i).forEach((tag, t) => {
        jobs.push({ repo: `bench/app-${i}`, tag, created: new Date(base + t * 60_000) });
      });
    }
    await pool(jobs, 8, async (j) => {
      await pushImage(reg, j.repo, j.tag, { created: j.created, layerContent: "shared layer" });
    });
    process.stderr.write(`[image-scan] pushed ${jobs.length} images in ${Date.now() - t0} ms\n`);

    const repos = Array.from({ length: REPOS }, (_, i) => `bench/app-${i}`);
    const instances = repos.flatMap((r, i) => [
      workload("dev", `${proxy.host}/${r}`, `dev-${i}-0000`, { kind: "glob", expr: "dev-*" }),
      workload("prod", `${proxy.host}/${r}`, "1.0.7", { kind: "semver", expr: "^1" }),
    ]);

    const scanner = new ImageScanner({
      client: new DistributionClient({ hosts: [{ host: proxy.host, maxConcurrency: 10 }] }),
    });
    proxy.resetCounts();
    let t = Date.now();
    const plan = planImageUpdates({ instances, scans: await scanner.scan(wantedScans(instances)) });
    const oursMs = Date.now() - t;
    const ours = { ...proxy.counts };
    const oursReq = ours.tags + ours.manifestGet + ours.manifestHead + ours.blobGet;
    const updates = plan.updates.length;

    proxy.resetCounts();
    t = Date.now();
    await planImageUpdates({ instances, scans: await scanner.scan(wantedScans(instances)) });
    const steadyMs = Date.now() - t;
    const steady = { ...proxy.counts };

    proxy.resetCounts();
    t = Date.now();
    await naiveScan(proxy.url, repos);
    const peerMs = Date.now() - t;
    const peer = { ...proxy.counts };
    const peerReq = peer.tags + peer.manifestGet + peer.blobGet;

    process.stderr.write(
      `[image-scan] ours cold ${oursMs} ms ${JSON.stringify(ours)}; steady ${steadyMs} ms ${JSON.stringify(steady)}; naive ${peerMs} ms ${JSON.stringify(peer)}; updates ${updates}\n`,
    );
    const big = BIG_TAGS > 0 ? ` ${await bigRepository(reg, proxy)}` : "";
    return (
      `image-scan: ours=${oursReq}req peer=${peerReq}req ratio=${(oursReq / peerReq).toFixed(3)} ` +
      `ours_cold=${oursMs}ms peer_cold=${peerMs}ms steady_lists=${steady.tags} ` +
      `steady_manifest_blob=${steady.manifestGet + steady.manifestHead + steady.blobGet} steady=${steadyMs}ms ` +
      `repos=${REPOS} tags=${TAGS} updates=${updates}${big}`
    );
  } finally {
    await proxy.close();
    await reg.stop();
  }
}
