/**
 * Golden-file comparison shared by the renderer and notification tests.
 * `UPDATE_GOLDEN=1` rewrites the files instead of comparing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const goldenDir = dirname(fileURLToPath(import.meta.url));

/** Compares `actual` with `test/golden/<rel>` (or rewrites it under UPDATE_GOLDEN=1). */
export function expectGolden(rel: string, actual: string): void {
  const path = join(goldenDir, rel);
  if (process.env["UPDATE_GOLDEN"] === "1") {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  expect(existsSync(path), `missing golden ${rel}; run with UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(readFileSync(path, "utf8"));
}
