import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../../config/schema.js";
import type { EventSink } from "../../core/events.js";
import { type Clock, type HelmRevisionSummary, type Logger, nullLogger } from "../../core/ports.js";
import type { Redactor } from "../../core/redact.js";
import type { ConfigRepo } from "../../gitops/config-repo.js";
import { HelmRepositoryClient } from "../../helm/chart-source.js";
import { HelmCli, type HelmClient } from "../../helm/cli.js";
import { CHART_LABEL } from "../../helm/decide.js";
import { HelmStorage, type SecretsPort } from "../../helm/storage.js";
import type { KubeClient } from "../../kube/client.js";
import type { Controller, ReconcileResult } from "../controller.js";
import { ReconcilerService, type ReconcilerServiceOptions } from "../service.js";
import { limiter } from "../sync/limit.js";
import { GitChartRepos } from "./git-charts.js";
import { HelmReleaseStatusWriter } from "./hr-status.js";
import { type HelmPayload, HelmReconciler, type HelmRequest } from "./reconciler.js";
import { HelmStateStore, type HelmStatusReader } from "./state.js";

/** The field manager of the bot's writes to HelmRelease status and its record. */
export const HELM_FIELD_MANAGER = "gitops-bot-helm";

export interface HelmServiceDeps {
  repo: ConfigRepo;
  kube: KubeClient;
  sink: EventSink;
  /** The revision the sync last applied (its status record). */
  appliedRevision: () => Promise<string | undefined>;
  logger?: Logger;
  clock?: Clock;
  leader?: () => string | undefined;
  redactor?: Redactor;
  /** A HelmClient other than the real CLI (the benchmark's recorder wraps it). */
  helm?: HelmClient;
  /** Wraps the real CLI this service builds (serve counts and times its operations). */
  wrapHelm?: (cli: HelmClient) => HelmClient;
  /** Process environment (in-cluster helm needs KUBERNETES_SERVICE_*). */
  env?: Record<string, string | undefined>;
  locate?: (file: string) => Promise<{ env?: string; app?: string } | undefined>;
}

/** What `helm version` said, or why helm cannot run. */
export async function probeHelm(
  binary: string,
): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    execFile(binary, ["version", "--short"], { timeout: 10_000 }, (err, stdout) => {
      if (!err) return resolve({ ok: true, version: stdout.trim() });
      const code = (err as NodeJS.ErrnoException).code;
      resolve({
        ok: false,
        error:
          code === "ENOENT"
            ? `the helm binary ${JSON.stringify(binary)} was not found: install helm (v3 or v4) on PATH or set helm.binary`
            : `${binary} version failed: ${err.message.split("\n")[0]}; check helm.binary`,
      });
    });
  });
}

/** The real helm CLI with isolated homes; in a cluster it gets the service-account environment. */
function helmCli(
  cfg: Pick<Config, "helm" | "kube">,
  deps: Pick<HelmServiceDeps, "env" | "redactor">,
  cacheDir: string,
): HelmCli {
  const env = deps.env ?? {};
  const passEnv: Record<string, string> = {};
  for (const k of ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG"]) {
    const v = env[k];
    if (v) passEnv[k] = v;
  }
  return new HelmCli({
    binary: cfg.helm.binary,
    home: join(cacheDir, "home"),
    ...(cfg.kube.kubeconfig ? { kubeconfig: cfg.kube.kubeconfig } : {}),
    ...(deps.redactor ? { redactor: deps.redactor } : {}),
    env: passEnv,
  });
}

/**
 * The HelmRelease reconciler: the `ReconcilerService` configured with the `HelmReconciler`, the
 * real helm CLI, Helm storage and the status record. It runs while `lead()`ed (under the leader
 * elector, with the sync); `revisionApplied` is the sync's hook; `retry` is the chat command's
 * way in; `drain` waits for running helm operations before the lease is released.
 */
export class HelmService {
  readonly reconciler: HelmReconciler;
  readonly status: HelmStatusReader;
  private readonly service: ReconcilerService<HelmRequest, HelmPayload>;
  private readonly logger: Logger;
  private readonly store: HelmStateStore;
  private readonly storage: HelmStorage;
  /** Clones of the chart repositories other than the config repo. */
  readonly gitCharts: GitChartRepos;
  private active = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly cfg: Pick<Config, "helm" | "sync" | "repo" | "clusterName" | "kube">,
    deps: HelmServiceDeps,
  ) {
    this.logger = (deps.logger ?? nullLogger).child({ component: "helm" });
    const cacheDir = cfg.helm.cacheDir ?? join(tmpdir(), `gitops-bot-helm-${cfg.sync.name}`);
    const cli = (): HelmClient => {
      const real = helmCli(cfg, deps, cacheDir);
      return deps.wrapHelm ? deps.wrapHelm(real) : real;
    };
    const helm = deps.helm ?? cli();
    this.gitCharts = new GitChartRepos({
      cacheDir: join(cacheDir, "git-repos"),
      credentials: cfg.helm.gitCredentials,
      ...(cfg.repo.ssh ? { ssh: cfg.repo.ssh } : {}),
      ...(deps.redactor ? { redactor: deps.redactor } : {}),
      // One fetch per URL per pass: a pass of unchanged releases takes seconds, the interval minutes.
      maxAgeMs: Math.min(30_000, Math.floor(cfg.helm.interval / 2)),
    });
    const storage = new HelmStorage(deps.kube as unknown as SecretsPort);
    this.storage = storage;
    const store = new HelmStateStore(deps.kube, {
      namespace: cfg.sync.namespace,
      name: cfg.sync.name,
      fieldManager: HELM_FIELD_MANAGER,
    });
    this.status = store;
    this.store = store;
    const limit = limiter(cfg.helm.concurrency);
    const tracked = <T>(fn: () => Promise<T>): Promise<T> =>
      limit(async () => {
        this.active++;
        try {
          return await fn();
        } finally {
          this.active--;
          if (this.active === 0) for (const w of this.idle.splice(0)) w();
        }
      });
    this.reconciler = new HelmReconciler({
      repo: deps.repo,
      store,
      status: new HelmReleaseStatusWriter(deps.kube, HELM_FIELD_MANAGER),
      step: {
        kube: deps.kube,
        helm,
        storage,
        charts: {
          configRepo: { url: cfg.repo.url, aliases: cfg.repo.aliases, tree: deps.repo },
          otherGit: (url, ref, file) => this.gitCharts.checkout(url, ref, file),
          repositories: new HelmRepositoryClient({ cacheDir: join(cacheDir, "charts") }),
          helm,
          cacheDir: join(cacheDir, "charts"),
        },
        ...(cfg.helm.timeout !== undefined ? { maxTimeout: Math.ceil(cfg.helm.timeout / 1000) } : {}),
        limit: tracked,
      },
      desired: {
        paths: cfg.sync.paths,
        prune: cfg.sync.prune,
        repo: { url: cfg.repo.url, aliases: cfg.repo.aliases },
      },
      v2: cfg.helm.v2,
      appliedRevision: deps.appliedRevision,
      enqueue: (req) => void this.service.controller.enqueue(req),
      known: (key) => this.service.controller.status(key).status !== "unknown",
      clusterName: cfg.clusterName,
      logger: this.logger,
      ...(deps.locate ? { locate: deps.locate } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
    const opts: ReconcilerServiceOptions<HelmRequest> = {
      noun: "helm",
      verb: "reconciles Helm releases",
      intervalMs: cfg.helm.interval,
      initial: () => [{ type: "scan", reason: "start" }],
      requeueObject: (req, why) =>
        req.type === "scan"
          ? { type: "scan", reason: why }
          : {
              type: "release",
              key: req.key,
              revision: this.reconciler.latestRevision ?? req.revision,
              reason: why,
            },
      sink: deps.sink,
      clusterName: cfg.clusterName,
      logger: this.logger,
    };
    if (deps.clock) opts.clock = deps.clock;
    if (deps.leader) opts.leader = deps.leader;
    this.service = new ReconcilerService(this.reconciler, opts);
  }

  get controller(): Controller<HelmRequest, HelmPayload> {
    return this.service.controller;
  }

  lead(signal?: AbortSignal): void {
    this.service.lead(signal);
  }

  pause(): void {
    this.service.pause();
  }

  /** Resolves when no helm operation runs, or after `timeoutMs` (then a running one is left to finish on its own). */
  async drain(timeoutMs = this.cfg.helm.timeout ?? 300_000): Promise<boolean> {
    if (this.active === 0) return true;
    this.logger.info({ running: this.active }, "waiting for running helm operations before stopping");
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<boolean>((r) => this.idle.push(() => r(true))),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!done)
      this.logger.warn(
        { running: this.active },
        "helm operations still running at stop; they are recovered at the next start",
      );
    return done;
  }

  /** Stops the chart clones' git processes (the clones stay on disk for the next start). */
  async close(): Promise<void> {
    await this.gitCharts.close();
  }

  /** The sync applied `revision`: reconcile its HelmReleases (no-op when not leading). */
  revisionApplied(revision: string): void {
    if (!this.service.controller.running) return;
    void this.service.controller.enqueue({ type: "scan", revision, reason: "sync" });
  }

  /** Scans the latest applied revision now and waits for the scan (not for the releases). */
  async scan(revision?: string): Promise<ReconcileResult<HelmPayload> | undefined> {
    const r = await this.service.trigger({
      type: "scan",
      reason: "command",
      ...(revision ? { revision } : {}),
    });
    return r.result;
  }

  /** Reconciles one HelmRelease now, forgetting earlier failures of its chart+values (`retry`). */
  async retry(
    hr: { namespace: string; name: string },
    opts: { actor?: string; wait?: boolean } = {},
  ): Promise<{ accepted: boolean; message: string; result?: ReconcileResult<HelmPayload> }> {
    const key = `${hr.namespace}/${hr.name}`;
    const revision = this.reconciler.latestRevision ?? (await this.scan())?.observedRevision;
    if (!revision && this.service.controller.running) {
      return { accepted: false, message: "no revision has been synced yet: nothing to retry" };
    }
    return this.service.trigger(
      {
        type: "release",
        key,
        revision: revision ?? "",
        reason: "retry",
        retry: Date.now(),
        ...(opts.actor ? { actor: opts.actor } : {}),
      },
      opts.wait === false ? { wait: false } : {},
    );
  }

  /** The stored revisions of a HelmRelease's release (from our record: release name and namespace). */
  async revisions(hr: { namespace: string; name: string }): Promise<HelmRevisionSummary[]> {
    const rec = await this.store.get(`${hr.namespace}/${hr.name}`);
    if (!rec) return [];
    const revs = await this.storage.revisions(rec.targetNamespace, rec.releaseName);
    return revs.map((r) => {
      const at = Number(r.labels.modifiedAt ?? r.labels.createdAt);
      const chart = r.labels[CHART_LABEL];
      return {
        revision: r.version,
        status: r.status,
        ...(Number.isFinite(at) && at > 0 ? { time: new Date(at * 1000).toISOString() } : {}),
        ...(chart ? { chart: chart.slice(0, 12) } : {}),
      };
    });
  }

  /** Reconciles one HelmRelease now (same revision, no retry semantics); resolves with its result. */
  async reconcileNow(hr: {
    namespace: string;
    name: string;
  }): Promise<ReconcileResult<HelmPayload> | undefined> {
    const revision = this.reconciler.latestRevision;
    if (!revision) return undefined;
    const r = await this.service.trigger({
      type: "release",
      key: `${hr.namespace}/${hr.name}`,
      revision,
      reason: "command",
    });
    return r.result;
  }
}
