/** Image references in composed values, for "old -> new tag" in events (best effort, never fails). */
import type { Values } from "../../helm/values.js";

const MAX_DEPTH = 6;

/**
 * `path -> repository:tag` for every map with a string `repository` and a `tag` (the common chart
 * convention, `image: {repository, tag}`), and every `image: "repo:tag"` string.
 */
export function imagesOf(values: Values): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (v: unknown, path: string, depth: number) => {
    if (depth > MAX_DEPTH || typeof v !== "object" || v === null || Array.isArray(v)) return;
    const o = v as Record<string, unknown>;
    if (typeof o.repository === "string" && (typeof o.tag === "string" || typeof o.tag === "number")) {
      out[path || "."] = `${o.repository}:${o.tag}`;
    }
    for (const [k, child] of Object.entries(o)) {
      const p = path ? `${path}.${k}` : k;
      if (k === "image" && typeof child === "string" && /:[^/]+$/.test(child)) out[p] = child;
      else walk(child, p, depth + 1);
    }
  };
  walk(values, "", 0);
  return out;
}

function split(ref: string): { image: string; tag: string } {
  const i = ref.lastIndexOf(":");
  return { image: ref.slice(0, i), tag: ref.slice(i + 1) };
}

/** The images whose reference changed between two deployments. */
export function imageChanges(
  before: Record<string, string> | undefined,
  after: Record<string, string>,
): { image: string; from?: string; to: string }[] {
  const out: { image: string; from?: string; to: string }[] = [];
  for (const [path, ref] of Object.entries(after)) {
    const prev = before?.[path];
    if (prev === ref) continue;
    const now = split(ref);
    const was = prev ? split(prev) : undefined;
    out.push({ image: now.image, ...(was && was.image === now.image ? { from: was.tag } : {}), to: now.tag });
  }
  return out;
}
