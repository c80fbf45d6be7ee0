/**
 * Golden directory fixtures for the YAML setters: each `test/fixtures/setters/<case>/` has
 * `original/` files, a `case.json` listing edits (applied in order through discovery, the way
 * `ReleaseService` applies them) and the `expected/` files. Set UPDATE_GOLDEN=1 to rewrite `expected/`
 * (then review the diff).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { annotationsOf, discoverFile } from "../../../src/gitops/discovery.js";
import { filterKeyFor } from "../../../src/gitops/policies.js";
import {
  parsesCleanly,
  removeAnnotation,
  setAnnotation,
  setChartVersion,
  setImageTag,
} from "../../../src/gitops/yaml-edit.js";

const ROOT = join(import.meta.dirname, "..", "..", "fixtures", "setters");
const UPDATE = process.env["UPDATE_GOLDEN"] === "1";

type EditSpec =
  | { file: string; op: "tag"; container: string; tag: string }
  | { file: string; op: "chartVersion"; version: string }
  | { file: string; op: "policy"; name: string; value?: string; remove?: boolean }
  | { file: string; op: "filter"; container: string; value: string };

function apply(file: string, text: string, e: EditSpec): string {
  const found = discoverFile(`releases/test/${file}`, text);
  expect(found.problems).toEqual([]);
  const inst = found.instances[0];
  if (!inst) throw new Error(`no workload in ${file}`);
  const w = inst.workload;
  switch (e.op) {
    case "tag": {
      const img = w.images.find((i) => i.container === e.container);
      if (!img)
        throw new Error(`no container ${e.container} in ${file}: ${w.images.map((i) => i.container)}`);
      return setImageTag(text, w.docIndex, img.location, e.tag);
    }
    case "chartVersion":
      return setChartVersion(text, w.docIndex, e.version);
    case "policy": {
      const key = `${w.policies.prefix}/${e.name}`;
      return e.remove
        ? removeAnnotation(text, w.docIndex, key)
        : setAnnotation(text, w.docIndex, key, e.value ?? "");
    }
    case "filter":
      return setAnnotation(
        text,
        w.docIndex,
        filterKeyFor(e.container, w.policies.prefix, annotationsOf(text, w.docIndex)),
        e.value,
      );
  }
}

const cases = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe("YAML setters (golden fixtures)", () => {
  it("has fixtures", () => {
    expect(cases.length).toBeGreaterThanOrEqual(9);
  });

  it.each(cases)("%s", (name) => {
    const dir = join(ROOT, name);
    const spec = JSON.parse(readFileSync(join(dir, "case.json"), "utf8")) as { edits: EditSpec[] };
    const files = new Map<string, string>();
    for (const f of readdirSync(join(dir, "original")))
      files.set(f, readFileSync(join(dir, "original", f), "utf8"));
    for (const e of spec.edits) {
      const text = files.get(e.file);
      if (text === undefined) throw new Error(`${name}: no file ${e.file}`);
      const out = apply(e.file, text, e);
      expect(parsesCleanly(out)).toBe(true);
      files.set(e.file, out);
    }
    if (UPDATE) mkdirSync(join(dir, "expected"), { recursive: true });
    for (const [f, text] of files) {
      if (UPDATE) writeFileSync(join(dir, "expected", f), text);
      expect(text, `${name}/${f}`).toBe(readFileSync(join(dir, "expected", f), "utf8"));
    }
  });
});
