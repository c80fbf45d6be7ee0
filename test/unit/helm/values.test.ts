import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseHelmRelease } from "../../../src/helm/spec.js";
import {
  composeValues,
  mergeValues,
  setPath,
  type Values,
  type ValuesSourceReader,
  valuesDigest,
} from "../../../src/helm/values.js";

/** An in-memory source: what the cluster (or the git revision) holds. */
class InMemoryValuesSource implements ValuesSourceReader {
  constructor(
    readonly cms: Record<string, Record<string, string>> = {},
    readonly secrets: Record<string, Record<string, string>> = {},
    readonly files: Record<string, string> = {},
    readonly urls: Record<string, string> = {},
  ) {}
  async configMap(ns: string, name: string) {
    return this.cms[`${ns}/${name}`];
  }
  async secret(ns: string, name: string) {
    return this.secrets[`${ns}/${name}`];
  }
  async chartFile(path: string) {
    return this.files[path];
  }
  async external(url: string) {
    return this.urls[url];
  }
}

const FILE = "releases/dev/app.yaml";
const hr = (apiVersion: string, spec: Record<string, unknown>) =>
  parseHelmRelease(
    { apiVersion, kind: "HelmRelease", metadata: { name: "app", namespace: "dev" }, spec },
    FILE,
  );
const v1 = (extra: Record<string, unknown>) =>
  hr("helm.fluxcd.io/v1", { chart: { git: "https://h/r", path: "charts/app" }, ...extra });
const v2 = (extra: Record<string, unknown>) =>
  hr("helm.toolkit.fluxcd.io/v2", {
    chart: { spec: { chart: "app", sourceRef: { kind: "HelmRepository", name: "r" } } },
    ...extra,
  });

// JSON-like values trees (no undefined: YAML cannot express it).
const scalar = fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean(), fc.constant(null));
const key = fc.constantFrom("a", "b", "c", "d", "image", "tag");
const tree: fc.Arbitrary<Values> = fc.letrec<{ node: unknown; map: Values }>((tie) => ({
  node: fc.oneof({ depthSize: "small" }, scalar, fc.array(scalar, { maxLength: 3 }), tie("map")),
  map: fc.dictionary(key, tie("node"), { maxKeys: 4 }) as fc.Arbitrary<Values>,
})).map;

const isMap = (v: unknown): v is Values => typeof v === "object" && v !== null && !Array.isArray(v);

describe("mergeValues (property)", () => {
  // Not associative, like Helm's: {d:{a:1}} + {d:5} + {d:{}} differs by grouping. Sources are
  // always folded left in list order.
  it("has {} as identity and is idempotent", () => {
    fc.assert(
      fc.property(tree, (a) => {
        expect(mergeValues(a, {})).toEqual(a);
        expect(mergeValues({}, a)).toEqual(a);
        expect(mergeValues(a, a)).toEqual(a);
      }),
    );
  });

  it("lets the override win at every non-map leaf and keeps what it does not mention", () => {
    fc.assert(
      fc.property(tree, tree, (base, over) => {
        const m = mergeValues(base, over);
        const check = (b: Values, o: Values, out: Values) => {
          for (const k of Object.keys(o)) {
            if (isMap(o[k]) && isMap(b[k])) check(b[k] as Values, o[k] as Values, out[k] as Values);
            else expect(out[k]).toEqual(o[k]);
          }
          for (const k of Object.keys(b)) if (!(k in o)) expect(out[k]).toEqual(b[k]);
        };
        check(base, over, m);
      }),
    );
  });

  it("never modifies its inputs", () => {
    fc.assert(
      fc.property(tree, tree, (a, b) => {
        const [ca, cb] = [structuredClone(a), structuredClone(b)];
        const m = mergeValues(a, b);
        if (isMap(m.a)) (m.a as Values).zz = 1;
        expect(a).toEqual(ca);
        expect(b).toEqual(cb);
      }),
    );
  });
});

describe("valuesDigest", () => {
  it("does not depend on key order, and changes with any value", () => {
    fc.assert(
      fc.property(tree, (t) => {
        const reversed = (v: unknown): unknown =>
          isMap(v)
            ? Object.fromEntries(
                Object.entries(v)
                  .reverse()
                  .map(([k, x]) => [k, reversed(x)]),
              )
            : v;
        expect(valuesDigest(reversed(t) as Values)).toBe(valuesDigest(t));
        expect(valuesDigest({ ...t, zz: 1 })).not.toBe(valuesDigest(t));
      }),
    );
    expect(valuesDigest({})).toMatch(/^[0-9a-f]{40}$/);
    expect(valuesDigest({ a: 1 })).not.toBe(valuesDigest({ a: "1" }));
  });
});

describe("setPath", () => {
  it("creates maps and lists on the way", () => {
    const v: Values = { image: { repository: "r" } };
    setPath(v, "image.tag", "1.0");
    setPath(v, "hosts[1].name", "b");
    expect(v).toEqual({ image: { repository: "r", tag: "1.0" }, hosts: [undefined, { name: "b" }] });
  });
});

describe("composeValues", () => {
  it("merges valuesFrom in order, all below values (v1, every kind)", async () => {
    const spec = v1({
      values: { a: "values", nested: { x: "values" } },
      valuesFrom: [
        { configMapKeyRef: { name: "cm" } },
        { secretKeyRef: { name: "s", key: "v.yaml" } },
        { chartFileRef: { path: "values-dev.yaml" } },
        { externalSourceRef: { url: "https://example.com/v.yaml" } },
      ],
    });
    const src = new InMemoryValuesSource(
      { "dev/cm": { "values.yaml": "a: cm\nb: cm\nc: cm\nd: cm\nnested: {x: cm, y: cm}\n" } },
      { "dev/s": { "v.yaml": "b: secret\npassword: hunter2-canary\n" } },
      { "values-dev.yaml": "c: file\n" },
      { "https://example.com/v.yaml": "d: url\n" },
    );
    const out = await composeValues(spec, src);
    expect(out.values).toEqual({
      a: "values",
      b: "secret",
      c: "file",
      d: "url",
      password: "hunter2-canary",
      nested: { x: "values", y: "cm" },
    });
    expect(out.secrets).toContain("b: secret\npassword: hunter2-canary\n");
    expect(out.skipped).toEqual([]);
  });

  it("v1 optional skips a missing object, a missing key and bad YAML", async () => {
    const spec = v1({
      valuesFrom: [
        { configMapKeyRef: { name: "gone", optional: true } },
        { configMapKeyRef: { name: "cm", key: "nokey", optional: true } },
        { configMapKeyRef: { name: "bad", optional: true } },
        { secretKeyRef: { name: "gone", optional: true } },
      ],
    });
    const src = new InMemoryValuesSource({ "dev/cm": {}, "dev/bad": { "values.yaml": "a: [" } });
    const out = await composeValues(spec, src);
    expect(out.values).toEqual({});
    expect(out.skipped).toHaveLength(4);
  });

  it("v2 optional skips only a missing object", async () => {
    const src = new InMemoryValuesSource({ "dev/cm": { other: "x" }, "dev/bad": { "values.yaml": "a: [" } });
    await expect(
      composeValues(v2({ valuesFrom: [{ kind: "ConfigMap", name: "gone", optional: true }] }), src),
    ).resolves.toMatchObject({
      values: {},
    });
    await expect(
      composeValues(v2({ valuesFrom: [{ kind: "ConfigMap", name: "cm", optional: true }] }), src),
    ).rejects.toThrow(`${FILE}: spec.valuesFrom[0]: ConfigMap dev/cm key values.yaml: no such key`);
    await expect(
      composeValues(v2({ valuesFrom: [{ kind: "ConfigMap", name: "bad", optional: true }] }), src),
    ).rejects.toThrow("not valid YAML at line 1");
  });

  it("a required source that is missing names the file and entry, without the Secret's content", async () => {
    const src = new InMemoryValuesSource({}, { "dev/s": { "values.yaml": "password: [hunter2-canary" } });
    await expect(
      composeValues(v1({ valuesFrom: [{ secretKeyRef: { name: "nope" } }] }), src),
    ).rejects.toThrow(`${FILE}: spec.valuesFrom[0]: Secret dev/nope key values.yaml: not found`);
    const err = await composeValues(v1({ valuesFrom: [{ secretKeyRef: { name: "s" } }] }), src).catch(
      (e) => e,
    );
    expect(String(err.message)).not.toContain("hunter2");
  });

  it("v2 targetPath values override everything, typed like --set", async () => {
    const spec = v2({
      values: { image: { tag: "from-values" }, replicas: 1 },
      valuesFrom: [
        { kind: "ConfigMap", name: "cm", valuesKey: "tag", targetPath: "image.tag" },
        { kind: "ConfigMap", name: "cm", valuesKey: "n", targetPath: "replicas" },
      ],
    });
    const src = new InMemoryValuesSource({ "dev/cm": { tag: "1.2.3", n: "3" } });
    expect((await composeValues(spec, src)).values).toEqual({ image: { tag: "1.2.3" }, replicas: 3 });
  });
});
