import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  getValue,
  plainSafe,
  removeKey,
  setAnnotation,
  setString,
  YamlEditError,
} from "../../../src/gitops/yaml-edit.js";
import { changedLines, loadDir } from "../../helpers/example-repo.js";

const prod = loadDir()["releases/prod/podinfo.yaml"]!;
const frontendProd = loadDir()["releases/prod/frontend.yaml"]!;
const TAG = ["spec", "values", "image", "tag"];

describe("setString", () => {
  it("round-trips any string value and changes exactly one line", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (value) => {
        const out = setString(prod, 0, TAG, value);
        expect(getValue(out, 0, TAG)).toBe(value);
        const changed = changedLines(prod, out);
        expect(changed.length).toBeLessThanOrEqual(1);
        if (value !== "0.4.10") expect(changed[0]?.[0]).toBe(18);
      }),
      { numRuns: 150 },
    );
  });

  it("keeps YAML 1.1 look-alikes strings for Kubernetes: quotes yes, 1.20, 1:20, timestamps", () => {
    for (const v of ["yes", "1.20", "1:20", "2026-01-01", "0x1F", "null", "~", "on"]) {
      expect(plainSafe(v)).toBe(false);
      const out = setString(prod, 0, TAG, v);
      expect(out).toContain(`tag: "${v}"`);
      expect(parse(out.split("---\n")[1]!).spec.values.image.tag).toBe(v);
    }
    expect(plainSafe("0.4.11")).toBe(true);
    expect(plainSafe("glob:dev-*")).toBe(true);
  });

  it("leaves the text untouched when the value is already there", () => {
    expect(setString(prod, 0, TAG, "0.4.10")).toBe(prod);
  });

  it("edits only its document of a multi-document file", () => {
    const out = setAnnotation(frontendProd, 1, "fluxcd.io/locked", "true");
    const anchor = "    filter.fluxcd.io/web: 'semver:^1.0'\n";
    // Sibling values are single-quoted, so the new one is too.
    expect(out).toBe(frontendProd.replace(anchor, `${anchor}    fluxcd.io/locked: 'true'\n`));
  });

  it("refuses an edit that would also change an alias of the value", () => {
    const text = "a:\n  tag: &t 1.0.0\nb:\n  tag: *t\n";
    expect(() => setString(text, 0, ["a", "tag"], "2.0.0")).toThrow(YamlEditError);
  });

  it("refuses to edit through an alias", () => {
    const text = "common: &c\n  a: b\nmetadata:\n  annotations: *c\n";
    expect(() => setAnnotation(text, 0, "x", "y")).toThrow(YamlEditError);
  });

  it("refuses a file that does not parse, and a non-scalar target", () => {
    expect(() => setString("a: [\n", 0, ["a"], "x")).toThrow(YamlEditError);
    expect(() => setString(prod, 0, ["spec", "values"], "x")).toThrow(/not a string/);
    expect(() => setString(prod, 3, TAG, "x")).toThrow(/no YAML document #3/);
  });

  it("creates missing maps, indenting like the file", () => {
    const text = "metadata:\n    name: x\nspec:\n    replicas: 1\n";
    const out = setAnnotation(text, 0, "fluxcd.io/locked", "true");
    expect(out).toBe(
      'metadata:\n    name: x\n    annotations:\n        fluxcd.io/locked: "true"\nspec:\n    replicas: 1\n',
    );
  });

  it("falls back to re-serialising one document for a flow map", () => {
    const text = "# head\nmetadata: {name: x}\n---\nkeep: me  # as is\n";
    const out = setAnnotation(text, 0, "a", "b");
    expect(getValue(out, 0, ["metadata", "annotations", "a"])).toBe("b");
    expect(out.endsWith("---\nkeep: me  # as is\n")).toBe(true);
  });

  it("replaces a block scalar with a quoted one without swallowing the next key", () => {
    const text = "a: |\n  old\nb: 2\n";
    expect(setString(text, 0, ["a"], "new")).toBe('a: "new"\nb: 2\n');
  });
});

describe("removeKey", () => {
  it("is a no-op for an absent key", () => {
    expect(removeKey(prod, 0, ["metadata", "annotations", "nope"])).toBe(prod);
  });
  it("removes the key's line and inline comment only", () => {
    const text = "m:\n  a: 1 # one\n  # about b\n  b: 2\n  c: 3\n";
    expect(removeKey(text, 0, ["m", "b"])).toBe("m:\n  a: 1 # one\n  # about b\n  c: 3\n");
    expect(removeKey(text, 0, ["m", "a"])).toBe("m:\n  # about b\n  b: 2\n  c: 3\n");
  });
  it("removes a multi-line value", () => {
    const text = "m:\n  a:\n    x: 1\n    y: 2\n  b: 2\n";
    expect(removeKey(text, 0, ["m", "a"])).toBe("m:\n  b: 2\n");
  });
});

describe("setter properties over every example and fixture file", async () => {
  const { readdirSync, readFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { discoverFile } = await import("../../../src/gitops/discovery.js");
  const { setImageTag } = await import("../../../src/gitops/yaml-edit.js");
  const fixtures = join(import.meta.dirname, "..", "..", "fixtures", "setters");
  const files: [string, string][] = Object.entries(loadDir()).filter(([p]) => p.startsWith("releases/"));
  for (const c of readdirSync(fixtures)) {
    for (const f of readdirSync(join(fixtures, c, "original"))) {
      files.push([`releases/${c}/${f}`, readFileSync(join(fixtures, c, "original", f), "utf8")]);
    }
  }
  const targets = files.flatMap(([path, text]) =>
    discoverFile(path, text).instances.flatMap((i) =>
      i.workload.images.map((img) => ({ path, text, w: i.workload, img })),
    ),
  );
  const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}$/);
  const segments = (t: string) => t.split(/^---$/m);

  it("finds images to work on", () => {
    expect(targets.length).toBeGreaterThanOrEqual(20);
  });

  it("setting a tag changes one line, keeps other documents, reads back, and is idempotent", () => {
    fc.assert(
      fc.property(fc.constantFrom(...targets), tag, ({ path, text, w, img }, t) => {
        const out = setImageTag(text, w.docIndex, img.location, t);
        expect(setImageTag(out, w.docIndex, img.location, t)).toBe(out);
        expect(changedLines(text, out).length).toBeLessThanOrEqual(1);
        const again = discoverFile(path, out).instances.find((i) => i.workload.docIndex === w.docIndex)!;
        expect(again.workload.images.find((i) => i.container === img.container)!.tag).toBe(t);
        const [a, b] = [segments(text), segments(out)];
        expect(b.length).toBe(a.length);
        expect(b.filter((s, i) => s !== a[i]).length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 200 },
    );
  });

  it("adding then removing a new annotation gives back the original bytes", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...targets),
        fc.stringMatching(/^[a-z]{1,8}$/),
        fc.string({ maxLength: 20 }),
        ({ text, w }, k, v) => {
          const key = `test.example.com/${k}`;
          const added = setAnnotation(text, w.docIndex, key, v);
          expect(getValue(added, w.docIndex, ["metadata", "annotations", key])).toBe(v);
          expect(removeKey(added, w.docIndex, ["metadata", "annotations", key])).toBe(text);
        },
      ),
      { numRuns: 200 },
    );
  });
});
