/**
 * `ReleaseService`: the `ReleaseOperations` port over a `ConfigRepo`, as a thin facade. It owns the
 * model cache (one discovery per revision) and history; every writing operation is one file in
 * `./operations/`, run by the `OperationRunner`, which checks up front on the model and again on
 * the HEAD being built inside the commit's edit (so a retry after a rejected push re-checks, and a
 * failing check commits nothing).
 */
import { type Clock, systemClock } from "../core/ports.js";
import type { AppInstance, ReleaseModel } from "../core/release.js";
import type { ConfigRepo } from "./config-repo.js";
import { type DiscoveryOptions, discoverFromRepo } from "./discovery.js";
import { readHistory } from "./history.js";
import { autoReleaseOp } from "./operations/auto-release.js";
import { automateOp } from "./operations/automate.js";
import { deautomateOp } from "./operations/deautomate.js";
import { freezeOp } from "./operations/freeze.js";
import { resolveInstance } from "./operations/guards.js";
import { lockOp } from "./operations/lock.js";
import { policyOp } from "./operations/policy.js";
import { planPromotion, promoteOp } from "./operations/promote.js";
import { releaseOp } from "./operations/release.js";
import { rollbackOp } from "./operations/rollback.js";
import { OperationRunner } from "./operations/runner.js";
import { unfreezeOp } from "./operations/unfreeze.js";
import { unlockOp } from "./operations/unlock.js";
import type {
  Actor,
  AutoReleaseResult,
  AutoReleaseUpdate,
  HistoryEntry,
  OpOptions,
  OpResult,
  PromotionPlan,
  ReleaseOperations,
} from "./operations.js";

/** Kept for callers of the old names: the one "did you mean" lives in `core/suggest.ts`. */
export { didYouMean as suggest } from "../core/suggest.js";
/** The auto-release types now live on the port; re-exported for existing importers. */
export type { AutoReleaseResult, AutoReleaseSkip, AutoReleaseUpdate } from "./operations.js";

/** How to build a `ReleaseService`: the repo, and where and how to find environments. */
export interface ReleaseServiceOptions {
  repo: ConfigRepo;
  clock?: Clock;
  /** Folder whose sub-folders are the environments (default `releases`). */
  releasesPath?: string;
  envsFrom?: "folders" | "namespaces";
}

/** Implements `ReleaseOperations` on a `ConfigRepo` (see the file comment). */
export class ReleaseService implements ReleaseOperations {
  private readonly repo: ConfigRepo;
  private readonly discovery: DiscoveryOptions;
  private readonly runner: OperationRunner;

  private cached: { revision: string; model: Promise<ReleaseModel> } | undefined;

  constructor(opts: ReleaseServiceOptions) {
    this.repo = opts.repo;
    this.discovery = {};
    if (opts.releasesPath !== undefined) this.discovery.releasesPath = opts.releasesPath;
    if (opts.envsFrom !== undefined) this.discovery.envsFrom = opts.envsFrom;
    const ctx = { repo: this.repo, clock: opts.clock ?? systemClock, discovery: this.discovery };
    this.runner = new OperationRunner(ctx, () => this.model());
  }

  /** The model at the current head (re-synced). */
  async model(): Promise<ReleaseModel> {
    const head = await this.repo.sync();
    // The model is a pure function of the revision: read-only commands at an unchanged head reuse
    // it instead of re-parsing every manifest. Callers treat the model as read-only.
    if (this.cached?.revision !== head) {
      const model = discoverFromRepo(this.repo, { ...this.discovery, at: head });
      this.cached = { revision: head, model };
      model.catch(() => {
        if (this.cached?.model === model) this.cached = undefined;
      });
    }
    return this.cached.model;
  }

  /** Finds one instance or throws a helpful `UserError` (unknown name, app not in env, broken file). */
  resolve(model: ReleaseModel, app: string, env: string): AppInstance {
    return resolveInstance(model, app, env);
  }

  release(
    a: { app: string; env: string; tag: string; container?: string; force?: boolean } & OpOptions,
  ): Promise<OpResult> {
    return this.runner.run(releaseOp, a);
  }

  async plan(a: { app: string; from: string; to: string }): Promise<PromotionPlan> {
    return planPromotion(await this.model(), a);
  }

  promote(a: { app: string; from: string; to: string; force?: boolean } & OpOptions): Promise<OpResult> {
    return this.runner.run(promoteOp, a);
  }

  rollback(a: { app: string; env: string; to?: string } & OpOptions): Promise<OpResult> {
    return this.runner.run(rollbackOp, a);
  }

  lock(a: { app: string; env: string } & OpOptions): Promise<OpResult> {
    return this.runner.run(lockOp, a);
  }

  unlock(a: { app: string; env: string } & OpOptions): Promise<OpResult> {
    return this.runner.run(unlockOp, a);
  }

  automate(a: { app: string; env: string; filter?: string } & OpOptions): Promise<OpResult> {
    return this.runner.run(automateOp, a);
  }

  deautomate(a: { app: string; env: string } & OpOptions): Promise<OpResult> {
    return this.runner.run(deautomateOp, a);
  }

  policy(a: { app: string; env: string; container: string; filter: string } & OpOptions): Promise<OpResult> {
    return this.runner.run(policyOp, a);
  }

  freeze(a: { env: string } & OpOptions): Promise<OpResult> {
    return this.runner.runEnv(freezeOp, a);
  }

  unfreeze(a: { env: string } & OpOptions): Promise<OpResult> {
    return this.runner.runEnv(unfreezeOp, a);
  }

  autoRelease(a: {
    updates: AutoReleaseUpdate[];
    actor: Actor;
    dryRun?: boolean;
  }): Promise<AutoReleaseResult> {
    return this.runner.runBatch(autoReleaseOp, a.updates, a);
  }

  async history(a: { app: string; env: string; limit?: number }): Promise<HistoryEntry[]> {
    const inst = resolveInstance(await this.model(), a.app, a.env);
    const recs = await readHistory(this.repo, inst, { ...this.discovery, limit: a.limit ?? 20 });
    return recs.map(({ previous: _p, chartPrevious: _c, parents: _x, ...entry }) => entry);
  }
}
