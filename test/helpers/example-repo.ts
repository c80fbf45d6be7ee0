/** Loads `examples/config-repo` (or another directory) into a `{ path: content }` map for test doubles. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The repo root of the example config repo. */
export const EXAMPLES_DIR = join(import.meta.dirname, "..", "..", "examples", "config-repo");

/** Every file under `dir`, keyed by its `/`-separated path relative to `dir`. */
export function loadDir(dir: string = EXAMPLES_DIR): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const ent of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile()) out[p] = readFileSync(join(dir, p), "utf8");
    }
  };
  walk("");
  return out;
}

/** Lines that differ between two texts of equal line count, as [index, before, after]; throws on a
 * different line count (use it to prove an edit touched only the intended lines). */
export function changedLines(before: string, after: string): [number, string, string][] {
  const a = before.split("\n");
  const b = after.split("\n");
  const out: [number, string, string][] = [];
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) out.push([i, a[i] ?? "", b[i] ?? ""]);
  return out;
}
