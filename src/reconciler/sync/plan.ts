import { createHash } from "node:crypto";
import type { SyncObjectResult } from "../../core/events.js";
import { isHelmRelease } from "../../helm/spec.js";
import { type KubeObject, objectId, type ResourceInfo } from "../../kube/client.js";
import { lostFields } from "./drift.js";
import type { LoadedManifests, Manifest, SyncPath } from "./manifests.js";
import { type DriftRecord, type InventoryEntry, invKey } from "./state.js";

/**
 * The sync plan: from the manifests of one revision, what the cluster answered to discovery and
 * the live objects we labelled, decide what to apply, what has drifted and what may be pruned.
 * Everything here is a pure function of its arguments (no API requests), so the decisions users
 * care about are unit-tested without a cluster (test/unit/reconciler/sync/plan.test.ts).
 */

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

/** Kinds applied first (phase 0): the dry run of everything else needs them. */
export const PHASE0 = new Set(["Namespace", "CustomResourceDefinition"]);

/** One desired object on its way through the sync (the steps fill in `live`, `error`, `result`). */
export interface PlanItem {
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
  /** Not applied, and not an error: a HelmRelease whose CRD is not installed (see `desiredSet`). */
  skipped?: boolean;
  result?: SyncObjectResult;
  drift?: string[];
}

/** What discovery said about a kind: served (info), not served (undefined) or an error. */
export type Discovered = ResourceInfo | { error: string } | undefined;

/** Discovery answers by `apiVersion|kind`. */
export type Discovery = Map<string, Discovered>;

export const kindKey = (o: { apiVersion: string; kind: string }) => `${o.apiVersion}|${o.kind}`;

/** The desired objects of one revision, prepared, plus what the loader could not use. */
export interface DesiredSet {
  /** Every desired object in manifest order (files sorted, documents in file order). */
  items: PlanItem[];
  /** One `failed` result per file that could not be used. */
  fileErrors: SyncObjectResult[];
  failedFiles: Set<string>;
  /** App -> why it is blocked (a file of it failed to load). */
  failedApps: Map<string, string>;
  /** Keys of `fluxcd.io/ignore` objects: never pruned. */
  ignoredKeys: Set<string>;
  /** HelmReleases left out because the cluster has no CRD for them, by `apiVersion|kind`. */
  skipped: Map<string, { id: string; file: string }[]>;
}

/** The plan of one run: the desired set, what is live, what to write and the drift seen. */
export interface SyncPlan extends DesiredSet {
  /** Live objects carrying our label, by key. */
  live: Map<string, KubeObject>;
  /** Objects to write, in item order: phase 0 (Namespaces, CRDs) first when applied. */
  pending: PlanItem[];
  drift: DriftRecord[];
}

export interface PlanOptions {
  /** The sync name: the value of the ownership label. */
  name: string;
  fieldManager: string;
  driftCorrection: boolean;
}

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

/** The kinds discovery must answer for: one entry per kind of the manifests. */
export function kindsOf(manifests: Manifest[]): { apiVersion: string; kind: string }[] {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const m of manifests) kinds.set(kindKey(m.object), m.object);
  return [...kinds.values()];
}

/** CRDs in this commit define kinds the API server may not serve yet: `apiVersion|kind` -> namespaced. */
export function crdKindsOf(manifests: Manifest[]): Map<string, boolean> {
  const crdKinds = new Map<string, boolean>();
  for (const m of manifests) {
    if (m.object.kind !== "CustomResourceDefinition") continue;
    const spec = m.object.spec as
      | { group?: string; names?: { kind?: string }; scope?: string; versions?: { name: string }[] }
      | undefined;
    for (const v of spec?.versions ?? []) {
      crdKinds.set(`${spec?.group}/${v.name}|${spec?.names?.kind}`, spec?.scope === "Namespaced");
    }
  }
  return crdKinds;
}

/** One manifest as it will be applied: our label and annotations, the namespace defaulted, the hash. */
export function prepare(
  m: Manifest,
  name: string,
  found: Discovered,
  crdKinds: Map<string, boolean>,
): PlanItem {
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
  const info = found && !("error" in found) ? found : undefined;
  let error = found && "error" in found ? found.error : undefined;
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
  const key = invKey({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: md.namespace, name: md.name });
  const it: PlanItem = { m, id: objectId(obj), key, obj, hash, phase };
  if (info) it.info = info;
  // Without its CRD a HelmRelease is no object to apply: the HelmRelease reconciler reads it from git.
  if (error && !found && namespaced === undefined && isHelmRelease(obj)) it.skipped = true;
  else if (error) it.error = error;
  return it;
}

/** Step 1: the desired set of a revision, given discovery's answers. */
export function desiredSet(loaded: LoadedManifests, discovery: Discovery, name: string): DesiredSet {
  const fileErrors: SyncObjectResult[] = [];
  const failedFiles = new Set(loaded.errors.map((e) => e.file));
  const failedApps = new Map<string, string>();
  for (const e of loaded.errors) {
    fileErrors.push({ id: `file:${e.file}`, file: e.file, action: "failed", error: e.message });
    failedApps.set(e.app, `${e.file}: ${e.message}`);
  }
  const crdKinds = crdKindsOf(loaded.manifests);
  const skipped: DesiredSet["skipped"] = new Map();
  const items: PlanItem[] = [];
  for (const m of loaded.manifests) {
    const it = prepare(m, name, discovery.get(kindKey(m.object)), crdKinds);
    if (!it.skipped) items.push(it);
    else skipped.set(kindKey(it.obj), [...(skipped.get(kindKey(it.obj)) ?? []), { id: it.id, file: m.file }]);
  }
  const byKey = new Map<string, PlanItem>();
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
  return { items, fileErrors, failedFiles, failedApps, ignoredKeys, skipped };
}

/** The kinds to LIST for live objects: desired kinds the server serves, and inventory kinds. */
export function kindsToList(
  items: PlanItem[],
  inventory: InventoryEntry[],
): { apiVersion: string; kind: string }[] {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const it of items) if (it.info) kinds.set(kindKey(it.obj), it.obj);
  for (const e of inventory) kinds.set(kindKey(e), e);
  return [...kinds.values()];
}

/**
 * Step 2: what to write. Unchanged objects (same hash, all our fields still ours) are skipped;
 * drift (fields lost to another manager, or an inventoried object deleted) is re-applied, or
 * only recorded when drift correction is off.
 */
export function decide(
  desired: DesiredSet,
  live: Map<string, KubeObject>,
  inventory: InventoryEntry[],
  opts: PlanOptions,
): SyncPlan {
  const { name, fieldManager, driftCorrection } = opts;
  const inInventory = new Set(inventory.map(invKey));
  const pending: PlanItem[] = [];
  const drift: DriftRecord[] = [];
  for (const it of desired.items) {
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
        drift.push({ id: it.id, file: it.m.file, fields: lost, corrected: driftCorrection });
        if (!driftCorrection) {
          it.result = { id: it.id, file: it.m.file, action: "unchanged", drift: lost };
          continue;
        }
      }
    } else if (inInventory.has(it.key)) {
      // We applied it before and it is gone: deleted behind git's back.
      it.drift = ["deleted"];
      drift.push({ id: it.id, file: it.m.file, fields: ["deleted"], corrected: driftCorrection });
      if (!driftCorrection) {
        it.result = { id: it.id, file: it.m.file, action: "unchanged", drift: ["deleted"] };
        continue;
      }
    }
    pending.push(it);
  }
  return { ...desired, live, pending, drift };
}

/** The apps of the plan (the unit of atomicity), in item order. */
export function appsOf(items: PlanItem[]): Map<string, PlanItem[]> {
  const apps = new Map<string, PlanItem[]>();
  for (const it of items) {
    const list = apps.get(it.m.app) ?? [];
    list.push(it);
    apps.set(it.m.app, list);
  }
  return apps;
}

/**
 * Which live objects to prune: labelled ones that left git, that this sync created, not opted
 * out, not from a file that failed to parse, not under a `prune: false` path, and no Namespace
 * that still holds desired objects. Deletion order: workloads (0) before Namespaces and CRDs (1).
 */
export function pruneCandidates(
  plan: Pick<SyncPlan, "items" | "live" | "ignoredKeys" | "failedFiles">,
  inventory: InventoryEntry[],
  opts: { name: string; paths: SyncPath[] },
): { key: string; obj: KubeObject; order: 0 | 1 }[] {
  const desiredKeys = new Set(plan.items.map((i) => i.key));
  // A Namespace that still holds desired objects is never pruned: deleting it would take them along.
  const usedNamespaces = new Set(plan.items.map((i) => i.obj.metadata.namespace).filter(Boolean));
  const candidates = [...plan.live.entries()].filter(([key, o]) => {
    if (desiredKeys.has(key) || plan.ignoredKeys.has(key)) return false;
    if (o.kind === "Namespace" && usedNamespaces.has(o.metadata.name)) return false;
    if (o.metadata.annotations?.[ANN_CREATED] !== opts.name) return false;
    if (PRUNE_OPT_OUT.some((a) => o.metadata.annotations?.[a] === "disabled")) return false;
    const file = o.metadata.annotations?.[ANN_SOURCE] ?? inventory.find((e) => invKey(e) === key)?.file ?? "";
    if (plan.failedFiles.has(file)) return false;
    const sp = opts.paths.find((p) => file.startsWith(p.path.replace(/\/*$/, "/")));
    return !sp || sp.prune;
  });
  return candidates.map(([key, obj]) => ({ key, obj, order: PHASE0.has(obj.kind) ? 1 : 0 }));
}

export function setAnn(obj: KubeObject, k: string, v: string): void {
  obj.metadata.annotations = { ...(obj.metadata.annotations ?? {}), [k]: v };
}
