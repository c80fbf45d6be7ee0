import { correlationId } from "../../core/errors.js";
import type { AutoReleaseEvent, CommitRef, GitopsEvent, ReconcilerEvent } from "../../core/events.js";
import { type Clock, systemClock } from "../../core/ports.js";
import { findInstance, type ReleaseModel } from "../../core/release.js";
import type { Actor, ReleaseOperations } from "../../gitops/operations.js";
import { resourceId } from "../../gitops/trailers.js";
import { type Freeze, type ImageDecision, planImageUpdates, wantedScans } from "../../images/plan.js";
import type { ImageScanner } from "../../images/scan.js";
import { notifiedRepositoryIs, type ScanRequest } from "../../images/scan-result.js";
import type { Condition } from "../conditions.js";
import type { Description, Notice, ReconcileContext, ReconcileResult, Reconciler } from "../controller.js";
import { findingText, ImageReasons, imageFindings, recordedCondition } from "./conditions.js";
import type { ImageState, ImageStateStore } from "./state.js";

/** A repository a registry webhook named (`host/path`, as the notification spells it) and its tags. */
export interface NotifiedPush {
  repository: string;
  tags: readonly string[];
}

/** Why a cycle runs. */
export interface ImageRequest {
  reason: "start" | "interval" | "retry" | "webhook" | "command";
  /** What registry webhooks named: their re-pushed tags are read again, and a `webhook` cycle lists
   * only these repositories (the others reuse their last listing, see `ScanOptions.relist`). */
  notified?: readonly NotifiedPush[];
  /** Who asked (the registry that sent a webhook, a chat user), for logs. */
  actor?: string;
}

/** Two waiting requests as one: a webhook cycle only when both are (naming both's repositories),
 * else the other one (a full cycle); the notified tags are kept either way. */
export function mergeImageRequests(queued: ImageRequest, incoming: ImageRequest): ImageRequest {
  const notified = [...(queued.notified ?? []), ...(incoming.notified ?? [])];
  const full = incoming.reason !== "webhook" ? incoming : queued.reason !== "webhook" ? queued : incoming;
  return { ...full, ...(notified.length > 0 ? { notified } : {}) };
}

/** The scans a cycle for `req` makes: which repositories it lists (`relist`, none: all), having
 * forgotten the re-pushed tags a webhook named. */
function scanScope(
  req: ImageRequest,
  wanted: readonly ScanRequest[],
  scanner: ImageScanner,
): { relist?: ReadonlySet<string> } {
  const matched = new Set<string>();
  for (const n of req.notified ?? []) {
    for (const w of wanted) {
      if (!notifiedRepositoryIs(n.repository, w.repository)) continue;
      matched.add(w.repository.key);
      for (const t of n.tags) scanner.cache.forgetTag(w.repository.key, t);
    }
  }
  // A webhook naming no repository automation uses still scans them all (as an interval would): a
  // host spelt in a way not matched must not make the webhook useless.
  return req.reason === "webhook" && matched.size > 0 ? { relist: matched } : {};
}

/** Frozen envs (the freeze record): names, or names with who froze them and why. */
export type FrozenEnvs = ReadonlySet<string> | ReadonlyMap<string, Freeze>;

/** The frozen envs as the planner takes them (none when `f` is undefined). */
export function frozenMap(f: FrozenEnvs | undefined): Map<string, Freeze> {
  if (!f) return new Map();
  return f instanceof Map ? new Map(f) : new Map([...(f as ReadonlySet<string>)].map((e) => [e, {}]));
}

export interface ImageReconcilerDeps {
  ops: Pick<ReleaseOperations, "model" | "autoRelease">;
  scanner: ImageScanner;
  store: ImageStateStore;
  /** Who the commits are by (the bot's identity; the committer is always the bot). */
  actor: Actor;
  clusterName: string;
  /** The envs frozen at `revision` (the one the cycle plans at; default: none). Read every cycle;
   * it throws when it cannot tell (then nothing is released). */
  frozenEnvs?: (revision?: string) => Promise<FrozenEnvs>;
  clock?: Clock;
}

/** One change a cycle committed. */
export interface AppliedChange {
  env: string;
  app: string;
  container: string;
  image: string;
  from: string;
  to: string;
  filter: string;
  /** `namespace:kind/name`. */
  workload: string;
}

/** What a cycle hands to `describe`. */
export interface ImagePayload {
  commit?: CommitRef;
  applied: AppliedChange[];
  decisions: ImageDecision[];
}

/**
 * `Reconciler` for image automation: one key (`images`), one cycle per run. Each cycle loads the
 * release model at HEAD and the frozen envs, scans the repositories automation needs
 * (`wantedScans`, each once), plans (`planImageUpdates`: never backwards, never on a failed
 * listing, never locked, frozen or non-automated workloads) and commits every update in ONE commit
 * through `ReleaseOperations.autoRelease` (re-checked on the HEAD being built, pushed with the
 * config repo's retry). Registry failures make the cycle `failed` (backoff) while the other images
 * still move; containers waiting for a fixed input (invalid filter, cannot order, vanished tag)
 * are `stalled` findings, announced once each.
 */
export class ImageReconciler implements Reconciler<ImageRequest, ImagePayload> {
  readonly name = "image" as const;
  /** An unreadable freeze record needs a fixed file: retried at the interval, not with backoff. */
  readonly noBackoff: ReadonlySet<string> = new Set([ImageReasons.FreezesUnreadable]);
  private state: ImageState | undefined;
  private readonly clock: Clock;
  /** The plan of the last cycle, for `images` and status pages. */
  last: { time: string; decisions: ImageDecision[] } | undefined;

  constructor(private readonly deps: ImageReconcilerDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  key(): string {
    return "images";
  }

  merge(queued: ImageRequest, incoming: ImageRequest): ImageRequest {
    return mergeImageRequests(queued, incoming);
  }

  reset(): void {
    this.state = undefined;
  }

  async restore(): Promise<Condition | undefined> {
    this.state ??= await this.deps.store.load();
    return recordedCondition(this.state);
  }

  /** The frozen envs now, as the planner takes them. */
  async frozen(revision?: string): Promise<Map<string, Freeze>> {
    return frozenMap(await this.deps.frozenEnvs?.(revision));
  }

  async reconcile(req: ImageRequest, ctx: ReconcileContext): Promise<ReconcileResult<ImagePayload>> {
    const { ops, scanner } = this.deps;
    this.state ??= await this.deps.store.load().catch(() => ({}));
    let model: ReleaseModel;
    let frozen: Map<string, Freeze>;
    try {
      model = await ops.model();
    } catch (err) {
      return this.finish(ctx, {
        status: "failed",
        reason: ImageReasons.ConfigRepoUnavailable,
        message: `cannot read the config repo: ${(err as Error).message}`,
      });
    }
    try {
      frozen = await this.frozen(model.revision);
    } catch (err) {
      // Not knowing which envs are frozen stops all automation (never guess "none").
      return this.finish(ctx, {
        status: "failed",
        reason: ImageReasons.FreezesUnreadable,
        message: `image automation stopped: ${(err as Error).message}`,
        observedRevision: model.revision,
      });
    }
    const wanted = wantedScans(model.instances, frozen);
    const scope = scanScope(req, wanted, scanner);
    ctx.logger.debug(
      {
        reason: req.reason,
        notified: req.notified?.map((n) => n.repository),
        relist: scope.relist ? [...scope.relist] : "all",
        actor: req.actor,
        head: model.revision,
      },
      "image scan",
    );
    const scans = await scanner.scan(wanted, scope);
    const plan = planImageUpdates({ instances: model.instances, frozen, scans });
    this.last = { time: this.clock.now().toISOString(), decisions: plan.decisions };
    const permanent = new Set(
      [...scans.values()].flatMap((x) => (!x.ok && x.permanent ? [x.repository.key] : [])),
    );
    const findings = imageFindings(plan.decisions, model.problems, permanent);
    const base = { findings, observedRevision: model.revision, correlationId: model.revision };
    const released = await this.release(model, plan, ctx);
    if (typeof released === "string") {
      const payload: ImagePayload = { applied: [], decisions: plan.decisions };
      return this.finish(ctx, {
        ...base,
        payload,
        status: "failed",
        reason: ImageReasons.ConfigRepoUnavailable,
        message: `cannot commit the auto-release: ${released}`,
      });
    }
    const payload = released;
    const result = { ...base, payload, changed: payload.applied.length > 0 };
    if (payload.commit) result.correlationId = payload.commit.sha;
    const registry = findings.registry ?? [];
    if (registry.length > 0) {
      const message = `registry unavailable: ${registry.map(findingText).sort().join("; ")}`;
      return this.finish(ctx, {
        ...result,
        status: "failed",
        reason: ImageReasons.RegistryUnavailable,
        message,
      });
    }
    if (payload.commit) {
      const message = `${payload.commit.sha.slice(0, 7)}: ${payload.applied.length} image(s) released`;
      return this.finish(ctx, { ...result, status: "ready", reason: ImageReasons.Released, message });
    }
    return this.finish(ctx, {
      ...result,
      status: "ready",
      reason: ImageReasons.UpToDate,
      message: "up to date",
    });
  }

  /** Commits every update of the plan in one commit; the payload, or the error text when the commit failed. */
  private async release(
    model: ReleaseModel,
    plan: ReturnType<typeof planImageUpdates>,
    ctx: ReconcileContext,
  ): Promise<ImagePayload | string> {
    const payload: ImagePayload = { applied: [], decisions: plan.decisions };
    if (plan.updates.length === 0 || ctx.signal.aborted) return payload;
    try {
      const r = await this.deps.ops.autoRelease({ updates: plan.updates, actor: this.deps.actor });
      for (const s of r.skipped) ctx.logger.info({ update: s }, "auto-release skipped on the new HEAD");
      if (!r.commit.sha) return payload;
      payload.commit = { sha: r.commit.sha, subject: r.subject, author: this.deps.actor.identity.name };
      payload.applied = r.applied.map((a) => changeOf(model, plan.decisions, a));
      const time = this.clock.now().toISOString();
      this.state = { ...this.state, lastCommit: { sha: r.commit.sha, subject: r.subject, time } };
      return payload;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** Saves the condition in the status record (best effort) and returns the result. */
  private async finish(
    ctx: ReconcileContext,
    r: ReconcileResult<ImagePayload>,
  ): Promise<ReconcileResult<ImagePayload>> {
    const next: ImageState = { ...this.state, status: r.status };
    if (r.reason) next.reason = r.reason;
    if (r.message) next.message = r.message;
    if (r.findings) next.findings = r.findings;
    if (r.observedRevision) next.revision = r.observedRevision;
    this.state = next;
    if (!ctx.signal.aborted) {
      await this.deps.store
        .save(next)
        .catch((err) => ctx.logger.debug({ err }, "could not save the image state"));
    }
    return r;
  }

  /**
   * One `auto-release` event per committed change (from -> to, the commit), and one `stalled`
   * reconciler event per container or file newly waiting for a fix. A registry failure and its
   * recovery are the controller's transition events (the message names workload, file, registry).
   */
  async describe(n: Notice<ImageRequest, ImagePayload>): Promise<Description | undefined> {
    const events: GitopsEvent[] = [];
    const p = n.result.payload;
    const now = this.clock.now().toISOString();
    const commit = p?.commit;
    if (commit) for (const c of p.applied) events.push(this.released(c, commit, now));
    for (const kind of ["stalled", "problems"] as const) {
      if (!n.newFindings.has(kind)) continue;
      const before = new Set(n.previous?.findings?.[kind] ?? []);
      for (const item of n.result.findings?.[kind] ?? []) {
        if (!before.has(item)) events.push(this.stalled(kind, item, now));
      }
    }
    return events.length > 0 ? { events, coversTransition: false } : undefined;
  }

  private released(c: AppliedChange, commit: CommitRef, now: string): AutoReleaseEvent {
    return {
      kind: "auto-release",
      id: correlationId(),
      time: now,
      cluster: this.deps.clusterName,
      env: c.env,
      app: c.app,
      correlationId: commit.sha,
      image: c.image,
      from: c.from,
      to: c.to,
      policy: c.filter,
      commit,
      workload: c.workload,
    };
  }

  private stalled(kind: "stalled" | "problems", item: string, now: string): ReconcilerEvent {
    const id = item.slice(0, Math.max(0, item.indexOf("|")));
    const ev: ReconcilerEvent = {
      kind: "reconciler",
      id: correlationId(),
      time: now,
      cluster: this.deps.clusterName,
      correlationId: `images/${id}`,
      reconciler: "image",
      state: "stalled",
      message:
        kind === "stalled"
          ? `image automation waits: ${findingText(item)}`
          : `image automation cannot read ${id}: ${findingText(item)}`,
    };
    const [env, app] = kind === "stalled" ? id.split("/") : [];
    if (env) ev.env = env;
    if (app) ev.app = app;
    return ev;
  }
}

function changeOf(
  model: ReleaseModel,
  decisions: readonly ImageDecision[],
  a: { env: string; app: string; container: string; tag: string; repository: string; from: string },
): AppliedChange {
  const d = decisions.find((x) => x.env === a.env && x.app === a.app && x.container === a.container);
  const inst = findInstance(model, a.app, a.env);
  return {
    env: a.env,
    app: a.app,
    container: a.container,
    image: a.repository,
    from: a.from,
    to: a.tag,
    filter: d?.filter ?? "glob:*",
    workload: inst ? resourceId(inst.workload) : `${a.env}/${a.app}`,
  };
}
