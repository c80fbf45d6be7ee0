import { TransientError } from "../../core/errors.js";
import type { SyncObjectResult } from "../../core/events.js";
import { type Logger, nullLogger } from "../../core/ports.js";
import type { ConfigRepo } from "../../gitops/config-repo.js";
import type { KubeClient } from "../../kube/client.js";
import { itemResults, SyncApplier } from "./apply.js";
import { listLive, nextInventory } from "./inventory.js";
import { limiter } from "./limit.js";
import { type LoadedManifests, loadManifests, type SyncPath } from "./manifests.js";
import {
  type Discovery,
  decide,
  desiredSet,
  kindKey,
  kindsOf,
  kindsToList,
  pruneCandidates,
} from "./plan.js";
import { prune } from "./prune.js";
import type { DriftRecord, InventoryEntry } from "./state.js";

export { ANN_CREATED, ANN_FORCE, ANN_HASH, ANN_PRUNE, ANN_SOURCE, LABEL_SYNC } from "./plan.js";

export interface SyncEngineOptions {
  /** The sync name: the value of the ownership label. */
  name: string;
  /** Server-side apply field manager (`gitops-bot`). */
  fieldManager: string;
  paths: SyncPath[];
  prune: boolean;
  driftCorrection: boolean;
  /** Parallel API requests. */
  concurrency: number;
  /** How long to wait for a CRD to become Established (default 30 s). */
  crdTimeoutMs?: number;
}

/** The outcome of one sync run. */
export interface SyncReport {
  revision: string;
  /** Every desired object and every pruned one, with what happened to it. */
  objects: SyncObjectResult[];
  drift: DriftRecord[];
  /** The inventory after this run. */
  inventory: InventoryEntry[];
  /** A TransientError (API server gone mid-sync) stopped the run; pruning was skipped. */
  transient?: TransientError;
  /** Files that were read. */
  files: number;
  /** HelmReleases not applied because the cluster has no CRD for them (the HelmRelease reconciler reads them from git). */
  skipped: { id: string; file: string }[];
}

/**
 * One sync pass: config repo revision -> cluster, with server-side apply (ADR 0003). `run` is the
 * step list; the decisions are pure functions in plan.ts, the writes in apply.ts and prune.ts.
 *
 * 1. Load manifests (a file that does not parse fails its whole app and protects its objects from pruning).
 * 2. List live objects carrying our label, one LIST per kind: unchanged objects (same hash annotation,
 *    all our fields still ours) cost nothing more, so a no-op sync makes no writes.
 * 3. Apply Namespaces and CRDs, wait until the CRDs are Established, then the rest with bounded
 *    concurrency. An app (a file or an app folder) with more than one object to apply is dry-run
 *    first: if any object fails validation, none of it applies.
 * 4. Prune objects we created (annotation), that left git, unless opted out or their path has prune
 *    off. Skipped entirely when the run hit a transient error.
 *
 * Every write checks `signal` first, so a deposed leader stops writing.
 */
export class SyncEngine {
  private cache: { revision: string; loaded: LoadedManifests } | undefined;
  /** Kinds whose skipping was logged: said once per process, not every interval. */
  private readonly toldSkipped = new Set<string>();

  constructor(
    private readonly kube: KubeClient,
    private readonly opts: SyncEngineOptions,
    private readonly logger: Logger = nullLogger,
  ) {}

  async run(
    repo: ConfigRepo,
    revision: string,
    inventory: InventoryEntry[],
    signal: AbortSignal,
  ): Promise<SyncReport> {
    const { name, fieldManager, driftCorrection } = this.opts;
    const limit = limiter(this.opts.concurrency);
    // Phase timings for the debug log: where a slow sync spends its time.
    const t0 = performance.now();
    const ms: Record<string, number> = {};
    const mark = (phase: string) => {
      ms[phase] = Math.round(performance.now() - t0);
    };

    // 1. Load and prepare the desired objects.
    const loaded = await this.load(repo, revision);
    mark("load");
    const desired = desiredSet(loaded, await this.discover(loaded, limit), name);
    this.tellSkipped(desired.skipped);

    // 2. List what is live and decide what to write.
    const live = await listLive(this.kube, kindsToList(desired.items, inventory), name, limit, signal);
    mark("list");
    const plan = decide(desired, live, inventory, { name, fieldManager, driftCorrection });

    // 3. Apply: Namespaces and CRDs, then app by app.
    const applier = new SyncApplier(this.kube, this.opts, this.logger, limit, signal);
    await applier.namespacesAndCrds(plan);
    await applier.resolveLateKinds(plan);
    mark("phase0");
    await applier.apps(plan);
    mark("phase1");
    const objects = [...plan.fileErrors, ...itemResults(plan)];
    let transient = applier.transient;

    // 4. Prune (not on a partial view), then the new inventory.
    let pruned = new Set<string>();
    if (this.opts.prune && !transient) {
      const outcome = await prune(this.kube, pruneCandidates(plan, inventory, this.opts), limit, signal);
      objects.push(...outcome.objects);
      pruned = new Set(outcome.pruned);
      transient ??= outcome.transient;
    }
    const next = nextInventory(plan, inventory, pruned, name, transient !== undefined);
    mark("prune");
    this.logger.debug(
      { revision, objects: objects.length, pending: plan.pending.length, pruned: pruned.size, ms },
      "sync pass finished",
    );
    const skipped = [...desired.skipped.values()].flat();
    return { revision, objects, drift: plan.drift, inventory: next, transient, files: loaded.files, skipped };
  }

  /** One info line per HelmRelease kind the cluster has no CRD for, the first time it is seen. */
  private tellSkipped(skipped: Map<string, { id: string; file: string }[]>): void {
    for (const [kind, objects] of skipped) {
      if (this.toldSkipped.has(kind)) continue;
      this.toldSkipped.add(kind);
      const [apiVersion] = kind.split("|");
      this.logger.info(
        { apiVersion, objects: objects.length, files: objects.slice(0, 10).map((o) => o.file) },
        `the cluster has no HelmRelease CRD for ${apiVersion}: the sync does not apply these HelmReleases (the HelmRelease reconciler reads them from git); install the CRD to have them in the cluster too`,
      );
    }
  }

  /** The manifests of `revision`: a revision's files never change, so they are parsed once. */
  private async load(repo: ConfigRepo, revision: string): Promise<LoadedManifests> {
    if (this.cache?.revision !== revision) {
      this.cache = { revision, loaded: await loadManifests(repo, revision, this.opts.paths) };
    }
    return this.cache.loaded;
  }

  /** Discovery for every kind of the manifests; a TransientError fails the run. */
  private async discover(loaded: LoadedManifests, limit: ReturnType<typeof limiter>): Promise<Discovery> {
    const discovery: Discovery = new Map();
    await Promise.all(
      kindsOf(loaded.manifests).map((k) =>
        limit(async () => {
          try {
            discovery.set(kindKey(k), await this.kube.resource(k.apiVersion, k.kind));
          } catch (err) {
            if (err instanceof TransientError) throw err;
            discovery.set(kindKey(k), { error: err instanceof Error ? err.message : String(err) });
          }
        }),
      ),
    );
    return discovery;
  }
}
