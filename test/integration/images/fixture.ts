/**
 * The shared fixture of the image automation integration tests: one real docker-registry (and the
 * counting, fault-injecting proxy in front of it), one real git server, and `setup(files)`, which
 * seeds a fresh config repo and builds an `ImageService` over it that records its events.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { imagesSchema } from "../../../src/config/images-schema.js";
import { repoSchema } from "../../../src/config/schema.js";
import type { AutoReleaseEvent, GitopsEvent, ReconcilerEvent } from "../../../src/core/events.js";
import { nullLogger } from "../../../src/core/ports.js";
import { frozenEnvs } from "../../../src/gitops/freezes.js";
import { GitConfigRepo } from "../../../src/gitops/git-config-repo.js";
import type { Actor } from "../../../src/gitops/operations.js";
import { ReleaseService } from "../../../src/gitops/release-service.js";
import type { Freeze } from "../../../src/images/plan.js";
import { imageScanner, registryClient } from "../../../src/reconciler/images/registries.js";
import { ImageService } from "../../../src/reconciler/images/service.js";
import { MemoryRecord } from "../../../src/state/record.js";
import { type GitServer, startGitServer } from "../../harness/git-server.js";
import { type RegistryServer, startRegistry } from "../../harness/registry.js";
import { RecordingLogger } from "../../helpers/recording-logger.js";
import { type RegistryProxy, startRegistryProxy } from "../../helpers/registry-proxy.js";

export const USER = "bot";
export const PASSWORD = "images-git-pass-42";
export const day = (n: number) => new Date(Date.UTC(2026, 0, n, 12));
export const alice: Actor = {
  id: "slack:U1",
  name: "alice",
  identity: { name: "Alice", email: "alice@example.com" },
};

/** A Deployment in `releases/<env>/<name>.yaml` with one container per image. */
export function deployment(o: {
  env: string;
  name: string;
  images: { container: string; image: string; filter?: string }[];
  automated?: boolean;
  locked?: boolean;
}): string {
  const ann = [
    ...(o.automated === false ? [] : ['    fluxcd.io/automated: "true"']),
    ...(o.locked ? ['    fluxcd.io/locked: "true"', "    fluxcd.io/locked_user: dave"] : []),
    ...o.images.flatMap((i) => (i.filter ? [`    filter.fluxcd.io/${i.container}: ${i.filter}`] : [])),
  ];
  return [
    `# ${o.name} in ${o.env}: comments stay`,
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    `  name: ${o.name}`,
    `  namespace: ${o.env}`,
    ...(ann.length > 0 ? ["  annotations:", ...ann] : []),
    "spec:",
    "  template:",
    "    spec:",
    "      containers:",
    ...o.images.flatMap((i) => [
      `        - name: ${i.container}`,
      `          image: ${i.image} # the ${i.container}`,
    ]),
    "",
  ].join("\n");
}

export let reg: RegistryServer;
export let proxy: RegistryProxy;
export let server: GitServer;
let tmp: string;
let n = 0;
const cleanups: (() => Promise<void> | void)[] = [];

/** Registers the fixture's hooks; call once at the top of a test file. */
export function useImageFixture(): void {
  beforeAll(async () => {
    [reg, server] = await Promise.all([
      startRegistry(),
      startGitServer({ username: USER, password: PASSWORD }),
    ]);
    proxy = await startRegistryProxy({ target: reg.url });
    tmp = await mkdtemp(join(tmpdir(), "images-it-"));
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    proxy.fault = undefined;
  });

  afterAll(async () => {
    await proxy?.close();
    await Promise.all([reg?.stop(), server?.stop()]);
    await rm(tmp, { recursive: true, force: true });
  });
}

export interface Setup {
  name: string;
  repo: GitConfigRepo;
  ops: ReleaseService;
  images: ImageService;
  events: GitopsEvent[];
  logger: RecordingLogger;
  /** A new process: a new `ImageService` (empty caches) over the same status record and repo. */
  restart(): void;
  cycle(): Promise<Awaited<ReturnType<ImageService["trigger"]>>>;
  /** Commits on the server's branch, newest first. */
  log(): Promise<Awaited<ReturnType<GitConfigRepo["log"]>>>;
}

export async function setup(
  files: Record<string, string>,
  opts: { frozen?: Map<string, Freeze>; images?: Record<string, unknown> } = {},
): Promise<Setup> {
  const name = `cfg-${++n}.git`;
  const seed = join(tmp, `seed-${n}`);
  for (const [p, c] of Object.entries({ "README.md": "config\n", ...files })) {
    await mkdir(dirname(join(seed, p)), { recursive: true });
    await writeFile(join(seed, p), c);
  }
  await server.createBareRepo(name, { seedFrom: seed });
  const open = () =>
    GitConfigRepo.open(
      repoSchema.parse({
        url: server.url(name),
        workdir: join(tmp, `wd-${n}-${Math.random().toString(36).slice(2)}`),
        auth: { username: USER, password: PASSWORD },
        author: { name: "gitops-bot", email: "bot@example.com" },
      }),
      { logger: nullLogger },
    );
  const repo = await open();
  const reader = await open();
  const ops = new ReleaseService({ repo });
  const events: GitopsEvent[] = [];
  const logger = new RecordingLogger();
  const cfg = imagesSchema.parse({ interval: "1h", ...opts.images });
  const record = new MemoryRecord("image-status");
  const build = () =>
    ImageService.fromConfig(
      {
        images: cfg,
        clusterName: "it",
        repo: { author: { name: "gitops-bot", email: "bot@example.com" } } as never,
      },
      {
        ops,
        record,
        sink: { emit: (e) => events.push(e) },
        logger,
        scanner: imageScanner(cfg, registryClient(cfg, logger)),
        // The real freeze record (`freeze <env>` commits it), unless the test gives the frozen envs.
        frozenEnvs: opts.frozen
          ? async () => opts.frozen as Map<string, Freeze>
          : (revision?: string) => frozenEnvs(repo, revision),
      },
    );
  let images = build();
  images.controller.start();
  cleanups.push(async () => {
    images.pause();
    await repo.close();
    await reader.close();
  });
  return {
    name,
    repo,
    ops,
    get images() {
      return images;
    },
    events,
    logger,
    restart: () => {
      images.pause();
      images = build();
      images.controller.start();
    },
    cycle: () => images.trigger({ reason: "command" }),
    log: async () => {
      await reader.sync();
      return reader.log({ limit: 20 });
    },
  };
}

export const released = (events: GitopsEvent[]) =>
  events.filter((e): e is AutoReleaseEvent => e.kind === "auto-release");
export const reconcilerEvents = (events: GitopsEvent[]) =>
  events.filter((e): e is ReconcilerEvent => e.kind === "reconciler");
