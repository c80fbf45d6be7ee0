/**
 * Benchmark `image-latency`: how long from `docker push` of a new tag to the auto-release commit on
 * the git server, for a config repo of REPOS automated workloads (one repository each, TAGS tags,
 * real docker-registry, real git server, the real `ImageService` and `POST /hooks/registry`).
 *
 *   ours  = with the registry webhook (a CNCF distribution notification right after the push);
 *           median of RUNS pushes (target <= 5 s)
 *   peer  = by polling alone (Flux v1's way), interval POLL_MS: median of RUNS pushes. Each push
 *           follows the previous commit at once, and the interval restarts after every run, so
 *           this is close to the worst case: a full interval plus one cycle
 *   ratio = ours/peer
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { imagesSchema } from "../src/config/images-schema.js";
import { repoSchema } from "../src/config/schema.js";
import { nullLogger } from "../src/core/ports.js";
import { GitConfigRepo } from "../src/gitops/git-config-repo.js";
import { ReleaseService } from "../src/gitops/release-service.js";
import { HttpServer } from "../src/http/server.js";
import { mountRegistryWebhook } from "../src/reconciler/images/registry-webhook.js";
import { ImageService } from "../src/reconciler/images/service.js";
import { MemoryRecord } from "../src/state/record.js";
import { type GitServer, startGitServer } from "../test/harness/git-server.js";
import { pushImage, type RegistryServer, startRegistry } from "../test/harness/registry.js";

const REPOS = Number(process.env["BENCH_REPOS"] ?? 20);
const TAGS = Number(process.env["BENCH_TAGS"] ?? 20);
const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);
const POLL_MS = Number(process.env["BENCH_POLL_MS"] ?? 5_000);
const SECRET = "bench-registry-hook";
const run = promisify(execFile);
const base = Date.UTC(2026, 0, 1);

async function seedRepo(server: GitServer, reg: RegistryServer, dir: string, name: string): Promise<void> {
  const seed = join(dir, `seed-${name}`);
  for (let i = 0; i < REPOS; i++) {
    const file = join(seed, "releases", "dev", `app-${i}.yaml`);
    await mkdir(join(seed, "releases", "dev"), { recursive: true });
    await writeFile(
      file,
      [
        "apiVersion: apps/v1",
        "kind: Deployment",
        `metadata:\n  name: app-${i}\n  namespace: dev`,
        '  annotations:\n    fluxcd.io/automated: "true"\n    filter.fluxcd.io/app: glob:dev-*',
        "spec:\n  template:\n    spec:\n      containers:",
        `        - name: app\n          image: ${reg.host}/lat/app-${i}:dev-${String(TAGS - 1).padStart(4, "0")}`,
        "",
      ].join("\n"),
    );
  }
  await server.createBareRepo(name, { seedFrom: seed });
}

/** The branch head in the bare repo (what a CI job or Flux would see). */
async function head(server: GitServer, name: string): Promise<string> {
  const env = { ...process.env, GIT_DIR: join(server.root, name), GIT_CONFIG_NOSYSTEM: "1" };
  return (await run("git", ["rev-parse", "main"], { env })).stdout.trim();
}

async function measure(
  label: string,
  server: GitServer,
  reg: RegistryServer,
  dir: string,
  opts: { intervalMs: number; webhook: boolean },
): Promise<number[]> {
  const name = `${label}.git`;
  await seedRepo(server, reg, dir, name);
  const repo = await GitConfigRepo.open(
    repoSchema.parse({
      url: server.url(name),
      workdir: join(dir, `wd-${label}`),
      auth: { username: "bot", password: "bench-pass" },
    }),
    { logger: nullLogger },
  );
  const cfg = imagesSchema.parse({ interval: opts.intervalMs });
  const images = ImageService.fromConfig(
    {
      images: cfg,
      clusterName: "bench",
      repo: { author: { name: "gitops-bot", email: "bot@bench" } } as never,
    },
    { ops: new ReleaseService({ repo }), record: new MemoryRecord(), sink: { emit: () => {} } },
  );
  const http = HttpServer.fromConfig({ host: "127.0.0.1", port: 0 }, { logger: nullLogger });
  mountRegistryWebhook(http, { secret: SECRET, images, logger: nullLogger });
  const url = `${(await http.start()).url}/hooks/registry`;
  images.lead();
  // Let the start cycle finish (it has nothing to release) before measuring.
  await images.trigger({ reason: "command" });
  const out: number[] = [];
  try {
    for (let r = 0; r < RUNS; r++) {
      const before = await head(server, name);
      const i = r % REPOS;
      const tag = `dev-new-${label}-${r}`;
      const t0 = Date.now();
      await pushImage(reg, `lat/app-${i}`, tag, {
        created: new Date(Date.now()),
        layerContent: "shared layer",
      });
      if (opts.webhook) {
        const event = {
          events: [
            { action: "push", target: { repository: `lat/app-${i}`, tag }, request: { host: reg.host } },
          ],
        };
        const res = await fetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
          body: JSON.stringify(event),
        });
        if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
      }
      while ((await head(server, name)) === before) {
        if (Date.now() - t0 > opts.intervalMs * 3 + 30_000) throw new Error(`${label}: no commit for ${tag}`);
        await new Promise((res) => setTimeout(res, 20));
      }
      out.push(Date.now() - t0);
    }
  } finally {
    images.pause();
    await http.stop();
    await repo.close();
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export default async function bench(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "bench-image-latency-"));
  const [reg, server] = await Promise.all([
    startRegistry(),
    startGitServer({ username: "bot", password: "bench-pass" }),
  ]);
  try {
    for (let i = 0; i < REPOS; i++) {
      for (let t = 0; t < TAGS; t++) {
        await pushImage(reg, `lat/app-${i}`, `dev-${String(t).padStart(4, "0")}`, {
          created: new Date(base + t * 60_000),
          layerContent: "shared layer",
        });
      }
    }
    const hook = await measure("webhook", server, reg, dir, { intervalMs: 3_600_000, webhook: true });
    const poll = await measure("poll", server, reg, dir, { intervalMs: POLL_MS, webhook: false });
    process.stderr.write(
      `[image-latency] webhook ${JSON.stringify(hook)} ms; poll(${POLL_MS} ms) ${JSON.stringify(poll)} ms\n`,
    );
    const ours = median(hook);
    const peer = median(poll);
    return (
      `image-latency: ours=${ours}ms peer=${peer}ms ratio=${(ours / peer).toFixed(3)} ` +
      `webhook_max=${Math.max(...hook)}ms poll_interval=${POLL_MS}ms repos=${REPOS} tags=${TAGS} runs=${RUNS}`
    );
  } finally {
    await Promise.all([reg.stop(), server.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}
