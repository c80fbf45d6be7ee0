import type { KubeClient, KubeObject } from "../../kube/client.js";
import { ANN_CREATED, ANN_SOURCE, LABEL_SYNC, type SyncPlan } from "./plan.js";
import { type InventoryEntry, invKey } from "./state.js";

type Limit = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * The live objects this sync labelled, one LIST per kind (desired kinds and inventory kinds), by
 * inventory key. Unchanged objects are decided from this alone, so a no-op sync makes no writes.
 */
export async function listLive(
  kube: KubeClient,
  kinds: { apiVersion: string; kind: string }[],
  name: string,
  limit: Limit,
  signal: AbortSignal,
): Promise<Map<string, KubeObject>> {
  const live = new Map<string, KubeObject>();
  const selector = `${LABEL_SYNC}=${name}`;
  await Promise.all(
    kinds.map((k) =>
      limit(async () => {
        for (const o of await kube.list(k.apiVersion, k.kind, { labelSelector: selector, signal })) {
          live.set(invKey({ ...o.metadata, apiVersion: o.apiVersion, kind: o.kind }), o);
        }
      }),
    ),
  );
  return live;
}

/**
 * The inventory after a run: desired objects that exist, plus labelled leftovers we created and
 * did not prune. After a transient error entries we could not confirm stay, so nothing is forgotten.
 */
export function nextInventory(
  plan: SyncPlan,
  inventory: InventoryEntry[],
  pruned: Set<string>,
  name: string,
  transient: boolean,
): InventoryEntry[] {
  const next = new Map<string, InventoryEntry>();
  for (const it of plan.items) {
    const exists = it.live || (it.result && it.result.action !== "failed");
    if (exists) next.set(it.key, entryOf(it.obj, it.m.file));
  }
  for (const [key, o] of plan.live) {
    if (next.has(key) || pruned.has(key)) continue;
    if (o.metadata.annotations?.[ANN_CREATED] !== name) continue;
    next.set(key, entryOf(o, o.metadata.annotations?.[ANN_SOURCE] ?? ""));
  }
  if (transient) {
    for (const e of inventory) if (!next.has(invKey(e)) && !pruned.has(invKey(e))) next.set(invKey(e), e);
  }
  return [...next.values()];
}

function entryOf(o: KubeObject, file: string): InventoryEntry {
  const e: InventoryEntry = { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, file };
  if (o.metadata.namespace) e.namespace = o.metadata.namespace;
  return e;
}
