/**
 * The cluster half of `gitops-bot demo --kubeconfig <file>`: the reconcilers serve runs (the sync,
 * the HelmRelease reconciler, image automation), built by `buildReconcilers` against the demo's
 * local config repo and the given cluster (kind, k3d, minikube), so the shell shows a command's
 * commit, then the sync that applied it, then the Helm release it deployed.
 *
 * The demo asks no configuration: leader election is off (one process), state stays in memory,
 * the chart's `spec.chart.git` (the tutorial's upstream URL) is an alias of the local repo, and
 * every commit triggers a sync at once (a real setup uses the git webhook or the interval).
 */
import { constants } from "node:fs";
import { access, readdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { type Config, configSchema } from "../config/schema.js";
import { UserError } from "../core/errors.js";
import type { EventSink, GitopsEvent } from "../core/events.js";
import type { Logger } from "../core/ports.js";
import { frozenEnvs } from "../gitops/freezes.js";
import type { GitConfigRepo } from "../gitops/git-config-repo.js";
import type { ReleaseOperations } from "../gitops/operations.js";
import { HttpServer } from "../http/server.js";
import type { KubeClient } from "../kube/client.js";
import type { SyncService } from "../reconciler/sync/service.js";
import { MemoryRecord } from "../state/record.js";
import { buildReconcilers, type Reconcilers } from "./reconcilers.js";

/** The upstream URLs the example HelmReleases name in `spec.chart.git`: the local repo stands in for them. */
export const EXAMPLE_CHART_REPOS = [
  "https://github.com/example/gitops-config",
  "git@github.com:example/gitops-config",
];

export interface DemoClusterOptions {
  kubeconfig: string;
  /** The demo's local config repo (path) and state dir. */
  repoPath: string;
  dir: string;
  /** Name that tags every event and notification (`clusterName`). */
  cluster: string;
  /** A helm binary given with --helm; else looked up (see `findHelm`). */
  helm?: string | undefined;
  images: boolean;
  env: Record<string, string | undefined>;
}

/** The demo's configuration in cluster mode (what a user would write in gitops-bot.yaml). */
export function demoClusterConfig(opts: DemoClusterOptions & { helmBinary: string | undefined }): Config {
  return configSchema.parse({
    clusterName: opts.cluster,
    repo: {
      url: opts.repoPath,
      branch: "main",
      workdir: join(opts.dir, "work"),
      aliases: EXAMPLE_CHART_REPOS,
    },
    sync: { name: "demo", interval: "1m" },
    kube: { kubeconfig: opts.kubeconfig, leaderElection: { enabled: false } },
    helm: {
      enabled: opts.helmBinary !== undefined,
      ...(opts.helmBinary ? { binary: opts.helmBinary } : {}),
      cacheDir: join(opts.dir, "helm"),
      interval: "5m",
    },
    images: { enabled: opts.images, interval: "1m" },
    http: { port: 0 },
  });
}

async function executable(p: string): Promise<boolean> {
  return access(p, constants.X_OK).then(
    () => stat(p).then((s) => s.isFile()),
    () => false,
  );
}

/**
 * The helm binary: `helm` on PATH, else the one the e2e tools build cached
 * (`~/.cache/gitops-bot-tools`, its env.json or the newest `helm-*`), else undefined.
 */
export async function findHelm(env: Record<string, string | undefined>): Promise<string | undefined> {
  for (const dir of (env["PATH"] ?? "").split(delimiter).filter(Boolean)) {
    if (await executable(join(dir, "helm"))) return join(dir, "helm");
  }
  const tools = env["GITOPS_BOT_TOOLS_DIR"] ?? join(env["HOME"] ?? homedir(), ".cache", "gitops-bot-tools");
  try {
    const recorded = JSON.parse(await readFile(join(tools, "env.json"), "utf8")) as { helm?: unknown };
    if (typeof recorded.helm === "string" && (await executable(recorded.helm))) return recorded.helm;
  } catch {
    // no env.json: look for the folders
  }
  const dirs = (await readdir(tools).catch(() => [] as string[])).filter((d) => d.startsWith("helm-"));
  for (const d of dirs.sort().reverse()) {
    if (await executable(join(tools, d, "bin", "helm"))) return join(tools, d, "bin", "helm");
  }
  return undefined;
}

export interface DemoCluster {
  reconcilers: Reconcilers;
  /** Banner lines: what runs against which cluster, and what does not (helm missing). */
  lines: string[];
  /** The demo's events (commands' and reconcilers'): passed on, and a sync triggered after each commit. */
  sink: EventSink;
  stop(): Promise<void>;
}

/** What runs against which cluster, and what does not and why (the banner). */
function bannerLines(
  cluster: string,
  kubeconfig: string,
  helmBinary: string | undefined,
  reconcilers: Reconcilers,
): string[] {
  return [
    `  Cluster "${cluster}" (${kubeconfig}):`,
    reconcilers.sync ? "    sync: on, applies every commit at once (and every minute)" : "    sync: off",
    reconcilers.helm
      ? `    helm: on (${helmBinary}): each synced HelmRelease becomes a Helm release`
      : helmBinary
        ? `    helm: off: ${helmBinary} did not answer \`helm version\`; HelmReleases are not installed`
        : "    helm: off: no helm binary on PATH or in ~/.cache/gitops-bot-tools; install helm (https://helm.sh/docs/intro/install/) or pass --helm PATH",
    reconcilers.images
      ? "    image automation: on, scans the automated workloads' registries every minute"
      : "    image automation: off",
  ];
}

/** Starts the reconcilers against `opts.kubeconfig`; `events` is where their events go. */
export async function startDemoCluster(
  opts: DemoClusterOptions,
  deps: { repo: GitConfigRepo; ops: ReleaseOperations; logger: Logger; events: EventSink },
): Promise<DemoCluster> {
  const kubeconfig = resolve(opts.kubeconfig);
  if (
    !(await stat(kubeconfig).then(
      (s) => s.isFile(),
      () => false,
    ))
  ) {
    throw new UserError(`--kubeconfig ${opts.kubeconfig}: no such file`, {
      code: "no-kubeconfig",
      hint: "Pass the kubeconfig of a kind, k3d or minikube cluster, e.g. `kind get kubeconfig > kind.yaml`.",
    });
  }
  const helmBinary = opts.helm ? resolve(opts.helm) : await findHelm(opts.env);
  if (opts.helm && !(await executable(helmBinary as string))) {
    throw new UserError(`--helm ${opts.helm}: not an executable file`, {
      code: "no-helm",
      hint: "Pass the path of a helm 3 or 4 binary, or leave --helm out to use the one on PATH.",
    });
  }
  const cfg = demoClusterConfig({ ...opts, kubeconfig, helmBinary });
  // @kubernetes/client-node is only loaded here, as serve does.
  const { K8sKubeClient } = await import("../kube/k8s-client.js");
  const kube: KubeClient & { close(): void } = K8sKubeClient.fromOptions({ kubeconfig, env: opts.env });
  const http = HttpServer.fromConfig(cfg.http, { logger: deps.logger });
  // Every commit, a command's or image automation's, is synced at once: what the git push
  // webhook does in a real setup.
  let sync: SyncService | undefined;
  const commits = new Set<GitopsEvent["kind"]>(["command-commit", "auto-release"]);
  const sink: EventSink = {
    emit(ev) {
      deps.events.emit(ev);
      if (sync && commits.has(ev.kind)) void sync.trigger({ reason: "webhook", wait: false });
    },
  };
  let reconcilers: Reconcilers;
  try {
    reconcilers = await buildReconcilers(cfg, {
      repo: deps.repo,
      ops: deps.ops,
      kube,
      sink,
      http,
      logger: deps.logger,
      env: opts.env,
      imageStatus: new MemoryRecord("image-status"),
      // `freeze dev` stops image automation in dev, as in serve.
      frozenEnvs: () => frozenEnvs(deps.repo),
      locate: async (file) => {
        const inst = (await deps.ops.model()).instances.find((i) => i.workload.file === file);
        return inst ? { env: inst.env, app: inst.app } : undefined;
      },
    });
  } catch (err) {
    kube.close();
    throw err;
  }
  sync = reconcilers.sync;
  return {
    reconcilers,
    lines: bannerLines(opts.cluster, kubeconfig, helmBinary, reconcilers),
    sink,
    async stop() {
      await reconcilers.stop?.();
      kube.close();
    },
  };
}
