/**
 * Values composition for a HelmRelease: `valuesFrom` in list order, then `values`, then (v2) the
 * `targetPath` entries, merged the way Helm merges `-f` files (maps merge deeply, anything else
 * replaces). The sources are read through an injectable `ValuesSourceReader` (cluster ConfigMaps
 * and Secrets, or the same git revision as the HelmRelease), so composing is deterministic for
 * one revision and testable without a cluster.
 *
 * `optional` follows each spec: v1 skips an optional source when it is missing, when its key is
 * missing and when it does not parse; v2 skips only a missing object (a missing key or bad YAML is
 * an error even when optional).
 */
import { parse as parseYaml } from "yaml";
import { labelDigest } from "./digest.js";
import { type HelmReleaseSpec, HelmSpecError, type ValuesSource } from "./spec.js";

export type Values = Record<string, unknown>;

/** Where `valuesFrom` entries are read from. Every method returns undefined for "not found". */
export interface ValuesSourceReader {
  /** `data` of a ConfigMap. */
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** Decoded `data` (and `stringData`) of a Secret. */
  secret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** A file of the chart, path relative to the chart root (git charts only). */
  chartFile(path: string): Promise<string | undefined>;
  /** The body of an http(s) URL (v1 `externalSourceRef`). */
  external(url: string): Promise<string | undefined>;
}

/** The composed values and the strings read from Secrets (for the redactor: never log these). */
export interface ComposedValues {
  values: Values;
  /** Every string value that came from a Secret, so callers can redact them from helm's output. */
  secrets: string[];
  /** Sources that were optional and absent (reported, not an error). */
  skipped: string[];
}

function isMap(v: unknown): v is Values {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Helm's merge of user-supplied values files (`pkg/cli/values/options.go: mergeMaps`): keys of
 * `over` win; when both sides hold a map the maps merge recursively. Returns a new tree; neither
 * input is modified.
 */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = clone(base);
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isMap(v) && isMap(b) ? mergeValues(b, v) : clone(v);
  }
  return out;
}

function clone<T>(v: T): T {
  return v === undefined ? v : (structuredClone(v) as T);
}

/** Stable digest of a values tree (key-order independent); stored on the release (ADR 0009). */
export function valuesDigest(values: Values): string {
  return labelDigest(values);
}

/**
 * `--set`-style typing of a targetPath value (Helm `strvals.ParseInto`): `true`/`false`, `null`
 * and integers are typed, everything else stays a string.
 */
function typedScalar(s: string): unknown {
  if (s === "true") return true;
  if (s === "false") return false;
  if (s === "null") return null;
  if (/^-?(0|[1-9]\d{0,15})$/.test(s)) return Number(s);
  return s;
}

/** Sets `value` at a dotted path (`a.b[0].c`) in `values`, creating maps and lists on the way. */
export function setPath(values: Values, path: string, value: unknown): void {
  const parts: (string | number)[] = [];
  for (const seg of path.split(".")) {
    const m = /^([^[\]]+)((\[\d+\])*)$/.exec(seg);
    if (!m) throw new Error(`bad path segment ${JSON.stringify(seg)}`);
    parts.push(m[1] as string);
    for (const idx of (m[2] ?? "").matchAll(/\[(\d+)\]/g)) parts.push(Number(idx[1]));
  }
  let cur: Values | unknown[] = values;
  parts.forEach((p, i) => {
    const last = i === parts.length - 1;
    const next = parts[i + 1];
    const container = cur as Record<string | number, unknown>;
    if (last) {
      container[p] = value;
      return;
    }
    let child = container[p];
    if (typeof next === "number" ? !Array.isArray(child) : !isMap(child)) {
      child = typeof next === "number" ? [] : {};
      container[p] = child;
    }
    cur = child as Values | unknown[];
  });
}

function describeSource(s: ValuesSource): string {
  switch (s.kind) {
    case "ConfigMap":
    case "Secret":
      return `${s.kind} ${s.namespace}/${s.name} key ${s.key}`;
    case "ChartFile":
      return `chart file ${s.path}`;
    case "External":
      return `URL ${s.url.replace(/\/\/[^/@]*@/, "//***@")}`;
  }
}

/**
 * Reads every `valuesFrom` source of `spec` in order and merges them below `spec.values`; v2
 * `targetPath` entries are applied last. Throws a `HelmSpecError` naming the file and the
 * `valuesFrom[i]` entry for a required source that is missing or unparsable. Reader failures
 * other than "not found" (e.g. an unreachable API server) propagate unchanged.
 */
export async function composeValues(
  spec: HelmReleaseSpec,
  reader: ValuesSourceReader,
): Promise<ComposedValues> {
  let merged: Values = {};
  const secrets: string[] = [];
  const skipped: string[] = [];
  const targeted: [string, unknown][] = [];
  const v1 = spec.flavour === "v1";
  for (const [i, src] of spec.valuesFrom.entries()) {
    const field = `spec.valuesFrom[${i}]`;
    const what = describeSource(src);
    const fail = (problem: string): never => {
      throw new HelmSpecError(spec.file, field, `${what}: ${problem}`);
    };
    let text: string | undefined;
    let found = true;
    if (src.kind === "ConfigMap" || src.kind === "Secret") {
      const data =
        src.kind === "ConfigMap"
          ? await reader.configMap(src.namespace, src.name)
          : await reader.secret(src.namespace, src.name);
      if (data === undefined) found = false;
      else {
        text = data[src.key];
        if (src.kind === "Secret") secrets.push(...Object.values(data).filter((s) => s.length >= 4));
        if (text === undefined) {
          if (src.optional && v1) {
            skipped.push(`${what} (no such key)`);
            continue;
          }
          fail("no such key");
        }
      }
    } else if (src.kind === "ChartFile") {
      text = await reader.chartFile(src.path);
      found = text !== undefined;
    } else {
      text = await reader.external((src as Extract<ValuesSource, { kind: "External" }>).url);
      found = text !== undefined;
    }
    if (!found) {
      if (src.optional) {
        skipped.push(`${what} (not found)`);
        continue;
      }
      fail("not found");
    }
    if ((src.kind === "ConfigMap" || src.kind === "Secret") && src.targetPath !== undefined) {
      targeted.push([src.targetPath, typedScalar((text as string).trim())]);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text as string);
    } catch (err) {
      if (src.optional && v1) {
        skipped.push(`${what} (not valid YAML)`);
        continue;
      }
      // The YAML error may quote a line of a Secret: keep only its position.
      const pos = (err as { linePos?: { line: number; col: number }[] }).linePos?.[0];
      fail(`not valid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ""}`);
    }
    if (parsed === null || parsed === undefined) continue;
    if (!isMap(parsed)) {
      if (src.optional && v1) {
        skipped.push(`${what} (not a map)`);
        continue;
      }
      fail("must hold a YAML map of values");
    }
    merged = mergeValues(merged, parsed as Values);
  }
  merged = mergeValues(merged, spec.values);
  for (const [path, v] of targeted) setPath(merged, path, v);
  return { values: merged, secrets, skipped };
}
