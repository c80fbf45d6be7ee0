import { createHash } from "node:crypto";
import { TransientError } from "../../core/errors.js";
import type { SyncObjectResult } from "../../core/events.js";
import { type Logger, nullLogger } from "../../core/ports.js";
import type { ConfigRepo } from "../../gitops/config-repo.js";
import {
  KubeApiError,
  type KubeClient,
  type KubeObject,
  objectId,
  type ResourceInfo,
} from "../../kube/client.js";
import { lostFields } from "./drift.js";
import { limiter } from "./limit.js";
import { type LoadedManifests, loadManifests, type Manifest, type SyncPath } from "./manifests.js";
import { type DriftRecord, type InventoryEntry, invKey } from "./state.js";

/** Label on every object the sync applied; its value is the sync name (one per source). */
export const LABEL_SYNC = "gitops-bot.dev/sync";
/** Hash of the desired object as last applied: equal hash = git unchanged = skip. */
export const ANN_HASH = "gitops-bot.dev/hash";
/** The manifest file an object came from. */
export const ANN_SOURCE = "gitops-bot.dev/source";
/** Set only on objects this sync created (never on adopted ones): only those are ever pruned. */
export const ANN_CREATED = "gitops-bot.dev/created-by";
/** `disabled` on a live object opts it out of pruning (Flux's annotation is honoured too). */
export const ANN_PRUNE = "gitops-bot.dev/prune";
const PRUNE_OPT_OUT = [ANN_PRUNE, "kustomize.toolkit.fluxcd.io/prune"];
/** `"true"` in a manifest: an immutable-field change replaces (deletes and re-creates) the object,
 * if this sync created it. Flux's `kustomize.toolkit.fluxcd.io/force: enabled` is honoured too. */
export const ANN_FORCE = "gitops-bot.dev/force";

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
}

interface Item {
  m: Manifest;
  id: string;
  key: string;
  /** The object as it will be applied (labels, annotations, namespace defaulted). */
  obj: KubeObject;
  hash: string;
  info?: ResourceInfo;
  phase: 0 | 1;
  live?: KubeObject;
  error?: string;
  result?: SyncObjectResult;
  drift?: string[];
}

const PHASE0 = new Set(["Namespace", "CustomResourceDefinition"]);

/** Canonical JSON (sorted keys), so the hash does not depend on key order in the YAML. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * One sync pass: config repo revision -> cluster, with server-side apply.
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
    const { name, fieldManager } = this.opts;
    const limit = limiter(this.opts.concurrency);
    // Phase timings for the debug log: where a slow sync spends its time.
    const t0 = performance.now();
    const ms: Record<string, number> = {};
    const mark = (phase: string) => {
      ms[phase] = Math.round(performance.now() - t0);
    };
    // A revision's files never change: re-parse only when the revision moves.
    if (this.cache?.revision !== revision) {
      this.cache = { revision, loaded: await loadManifests(repo, revision, this.opts.paths) };
    }
    const loaded = this.cache.loaded;
    mark("load");
    const objects: SyncObjectResult[] = [];
    const drift: DriftRecord[] = [];
    let transient: TransientError | undefined;
    const failedFiles = new Set(loaded.errors.map((e) => e.file));
    const failedApps = new Map<string, string>();
    for (const e of loaded.errors) {
      objects.push({ id: `file:${e.file}`, file: e.file, action: "failed", error: e.message });
      failedApps.set(e.app, `${e.file}: ${e.message}`);
    }

    // CRDs in this commit define kinds the API server may not serve yet.
    const crdKinds = new Map<string, boolean>();
    for (const m of loaded.manifests) {
      if (m.object.kind !== "CustomResourceDefinition") continue;
      const spec = m.object.spec as
        | { group?: string; names?: { kind?: string }; scope?: string; versions?: { name: string }[] }
        | undefined;
      for (const v of spec?.versions ?? []) {
        crdKinds.set(`${spec?.group}/${v.name}|${spec?.names?.kind}`, spec?.scope === "Namespaced");
      }
    }

    // Prepare the desired objects.
    // Promise.all keeps the manifests' order (files sorted, documents in file order).
    const items = await Promise.all(loaded.manifests.map((m) => limit(() => this.prepare(m, crdKinds))));
    const byKey = new Map<string, Item>();
    for (const it of items) {
      const prev = byKey.get(it.key);
      if (prev) {
        it.error = `${it.id} is also defined in ${prev.m.file}`;
        continue;
      }
      byKey.set(it.key, it);
    }
    // Ignored objects keep whatever is live: never pruned (a missing namespace means "default",
    // or cluster-scoped: both keys are protected).
    const ignoredKeys = new Set(
      loaded.ignored.flatMap((m) =>
        (m.object.metadata.namespace ? [m.object.metadata.namespace] : ["", "default"]).map((namespace) =>
          invKey({
            apiVersion: m.object.apiVersion,
            kind: m.object.kind,
            namespace,
            name: m.object.metadata.name,
          }),
        ),
      ),
    );

    // Live objects we labelled, one LIST per kind (desired kinds and inventory kinds).
    const kinds = new Map<string, { apiVersion: string; kind: string }>();
    for (const it of items) if (it.info) kinds.set(`${it.obj.apiVersion}|${it.obj.kind}`, it.obj);
    for (const e of inventory) kinds.set(`${e.apiVersion}|${e.kind}`, e);
    const live = new Map<string, KubeObject>();
    const selector = `${LABEL_SYNC}=${name}`;
    await Promise.all(
      [...kinds.values()].map((k) =>
        limit(async () => {
          for (const o of await this.kube.list(k.apiVersion, k.kind, { labelSelector: selector, signal })) {
            live.set(invKey({ ...o.metadata, apiVersion: o.apiVersion, kind: o.kind }), o);
          }
        }),
      ),
    );
    mark("list");
    const inInventory = new Set(inventory.map(invKey));
    const desiredKeys = new Set(items.map((i) => i.key));

    // Decide what to apply.
    const pending: Item[] = [];
    for (const it of items) {
      if (it.error) continue;
      const l = live.get(it.key);
      it.live = l;
      if (l) {
        if (l.metadata.annotations?.[ANN_CREATED] === name) setAnn(it.obj, ANN_CREATED, name);
        if (l.metadata.annotations?.[ANN_HASH] === it.hash) {
          const lost = lostFields(it.obj, l, fieldManager);
          if (lost.length === 0) {
            // Applied by an earlier run that was cut off before it could record (and announce) it.
            const unrecorded = !inInventory.has(it.key);
            const created = l.metadata.annotations?.[ANN_CREATED] === name;
            const action = !unrecorded ? "unchanged" : created ? "created" : "configured";
            it.result = { id: it.id, file: it.m.file, action };
            continue;
          }
          it.drift = lost;
          drift.push({ id: it.id, file: it.m.file, fields: lost, corrected: this.opts.driftCorrection });
          if (!this.opts.driftCorrection) {
            it.result = { id: it.id, file: it.m.file, action: "unchanged", drift: lost };
            continue;
          }
        }
      } else if (inInventory.has(it.key)) {
        // We applied it before and it is gone: deleted behind git's back.
        it.drift = ["deleted"];
        drift.push({ id: it.id, file: it.m.file, fields: ["deleted"], corrected: this.opts.driftCorrection });
        if (!this.opts.driftCorrection) {
          it.result = { id: it.id, file: it.m.file, action: "unchanged", drift: ["deleted"] };
          continue;
        }
      }
      pending.push(it);
    }

    // Objects not carrying our label: do they exist (adopt, never prune) or not (create)?
    await this.markCreations(
      pending.filter((p) => !p.live && p.phase === 0),
      signal,
      limit,
    );

    const fail = (it: Item, err: unknown) => {
      if (err instanceof TransientError) {
        transient ??= err;
        return;
      }
      it.error = errorText(err);
    };

    mark("existence");
    // Phase 0: Namespaces and CRDs (before the apps are validated: their objects need them).
    for (const it of pending) {
      const blocker = failedApps.get(it.m.app);
      if (it.phase === 0 && blocker) it.error = `not applied: ${blocker} (same app)`;
    }
    await Promise.all(
      pending
        .filter((it) => it.phase === 0 && !it.error)
        .map((it) => limit(() => this.applyItem(it, signal).catch((e) => fail(it, e)))),
    );
    const newCrds = pending.filter(
      (it) => it.obj.kind === "CustomResourceDefinition" && !it.error && it.result,
    );
    await Promise.all(newCrds.map((it) => this.waitEstablished(it, signal).catch((e) => fail(it, e))));
    // Kinds defined by those CRDs can be resolved now.
    for (const it of pending) {
      if (it.phase === 1 && !it.info && !it.error) {
        it.info = await this.kube.resource(it.obj.apiVersion, it.obj.kind).catch(() => undefined);
        if (!it.info)
          it.error = `unknown kind ${it.obj.kind} in ${it.obj.apiVersion}: no CRD for it is established`;
        else if (it.info.namespaced && !it.obj.metadata.namespace) it.obj.metadata.namespace = "default";
      }
    }
    await this.markCreations(
      pending.filter((p) => !p.live && p.phase === 1 && !p.error),
      signal,
      limit,
    );

    mark("phase0");
    // Phase 1, app by app: an app with an invalid object applies nothing.
    const apps = new Map<string, Item[]>();
    for (const it of items) {
      const list = apps.get(it.m.app) ?? [];
      list.push(it);
      apps.set(it.m.app, list);
    }
    await Promise.all(
      [...apps.entries()].map(async ([app, all]) => {
        const todo = all.filter((it) => it.phase === 1 && pending.includes(it));
        const bad = all.find((it) => it.error);
        const blocker = failedApps.get(app) ?? (bad ? `${bad.id}: ${bad.error}` : undefined);
        if (blocker) {
          for (const it of todo) if (!it.error) it.error = `not applied: ${blocker} (same app)`;
          return;
        }
        if (todo.length === 0) return;
        // One object to write is atomic by itself; more are validated together first.
        if (todo.length > 1) {
          await Promise.all(
            todo.map((it) =>
              limit(() =>
                this.kube
                  .apply(it.obj, { fieldManager, force: true, dryRun: true, signal })
                  .then(() => undefined)
                  // An opted-in replacement fails the dry run by design: the apply replaces it.
                  .catch((e) => (this.canReplace(it, e) ? undefined : fail(it, e))),
              ),
            ),
          );
          const invalid = todo.find((it) => it.error);
          if (invalid || transient) {
            for (const it of todo) {
              if (!it.error && invalid)
                it.error = `not applied: ${invalid.id} in the same app failed validation`;
            }
            return;
          }
        }
        await Promise.all(
          todo.map((it) => limit(() => this.applyItem(it, signal).catch((e) => fail(it, e)))),
        );
      }),
    );

    mark("phase1");
    // Results of the desired objects.
    for (const it of items) {
      if (it.error) {
        objects.push({ id: it.id, file: it.m.file, action: "failed", error: it.error });
        const l = live.get(it.key);
        if (l) it.live = l;
      } else if (it.result) {
        objects.push(it.result);
      }
    }

    // Prune.
    const pruned: string[] = [];
    if (this.opts.prune && !transient) {
      // A Namespace that still holds desired objects is never pruned: deleting it would take them along.
      const usedNamespaces = new Set(items.map((i) => i.obj.metadata.namespace).filter(Boolean));
      const candidates = [...live.entries()].filter(([key, o]) => {
        if (desiredKeys.has(key) || ignoredKeys.has(key)) return false;
        if (o.kind === "Namespace" && usedNamespaces.has(o.metadata.name)) return false;
        if (o.metadata.annotations?.[ANN_CREATED] !== name) return false;
        if (PRUNE_OPT_OUT.some((a) => o.metadata.annotations?.[a] === "disabled")) return false;
        const file =
          o.metadata.annotations?.[ANN_SOURCE] ?? inventory.find((e) => invKey(e) === key)?.file ?? "";
        if (failedFiles.has(file)) return false;
        const sp = this.opts.paths.find((p) => file.startsWith(p.path.replace(/\/*$/, "/")));
        return !sp || sp.prune;
      });
      // Workloads first, Namespaces and CRDs last (deleting those takes their contents along).
      const order = (o: KubeObject) => (PHASE0.has(o.kind) ? 1 : 0);
      for (const phase of [0, 1]) {
        await Promise.all(
          candidates
            .filter(([, o]) => order(o) === phase)
            .map(([key, o]) =>
              limit(async () => {
                const file = o.metadata.annotations?.[ANN_SOURCE] ?? "";
                const id = objectId(o);
                try {
                  if (signal.aborted) throw new TransientError("sync aborted: leadership lost");
                  await this.kube.delete(
                    {
                      apiVersion: o.apiVersion,
                      kind: o.kind,
                      namespace: o.metadata.namespace,
                      name: o.metadata.name,
                    },
                    { uid: o.metadata.uid, signal },
                  );
                  pruned.push(key);
                  objects.push({ id, file, action: "pruned" });
                } catch (err) {
                  if (err instanceof TransientError) transient ??= err;
                  else objects.push({ id, file, action: "failed", error: `prune: ${errorText(err)}` });
                }
              }),
            ),
        );
      }
    }

    // The new inventory: desired objects that exist, plus labelled leftovers we did not prune.
    const prunedSet = new Set(pruned);
    const next = new Map<string, InventoryEntry>();
    for (const it of items) {
      const exists = it.live || (it.result && it.result.action !== "failed");
      if (exists) next.set(it.key, entryOf(it.obj, it.m.file));
    }
    for (const [key, o] of live) {
      if (next.has(key) || prunedSet.has(key)) continue;
      if (o.metadata.annotations?.[ANN_CREATED] !== name) continue;
      next.set(key, entryOf(o, o.metadata.annotations?.[ANN_SOURCE] ?? ""));
    }
    if (transient) {
      // Keep what we knew: entries we could not confirm stay, so nothing is forgotten.
      for (const e of inventory)
        if (!next.has(invKey(e)) && !prunedSet.has(invKey(e))) next.set(invKey(e), e);
    }
    mark("prune");
    this.logger.debug(
      { revision, objects: objects.length, pending: pending.length, pruned: pruned.length, ms },
      "sync pass finished",
    );
    return { revision, objects, drift, inventory: [...next.values()], transient, files: loaded.files };
  }

  private async prepare(m: Manifest, crdKinds: Map<string, boolean>): Promise<Item> {
    const { name } = this.opts;
    const src = m.object;
    const obj: KubeObject = structuredClone(src);
    delete obj.status;
    const md = obj.metadata;
    for (const k of [
      "resourceVersion",
      "uid",
      "generation",
      "creationTimestamp",
      "managedFields",
      "selfLink",
    ]) {
      delete md[k];
    }
    md.labels = { ...(md.labels ?? {}), [LABEL_SYNC]: name };
    const ann = { ...(md.annotations ?? {}) };
    delete ann[ANN_HASH];
    delete ann[ANN_CREATED];
    ann[ANN_SOURCE] = m.file;
    md.annotations = ann;
    const phase: 0 | 1 = PHASE0.has(obj.kind) ? 0 : 1;
    let info: ResourceInfo | undefined;
    let error: string | undefined;
    try {
      info = await this.kube.resource(obj.apiVersion, obj.kind);
    } catch (err) {
      if (err instanceof TransientError) throw err;
      error = errorText(err);
    }
    let namespaced = info?.namespaced;
    if (!info && !error) {
      namespaced = crdKinds.get(`${obj.apiVersion}|${obj.kind}`);
      if (namespaced === undefined) {
        error = `unknown kind ${obj.kind} in ${obj.apiVersion}: the API server does not serve it (is its CRD installed?)`;
      }
    }
    if (namespaced === true && !md.namespace) md.namespace = "default";
    if (namespaced === false) delete md.namespace;
    // The hash covers everything we send except the annotations that depend on the cluster.
    const hash = createHash("sha256").update(canonical(obj)).digest("base64url").slice(0, 22);
    ann[ANN_HASH] = hash;
    const key = invKey({
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      namespace: md.namespace,
      name: md.name,
    });
    return { m, id: objectId(obj), key, obj, hash, info, phase, error };
  }

  /** For objects without our label: those that do not exist yet get the created-by annotation. */
  private async markCreations(
    todo: Item[],
    signal: AbortSignal,
    limit: <T>(fn: () => Promise<T>) => Promise<T>,
  ): Promise<void> {
    // One unlabelled LIST per kind and namespace, instead of a GET per object.
    const groups = new Map<string, Item[]>();
    for (const it of todo) {
      const g = `${it.obj.apiVersion}|${it.obj.kind}|${it.obj.metadata.namespace ?? ""}`;
      groups.set(g, [...(groups.get(g) ?? []), it]);
    }
    await Promise.all(
      [...groups.values()].map((group) =>
        limit(async () => {
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
  private canReplace(it: Item, err: unknown): boolean {
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
  private async removeForReplace(it: Item, signal: AbortSignal): Promise<void> {
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

  private async applyItem(it: Item, signal: AbortSignal): Promise<void> {
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
      await this.removeForReplace(it, signal);
      if (signal.aborted) throw new TransientError("sync aborted: leadership lost");
      res = await apply();
      replaced = true;
    }
    const changed = res.created || res.object.metadata.resourceVersion !== it.live?.metadata.resourceVersion;
    const action = replaced ? "configured" : res.created ? "created" : changed ? "configured" : "unchanged";
    it.result = { id: it.id, file: it.m.file, action };
    if (it.drift) it.result.drift = it.drift;
  }

  private async waitEstablished(it: Item, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + (this.opts.crdTimeoutMs ?? 30_000);
    const ref = { apiVersion: it.obj.apiVersion, kind: it.obj.kind, name: it.obj.metadata.name };
    for (;;) {
      const crd = await this.kube.get(ref, { signal });
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

function setAnn(obj: KubeObject, k: string, v: string): void {
  obj.metadata.annotations = { ...(obj.metadata.annotations ?? {}), [k]: v };
}

function entryOf(o: KubeObject, file: string): InventoryEntry {
  const e: InventoryEntry = { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, file };
  if (o.metadata.namespace) e.namespace = o.metadata.namespace;
  return e;
}
