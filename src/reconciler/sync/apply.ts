import { TransientError } from "../../core/errors.js";
import type { SyncObjectResult } from "../../core/events.js";
import type { Logger } from "../../core/ports.js";
import { KubeApiError, type KubeClient } from "../../kube/client.js";
import { ANN_CREATED, ANN_FORCE, appsOf, type PlanItem, type SyncPlan, setAnn } from "./plan.js";

export interface ApplyOptions {
  /** The sync name: the value of the ownership label. */
  name: string;
  fieldManager: string;
  /** How long to wait for a CRD to become Established (default 30 s). */
  crdTimeoutMs?: number;
}

type Limit = <T>(fn: () => Promise<T>) => Promise<T>;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The apply steps of one sync run, with server-side apply: Namespaces and CRDs first (and the CRDs
 * waited on until Established), then app by app, an app with more than one object to write being
 * dry-run first so that an invalid object stops the whole app. Results and errors are recorded on
 * the plan's items; the first TransientError (API server gone) is kept in `transient`, which stops
 * further app writes and, in the engine, the prune step. Every write checks `signal` first.
 */
export class SyncApplier {
  /** The first TransientError of the run. */
  transient: TransientError | undefined;

  constructor(
    private readonly kube: KubeClient,
    private readonly opts: ApplyOptions,
    private readonly logger: Logger,
    private readonly limit: Limit,
    private readonly signal: AbortSignal,
  ) {}

  private fail(it: PlanItem, err: unknown): void {
    if (err instanceof TransientError) {
      this.transient ??= err;
      return;
    }
    it.error = errorText(err);
  }

  /** Phase 0: Namespaces and CRDs (before the apps are validated: their objects need them). */
  async namespacesAndCrds(plan: SyncPlan): Promise<void> {
    const { pending, failedApps } = plan;
    // Objects not carrying our label: do they exist (adopt, never prune) or not (create)?
    await this.markCreations(pending.filter((p) => !p.live && p.phase === 0));
    for (const it of pending) {
      const blocker = failedApps.get(it.m.app);
      if (it.phase === 0 && blocker) it.error = `not applied: ${blocker} (same app)`;
    }
    await Promise.all(
      pending
        .filter((it) => it.phase === 0 && !it.error)
        .map((it) => this.limit(() => this.applyItem(it).catch((e) => this.fail(it, e)))),
    );
    const newCrds = pending.filter(
      (it) => it.obj.kind === "CustomResourceDefinition" && !it.error && it.result,
    );
    await Promise.all(newCrds.map((it) => this.waitEstablished(it).catch((e) => this.fail(it, e))));
  }

  /** Kinds defined by the CRDs just applied can be resolved now; then who exists among phase 1. */
  async resolveLateKinds(plan: SyncPlan): Promise<void> {
    for (const it of plan.pending) {
      if (it.phase === 1 && !it.info && !it.error) {
        it.info = await this.kube.resource(it.obj.apiVersion, it.obj.kind).catch(() => undefined);
        if (!it.info)
          it.error = `unknown kind ${it.obj.kind} in ${it.obj.apiVersion}: no CRD for it is established`;
        else if (it.info.namespaced && !it.obj.metadata.namespace) it.obj.metadata.namespace = "default";
      }
    }
    await this.markCreations(plan.pending.filter((p) => !p.live && p.phase === 1 && !p.error));
  }

  /** Phase 1, app by app: an app with an invalid object applies nothing. */
  async apps(plan: SyncPlan): Promise<void> {
    const pending = new Set(plan.pending);
    await Promise.all(
      [...appsOf(plan.items).entries()].map(([app, all]) =>
        this.app(
          all.filter((it) => it.phase === 1 && pending.has(it)),
          all,
          plan.failedApps.get(app),
        ),
      ),
    );
  }

  private async app(todo: PlanItem[], all: PlanItem[], failed: string | undefined): Promise<void> {
    const { fieldManager } = this.opts;
    const bad = all.find((it) => it.error);
    const blocker = failed ?? (bad ? `${bad.id}: ${bad.error}` : undefined);
    if (blocker) {
      for (const it of todo) if (!it.error) it.error = `not applied: ${blocker} (same app)`;
      return;
    }
    if (todo.length === 0) return;
    // One object to write is atomic by itself; more are validated together first.
    if (todo.length > 1) {
      await Promise.all(
        todo.map((it) =>
          this.limit(() =>
            this.kube
              .apply(it.obj, { fieldManager, force: true, dryRun: true, signal: this.signal })
              .then(() => undefined)
              // An opted-in replacement fails the dry run by design: the apply replaces it.
              .catch((e) => (this.canReplace(it, e) ? undefined : this.fail(it, e))),
          ),
        ),
      );
      const invalid = todo.find((it) => it.error);
      if (invalid || this.transient) {
        for (const it of todo) {
          if (!it.error && invalid) it.error = `not applied: ${invalid.id} in the same app failed validation`;
        }
        return;
      }
    }
    await Promise.all(todo.map((it) => this.limit(() => this.applyItem(it).catch((e) => this.fail(it, e)))));
  }

  /** For objects without our label: those that do not exist yet get the created-by annotation. */
  private async markCreations(todo: PlanItem[]): Promise<void> {
    const { signal } = this;
    // One unlabelled LIST per kind and namespace, instead of a GET per object.
    const groups = new Map<string, PlanItem[]>();
    for (const it of todo) {
      const g = `${it.obj.apiVersion}|${it.obj.kind}|${it.obj.metadata.namespace ?? ""}`;
      groups.set(g, [...(groups.get(g) ?? []), it]);
    }
    await Promise.all(
      [...groups.values()].map((group) =>
        this.limit(async () => {
          const first = group[0];
          if (!first) return;
          let names: Set<string>;
          if (group.length === 1) {
            const found = await this.kube.get(
              {
                apiVersion: first.obj.apiVersion,
                kind: first.obj.kind,
                namespace: first.obj.metadata.namespace,
                name: first.obj.metadata.name,
              },
              { signal },
            );
            names = new Set(found ? [first.obj.metadata.name] : []);
          } else {
            const existing = await this.kube
              .list(first.obj.apiVersion, first.obj.kind, { namespace: first.obj.metadata.namespace, signal })
              .catch((err) => {
                // A namespace created in this very sync may be missing during a dry run: nothing exists.
                if (err instanceof KubeApiError && err.status === 404) return [];
                throw err;
              });
            names = new Set(existing.map((o) => o.metadata.name));
          }
          for (const it of group) {
            if (!names.has(it.obj.metadata.name)) setAnn(it.obj, ANN_CREATED, this.opts.name);
          }
        }),
      ),
    );
  }

  /** An immutable-field error on an object that opted in to replacement and that we created. */
  private canReplace(it: PlanItem, err: unknown): boolean {
    const ann = it.obj.metadata.annotations ?? {};
    return (
      err instanceof KubeApiError &&
      err.status === 422 &&
      /immutable/i.test(err.message) &&
      (ann[ANN_FORCE] === "true" || ann["kustomize.toolkit.fluxcd.io/force"] === "enabled") &&
      it.live?.metadata.annotations?.[ANN_CREATED] === this.opts.name
    );
  }

  /** Deletes the live object (this uid only) and waits until it is gone, for a re-create. */
  private async removeForReplace(it: PlanItem): Promise<void> {
    const { signal } = this;
    const ref = {
      apiVersion: it.obj.apiVersion,
      kind: it.obj.kind,
      namespace: it.obj.metadata.namespace,
      name: it.obj.metadata.name,
    };
    const uid = it.live?.metadata.uid;
    await this.kube.delete(ref, { uid, propagationPolicy: "Background", signal });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const cur = await this.kube.get(ref, { signal });
      if (!cur || cur.metadata.uid !== uid) return;
      if (Date.now() > deadline) throw new Error(`${it.id} is still being deleted (finalizers?); will retry`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async applyItem(it: PlanItem): Promise<void> {
    const { signal } = this;
    if (signal.aborted) throw new TransientError("sync aborted: leadership lost");
    const apply = () =>
      this.kube.apply(it.obj, { fieldManager: this.opts.fieldManager, force: true, signal });
    let replaced = false;
    let res: Awaited<ReturnType<typeof apply>>;
    try {
      res = await apply();
    } catch (err) {
      if (!this.canReplace(it, err)) throw err;
      this.logger.info(
        { id: it.id, err: (err as Error).message },
        "replacing object (immutable field changed)",
      );
      await this.removeForReplace(it);
      if (signal.aborted) throw new TransientError("sync aborted: leadership lost");
      res = await apply();
      replaced = true;
    }
    const changed = res.created || res.object.metadata.resourceVersion !== it.live?.metadata.resourceVersion;
    const action = replaced ? "configured" : res.created ? "created" : changed ? "configured" : "unchanged";
    it.result = { id: it.id, file: it.m.file, action };
    if (it.drift) it.result.drift = it.drift;
  }

  private async waitEstablished(it: PlanItem): Promise<void> {
    const deadline = Date.now() + (this.opts.crdTimeoutMs ?? 30_000);
    const ref = { apiVersion: it.obj.apiVersion, kind: it.obj.kind, name: it.obj.metadata.name };
    for (;;) {
      const crd = await this.kube.get(ref, { signal: this.signal });
      const conds = ((crd?.status as { conditions?: { type: string; status: string }[] } | undefined)
        ?.conditions ?? []) as { type: string; status: string; message?: string }[];
      if (conds.some((c) => c.type === "Established" && c.status === "True")) return;
      if (Date.now() > deadline) {
        const why = conds.find((c) => c.type === "NamesAccepted" && c.status === "False")?.message;
        throw new Error(`CRD ${it.obj.metadata.name} did not become Established${why ? `: ${why}` : ""}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The results of the desired objects after the apply steps, in item order. */
export function itemResults(plan: SyncPlan): SyncObjectResult[] {
  const objects: SyncObjectResult[] = [];
  for (const it of plan.items) {
    if (it.error) {
      objects.push({ id: it.id, file: it.m.file, action: "failed", error: it.error });
      const l = plan.live.get(it.key);
      if (l) it.live = l;
    } else if (it.result) {
      objects.push(it.result);
    }
  }
  return objects;
}
