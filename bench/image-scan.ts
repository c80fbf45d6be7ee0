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
 */

import type { AppInstance } from "../src/core/release.js";
import { planImageUpdates, wantedScans } from "../src/images/plan.js";
import { ImageScanner } from "../src/images/scan.js";
import { DistributionClient, MANIFEST_TYPES } from "../src/registry/distribution-client.js";
import { pushImage, startRegistry } from "../test/harness/registry.js";
import { startRegistryProxy } from "../test/helpers/registry-proxy.js";

const REPOS = Number(process.env["BENCH_REPOS"] ?? 100);
const TAGS = Number(process.env["BENCH_TAGS"] ?? 100);

function tagsFor(i: number): string[] {
  const out: string[] = [];
  for (let t = 0; t < TAGS; t++) {
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
    return (
      `image-scan: ours=${oursReq}req peer=${peerReq}req ratio=${(oursReq / peerReq).toFixed(3)} ` +
      `ours_cold=${oursMs}ms peer_cold=${peerMs}ms steady_lists=${steady.tags} ` +
      `steady_manifest_blob=${steady.manifestGet + steady.manifestHead + steady.blobGet} steady=${steadyMs}ms ` +
      `repos=${REPOS} tags=${TAGS} updates=${updates}`
    );
  } finally {
    await proxy.close();
    await reg.stop();
  }
}
