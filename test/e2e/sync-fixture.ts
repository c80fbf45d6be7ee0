// The sync e2e suites' shared fixture: one git server per suite file, and per test a fresh repo,
// namespace and SyncService (interval 1 h: the test triggers every run) against the shared API server.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { repoSchema } from "../../src/config/schema.js";
import type { GitopsEvent, SyncEvent } from "../../src/core/events.js";
import type { Logger } from "../../src/core/ports.js";
import { nullLogger } from "../../src/core/ports.js";
import { GitConfigRepo } from "../../src/gitops/git-config-repo.js";
import type { KubeObject } from "../../src/kube/client.js";
import type { K8sKubeClient } from "../../src/kube/k8s-client.js";
import { SyncService } from "../../src/reconciler/sync/service.js";
import { e2eKubeClient } from "../harness/e2e.js";
import { type GitServer, startGitServer } from "../harness/git-server.js";

export const execFileP = promisify(execFile);

export interface FixtureOptions {
  driftCorrection?: boolean;
  kube?: K8sKubeClient;
  logger?: Logger;
}

/** A suite file's git server and scratch dir; `stop` runs the cleanups (newest first) and removes both. */
export interface SyncSuite {
  git: GitServer;
  scratch: string;
  cleanups: (() => Promise<void> | void)[];
  fixture(files: (ns: string) => Record<string, string>, opts?: FixtureOptions): Promise<Fixture>;
  stop(): Promise<void>;
}

/** Starts a git server (basic auth) and a scratch dir for one suite file (call in `beforeAll`). */
export async function startSyncSuite(): Promise<SyncSuite> {
  const scratch = await mkdtemp(join(tmpdir(), "gitops-bot-sync-e2e-"));
  const git = await startGitServer({ username: USER, password: PASSWORD });
  const suite: SyncSuite = {
    git,
    scratch,
    cleanups: [],
    fixture: (files, opts) => makeFixture(suite, files, opts),
    stop: async () => {
      for (const c of suite.cleanups.reverse()) await c();
      await git.stop();
      await rm(scratch, { recursive: true, force: true });
    },
  };
  return suite;
}

const USER = "e2e";
/** The git server's password: it must never show up in an event or message. */
export const PASSWORD = randomBytes(8).toString("hex");

/** One sync service against a fresh repo and namespace of its own. */
export interface Fixture {
  id: string;
  /** A namespace name unique to this test. */
  ns: string;
  repoName: string;
  kube: K8sKubeClient;
  events: GitopsEvent[];
  take(): GitopsEvent[];
  push(files: Record<string, string | null>, message: string): Promise<string>;
  sync(): Promise<SyncService["trigger"] extends (...a: never[]) => Promise<infer R> ? R : never>;
  restart(): void;
  svc: SyncService;
  repo: GitConfigRepo;
}

async function makeFixture(
  suite: Pick<SyncSuite, "git" | "scratch" | "cleanups">,
  files: (ns: string) => Record<string, string>,
  opts: FixtureOptions = {},
): Promise<Fixture> {
  const { git, scratch, cleanups } = suite;
  const id = randomBytes(4).toString("hex");
  const ns = `sync-${id}`;
  const seed = join(scratch, `seed-${id}`);
  for (const [p, content] of Object.entries(files(ns))) {
    await mkdir(dirname(join(seed, p)), { recursive: true });
    await writeFile(join(seed, p), content);
  }
  const repoName = `sync-${id}.git`;
  const bare = await git.createBareRepo(repoName, { seedFrom: seed });
  // Let the force-push test rewrite history, as hosts allow on unprotected branches.
  await execFileP("git", ["--git-dir", bare, "config", "receive.denyNonFastForwards", "false"]);
  const repo = await GitConfigRepo.open(
    repoSchema.parse({
      url: git.url(repoName),
      branch: "main",
      auth: { username: USER, password: PASSWORD },
      workdir: join(scratch, `work-${id}`),
    }),
    { logger: nullLogger },
  );
  const kube = opts.kube ?? e2eKubeClient();
  const events: GitopsEvent[] = [];
  const make = () =>
    new SyncService(
      {
        name: `e2e-${id}`,
        paths: [
          { path: "namespaces/", prune: true },
          { path: "releases/", prune: true },
        ],
        intervalMs: 3_600_000,
        prune: true,
        driftCorrection: opts.driftCorrection ?? true,
        concurrency: 8,
        namespace: "gitops-bot-system",
        clusterName: "e2e",
        source: `${repo.publicUrl}#main`,
      },
      { repo, kube, sink: { emit: (e) => events.push(e) }, ...(opts.logger ? { logger: opts.logger } : {}) },
    );
  const f: Fixture = {
    id,
    ns,
    repoName,
    kube,
    events,
    repo,
    svc: make(),
    take: () => events.splice(0, events.length),
    push: (changes, message) => git.commitDirect(repoName, { files: changes, message }),
    sync: () => f.svc.trigger(),
    restart: () => {
      f.svc.pause();
      f.svc = make();
      f.svc.controller.start();
    },
  };
  f.svc.controller.start();
  cleanups.push(async () => {
    f.svc.pause();
    await repo.close();
    if (!opts.kube) kube.close();
  });
  return f;
}

export const nsYaml = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
export const cmYaml = (ns: string, name: string, value: string, annotations = "") =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n${annotations ? `  annotations:\n${annotations}` : ""}data:\n  value: "${value}"\n`;
export const deployYaml = (
  ns: string,
  name: string,
  replicas: number,
  selector = name,
) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: ${selector} }
  template:
    metadata:
      labels: { app: ${selector} }
    spec:
      containers:
        - name: app
          image: ghcr.io/stefanprodan/podinfo:6.7.0
          ports:
            - containerPort: 9898
`;

export const syncEvents = (evs: GitopsEvent[]) => evs.filter((e): e is SyncEvent => e.kind === "sync");
export const actions = (ev: SyncEvent | undefined) =>
  Object.fromEntries((ev?.objects ?? []).map((o) => [o.id, o.action])) as Record<string, string>;
export const cmRef = (ns: string, name: string) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  namespace: ns,
  name,
});
export const value = (o?: KubeObject) => (o?.data as Record<string, string> | undefined)?.value;
