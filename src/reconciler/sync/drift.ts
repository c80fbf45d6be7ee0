import type { KubeObject, ManagedFieldsEntry } from "../../kube/client.js";

// Server-maintained or identity fields that are never "ours" in managedFields.
const SKIP_TOP = new Set(["apiVersion", "kind", "status", "stringData"]);
const SKIP_META = new Set([
  "name",
  "namespace",
  "resourceVersion",
  "uid",
  "generation",
  "creationTimestamp",
  "managedFields",
]);

/** Our server-side apply entry in `managedFields`, if any. */
export function appliedEntry(live: KubeObject, manager: string): ManagedFieldsEntry | undefined {
  return live.metadata.managedFields?.find(
    (m) => m.manager === manager && m.operation === "Apply" && !m.subresource,
  );
}

/**
 * Drift detection without a diff: the field paths of `desired` that `manager` no longer owns in
 * `live`. With server-side apply, a `kubectl edit`/`scale`/`patch` (or a forced apply by another
 * manager) that changes one of our fields moves its ownership away from us, so a field we applied
 * that is missing from our `managedFields` entry was changed behind git's back. This needs no
 * schema: list items are matched through the `k:{…}` keys the server records (a key field the
 * manifest leaves out, such as a defaulted `protocol`, matches anything). Returns `["*"]` when we
 * own nothing at all (the object was replaced by someone else).
 */
export function lostFields(desired: KubeObject, live: KubeObject, manager: string): string[] {
  const entry = appliedEntry(live, manager);
  if (!entry?.fieldsV1) return ["*"];
  const lost: string[] = [];
  const fields = entry.fieldsV1;
  for (const [k, v] of Object.entries(desired)) {
    if (SKIP_TOP.has(k) || v === null || v === undefined) continue;
    if (k === "metadata") {
      const meta = fields["f:metadata"];
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
        if (SKIP_META.has(mk) || mv === null || mv === undefined) continue;
        walk(mv, meta?.[`f:${mk}`], `metadata.${mk}`, lost);
      }
      continue;
    }
    walk(v, fields[`f:${k}`], k, lost);
  }
  return lost;
}

// biome-ignore lint/suspicious/noExplicitAny: fieldsV1 is an untyped trie.
type Fields = Record<string, any> | undefined;

function walk(value: unknown, fields: Fields, path: string, lost: string[]): void {
  if (value === null || value === undefined) return;
  if (fields === undefined) {
    lost.push(path);
    return;
  }
  if (Array.isArray(value)) {
    const keys = Object.keys(fields);
    // No children recorded: an atomic list, owned as a whole.
    if (keys.length === 0 || keys.every((k) => k === ".")) return;
    for (const [i, el] of value.entries()) {
      if (el !== null && typeof el === "object" && !Array.isArray(el)) {
        const match = keys.find((k) => k.startsWith("k:") && keyMatches(k, el as Record<string, unknown>));
        if (match) walk(el, fields[match], `${path}[${i}]`, lost);
        else if (keys.some((k) => k.startsWith("k:"))) lost.push(`${path}[${i}]`);
      } else if (keys.some((k) => k.startsWith("v:")) && !(`v:${JSON.stringify(el)}` in fields)) {
        lost.push(`${path}[${i}]`);
      }
    }
    return;
  }
  if (typeof value === "object") {
    // A map recorded without children is owned atomically (e.g. a Deployment's `selector`).
    if (Object.keys(fields).length === 0) return;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      walk(v, fields[`f:${k}`], `${path}.${k}`, lost);
    }
  }
}

function keyMatches(k: string, el: Record<string, unknown>): boolean {
  let key: Record<string, unknown>;
  try {
    key = JSON.parse(k.slice(2));
  } catch {
    return false;
  }
  return Object.entries(key).every(([f, v]) => el[f] === undefined || String(el[f]) === String(v));
}
