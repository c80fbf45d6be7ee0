/**
 * HelmRelease definitions (`helm.fluxcd.io/v1` of helm-operator, `helm.toolkit.fluxcd.io/v2` of
 * helm-controller) parsed into one normalised `HelmReleaseSpec`.
 *
 * Contract: `parseHelmRelease` is pure; it never reads the cluster or git. Every default of the
 * source spec is applied here (REFERENCE.md §3, research/helm-reconciler.md §1–2), so the rest of
 * src/helm reads one shape and never asks which apiVersion it came from. Bad input throws a
 * `HelmSpecError` whose message names the file and the field (`releases/dev/podinfo.yaml:
 * spec.chart.git: …`).
 *
 * v1 failure handling is mapped onto v2's remediation model (ADR 0009): `rollback.enable` becomes
 * `upgrade.remediation.strategy: rollback` with `remediateLastFailure`, `rollback.retry` +
 * `maxRetries` become `retries`. Without rollback a failed upgrade is left failed and retried only
 * when the chart, the values or the spec change (v1 left it for a human forever).
 */
import { StalledError } from "../core/errors.js";

export const HELM_V1 = "helm.fluxcd.io/v1";
export const HELM_V2_PREFIX = "helm.toolkit.fluxcd.io/";

/** Where the chart comes from. */
export type ChartSourceSpec =
  /** A chart directory in a git repository (v1 `chart.git/path/ref`, v2 GitRepository sourceRef). */
  | { type: "git"; url: string; path: string; ref?: string }
  /** A chart in a classic Helm repository (`index.yaml`). */
  | { type: "repo"; url: string; name: string; version: string }
  /** An OCI chart: `url` is `oci://host/path` without the chart name, like `helm pull oci://…/name`. */
  | { type: "oci"; url: string; name: string; version: string };

/** v2 `sourceRef` left unresolved: the caller maps it to a `ChartSourceSpec` (same revision). */
export interface SourceRef {
  kind: "HelmRepository" | "GitRepository" | "OCIRepository";
  name: string;
  namespace: string;
}

/** One `valuesFrom` entry, in list order. */
export type ValuesSource =
  | {
      kind: "ConfigMap" | "Secret";
      name: string;
      namespace: string;
      /** Key in `data` holding YAML (default `values.yaml`). */
      key: string;
      /** v2: put the (raw) value at this dotted path instead of merging a YAML map. */
      targetPath?: string;
      optional: boolean;
    }
  | { kind: "ChartFile"; path: string; optional: boolean }
  | { kind: "External"; url: string; optional: boolean };

/** What to do when an install or an upgrade fails (Flux v2 remediation). */
export interface Remediation {
  /** How many more attempts with the same chart+values after a failure; -1 = unlimited. */
  retries: number;
  /** Remediate (rollback / uninstall) also after the last allowed attempt. */
  remediateLastFailure: boolean;
  /** Upgrades: roll back or uninstall; installs always uninstall. */
  strategy: "rollback" | "uninstall";
  /** A failed `helm test` does not count as a failure. */
  ignoreTestFailures: boolean;
}

/** The normalised HelmRelease. Durations are in seconds. */
export interface HelmReleaseSpec {
  /** apiVersion as written, and which family it is. */
  apiVersion: string;
  flavour: "v1" | "v2";
  /** Repo-relative file it was read from (for messages). */
  file: string;
  /** The HelmRelease object. */
  name: string;
  namespace: string;
  releaseName: string;
  /** Where the release's objects and Helm's storage live (`-n`). */
  targetNamespace: string;
  chart: ChartSourceSpec | { type: "ref"; ref: SourceRef; chart: string; version: string };
  values: Record<string, unknown>;
  valuesFrom: ValuesSource[];
  timeout: number;
  maxHistory: number;
  /** false only for an explicit v1 `resetValues: false` (then `--reuse-values`). */
  resetValues: boolean;
  wait: boolean;
  forceUpgrade: boolean;
  skipCRDs: boolean;
  disableOpenAPIValidation: boolean;
  suspend: boolean;
  install: { remediation: Remediation };
  upgrade: { remediation: Remediation };
  rollback: { timeout: number; disableHooks: boolean; force: boolean; wait: boolean };
  test: { enable: boolean; ignoreFailures: boolean; timeout: number };
  uninstall: { timeout: number; keepHistory: boolean; disableHooks: boolean };
}

/** A HelmRelease that cannot be used as written. Misconfiguration: not retried until it changes. */
export class HelmSpecError extends StalledError {
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${file}: ${field}: ${problem}`);
  }
}

/** True for an apiVersion/kind this module parses. */
export function isHelmRelease(obj: { apiVersion?: unknown; kind?: unknown }): boolean {
  return (
    obj.kind === "HelmRelease" &&
    typeof obj.apiVersion === "string" &&
    (obj.apiVersion === HELM_V1 || obj.apiVersion.startsWith(HELM_V2_PREFIX))
  );
}

type Obj = Record<string, unknown>;

class Reader {
  constructor(readonly file: string) {}
  fail(field: string, problem: string): never {
    throw new HelmSpecError(this.file, field, problem);
  }
  obj(v: unknown, field: string, required = false): Obj | undefined {
    if (v === undefined || v === null) return required ? this.fail(field, "is required") : undefined;
    if (typeof v !== "object" || Array.isArray(v)) this.fail(field, `must be a map, not ${describe(v)}`);
    return v as Obj;
  }
  str(v: unknown, field: string, required = false): string | undefined {
    if (v === undefined || v === null || v === "")
      return required ? this.fail(field, "is required") : undefined;
    if (typeof v !== "string") this.fail(field, `must be a string, not ${describe(v)}`);
    return v;
  }
  bool(v: unknown, field: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean")
      this.fail(
        field,
        `must be true or false, not ${describe(v)}${typeof v === "string" ? " (a string)" : ""}`,
      );
    return v;
  }
  int(v: unknown, field: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v))
      this.fail(field, `must be an integer, not ${describe(v)}`);
    return v;
  }
  /** v1 durations are integer seconds; v2 are Go durations (`5m`, `1h30m`, `90s`). */
  duration(v: unknown, field: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
    if (typeof v === "string") {
      const s = parseGoDuration(v);
      if (s !== undefined) return s;
    }
    return this.fail(field, `must be a duration such as 300 (seconds) or "5m", not ${describe(v)}`);
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v === "object" ? "a map" : String(v);
}

/** Go `time.ParseDuration` for h/m/s/ms, rounded up to whole seconds; undefined when invalid. */
export function parseGoDuration(s: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(s)) return undefined;
  let ms = 0;
  for (const [, n, , unit] of s.matchAll(/(\d+(\.\d+)?)(ms|h|m|s)/g)) {
    const f = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }[unit as "h" | "m" | "s" | "ms"];
    ms += Number(n) * f;
  }
  return Math.ceil(ms / 1000);
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Parses one HelmRelease object (as read from `file`) into a `HelmReleaseSpec`. `defaultNamespace`
 * applies when the object has none (the sync's default namespace; Kubernetes' is `default`).
 */
export function parseHelmRelease(raw: unknown, file: string, defaultNamespace = "default"): HelmReleaseSpec {
  const r = new Reader(file);
  const obj = r.obj(raw, "(document)", true) as Obj;
  const apiVersion = r.str(obj.apiVersion, "apiVersion", true) as string;
  if (obj.kind !== "HelmRelease") r.fail("kind", `must be HelmRelease, not ${describe(obj.kind)}`);
  const flavour = apiVersion === HELM_V1 ? "v1" : apiVersion.startsWith(HELM_V2_PREFIX) ? "v2" : undefined;
  if (!flavour) r.fail("apiVersion", `${apiVersion} is not ${HELM_V1} or ${HELM_V2_PREFIX}v2`);
  const meta = r.obj(obj.metadata, "metadata", true) as Obj;
  const name = r.str(meta.name, "metadata.name", true) as string;
  if (!NAME.test(name)) r.fail("metadata.name", `${JSON.stringify(name)} is not a valid Kubernetes name`);
  const namespace = r.str(meta.namespace, "metadata.namespace") ?? defaultNamespace;
  const spec = r.obj(obj.spec, "spec", true) as Obj;
  return flavour === "v1"
    ? parseV1(r, apiVersion, name, namespace, spec)
    : parseV2(r, apiVersion, name, namespace, spec);
}

function releaseNameOf(r: Reader, given: string | undefined, field: string, fallback: string): string {
  const n = given ?? fallback;
  if (n.length > 53) r.fail(field, `release name ${JSON.stringify(n)} is longer than Helm's 53 characters`);
  if (!NAME.test(n)) r.fail(field, `release name ${JSON.stringify(n)} is not a valid Helm release name`);
  return n;
}

function values(r: Reader, v: unknown, field: string): Record<string, unknown> {
  return (r.obj(v, field) ?? {}) as Record<string, unknown>;
}

function parseV1(r: Reader, apiVersion: string, name: string, namespace: string, spec: Obj): HelmReleaseSpec {
  const targetNamespace = r.str(spec.targetNamespace, "spec.targetNamespace") ?? namespace;
  // helm-operator: `<targetNamespace>-<name>`, with the HR namespace in front when they differ.
  const fallback =
    targetNamespace === namespace ? `${namespace}-${name}` : `${namespace}-${targetNamespace}-${name}`;
  const releaseName = releaseNameOf(
    r,
    r.str(spec.releaseName, "spec.releaseName"),
    "spec.releaseName",
    fallback,
  );
  const chart = r.obj(spec.chart, "spec.chart", true) as Obj;
  let source: ChartSourceSpec;
  if (chart.git !== undefined) {
    const url = r.str(chart.git, "spec.chart.git", true) as string;
    const path = r.str(chart.path, "spec.chart.path", true) as string;
    checkRelPath(r, path, "spec.chart.path");
    source = {
      type: "git",
      url,
      path: normPath(path),
      ...optional("ref", r.str(chart.ref, "spec.chart.ref")),
    };
  } else if (chart.repository !== undefined) {
    const url = r.str(chart.repository, "spec.chart.repository", true) as string;
    const chartName = r.str(chart.name, "spec.chart.name", true) as string;
    const version = r.str(stringish(chart.version), "spec.chart.version", true) as string;
    source = url.startsWith("oci://")
      ? { type: "oci", url: url.replace(/\/+$/, ""), name: chartName, version }
      : { type: "repo", url, name: chartName, version };
  } else {
    r.fail("spec.chart", "needs either git + path (a chart in git) or repository + name + version");
  }

  const rollback = r.obj(spec.rollback, "spec.rollback") ?? {};
  const test = r.obj(spec.test, "spec.test") ?? {};
  const rollbackEnable = r.bool(rollback.enable, "spec.rollback.enable") ?? false;
  const retry = r.bool(rollback.retry, "spec.rollback.retry") ?? false;
  const maxRetries = r.int(rollback.maxRetries, "spec.rollback.maxRetries") ?? 5;
  if (maxRetries < 0) r.fail("spec.rollback.maxRetries", "must be 0 (unlimited) or more");
  const testEnable = r.bool(test.enable, "spec.test.enable") ?? false;
  const ignoreFailures = r.bool(test.ignoreFailures, "spec.test.ignoreFailures") ?? false;
  const timeout = r.duration(spec.timeout, "spec.timeout") ?? 300;
  const upgradeRemediation: Remediation = rollbackEnable
    ? {
        strategy: "rollback",
        retries: retry ? (maxRetries === 0 ? -1 : maxRetries) : 0,
        remediateLastFailure: true,
        ignoreTestFailures: ignoreFailures,
      }
    : { strategy: "rollback", retries: 0, remediateLastFailure: false, ignoreTestFailures: ignoreFailures };

  return {
    apiVersion,
    flavour: "v1",
    file: r.file,
    name,
    namespace,
    releaseName,
    targetNamespace,
    chart: source,
    values: values(r, spec.values, "spec.values"),
    valuesFrom: parseValuesFromV1(r, spec, namespace),
    timeout,
    maxHistory: nonNegative(r, r.int(spec.maxHistory, "spec.maxHistory"), "spec.maxHistory") ?? 10,
    resetValues: r.bool(spec.resetValues, "spec.resetValues") ?? true,
    wait: r.bool(spec.wait, "spec.wait") ?? (rollbackEnable || testEnable),
    forceUpgrade: r.bool(spec.forceUpgrade, "spec.forceUpgrade") ?? false,
    skipCRDs: r.bool(spec.skipCRDs, "spec.skipCRDs") ?? false,
    disableOpenAPIValidation: r.bool(spec.disableOpenAPIValidation, "spec.disableOpenAPIValidation") ?? false,
    suspend: false,
    // v1 purged a failed install so that the next sync installs afresh, forever; we keep the failed
    // release and try again only on a change (ADR 0009).
    install: {
      remediation: {
        strategy: "uninstall",
        retries: 0,
        remediateLastFailure: false,
        ignoreTestFailures: ignoreFailures,
      },
    },
    upgrade: { remediation: upgradeRemediation },
    rollback: {
      timeout: r.duration(rollback.timeout, "spec.rollback.timeout") ?? 300,
      disableHooks: r.bool(rollback.disableHooks, "spec.rollback.disableHooks") ?? false,
      force: r.bool(rollback.force, "spec.rollback.force") ?? false,
      wait: r.bool(rollback.wait, "spec.rollback.wait") ?? false,
    },
    test: {
      enable: testEnable,
      ignoreFailures,
      timeout: r.duration(test.timeout, "spec.test.timeout") ?? 300,
    },
    uninstall: { timeout, keepHistory: false, disableHooks: false },
  };
}

function parseValuesFromV1(r: Reader, spec: Obj, namespace: string): ValuesSource[] {
  const out: ValuesSource[] = [];
  // Deprecated `valueFileSecrets` are prepended as secretKeyRefs (helm-operator).
  const vfs = spec.valueFileSecrets;
  if (vfs !== undefined) {
    if (!Array.isArray(vfs)) r.fail("spec.valueFileSecrets", "must be a list");
    vfs.forEach((e, i) => {
      const f = `spec.valueFileSecrets[${i}]`;
      const o = r.obj(e, f, true) as Obj;
      out.push({
        kind: "Secret",
        name: r.str(o.name, `${f}.name`, true) as string,
        namespace,
        key: "values.yaml",
        optional: false,
      });
    });
  }
  const list = spec.valuesFrom;
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) r.fail("spec.valuesFrom", "must be a list");
  list.forEach((e, i) => {
    const f = `spec.valuesFrom[${i}]`;
    const o = r.obj(e, f, true) as Obj;
    const kinds = ["configMapKeyRef", "secretKeyRef", "chartFileRef", "externalSourceRef"].filter(
      (k) => o[k] !== undefined,
    );
    if (kinds.length !== 1)
      r.fail(f, "needs exactly one of configMapKeyRef, secretKeyRef, chartFileRef, externalSourceRef");
    const k = kinds[0] as string;
    const ref = r.obj(o[k], `${f}.${k}`, true) as Obj;
    const optional = r.bool(ref.optional, `${f}.${k}.optional`) ?? false;
    if (k === "configMapKeyRef" || k === "secretKeyRef") {
      out.push({
        kind: k === "configMapKeyRef" ? "ConfigMap" : "Secret",
        name: r.str(ref.name, `${f}.${k}.name`, true) as string,
        namespace: r.str(ref.namespace, `${f}.${k}.namespace`) ?? namespace,
        key: r.str(ref.key, `${f}.${k}.key`) ?? "values.yaml",
        optional,
      });
    } else if (k === "chartFileRef") {
      const path = r.str(ref.path, `${f}.chartFileRef.path`, true) as string;
      checkRelPath(r, path, `${f}.chartFileRef.path`);
      out.push({ kind: "ChartFile", path: normPath(path), optional });
    } else {
      const url = r.str(ref.url, `${f}.externalSourceRef.url`, true) as string;
      if (!/^https?:\/\//i.test(url)) r.fail(`${f}.externalSourceRef.url`, "must be an http(s) URL");
      out.push({ kind: "External", url, optional });
    }
  });
  return out;
}

function remediation(r: Reader, v: unknown, field: string, kind: "install" | "upgrade"): Remediation {
  const o = r.obj(v, field) ?? {};
  const retries = r.int(o.retries, `${field}.retries`) ?? 0;
  const strategy = r.str(o.strategy, `${field}.strategy`) ?? (kind === "install" ? "uninstall" : "rollback");
  if (strategy !== "rollback" && strategy !== "uninstall")
    r.fail(`${field}.strategy`, `must be rollback or uninstall, not ${JSON.stringify(strategy)}`);
  if (kind === "install" && o.strategy !== undefined)
    r.fail(`${field}.strategy`, "is only valid for upgrade");
  return {
    retries: retries < 0 ? -1 : retries,
    strategy,
    // helm-controller: install defaults to false; upgrade to true when retries > 0.
    remediateLastFailure:
      r.bool(o.remediateLastFailure, `${field}.remediateLastFailure`) ??
      (kind === "upgrade" && retries !== 0),
    ignoreTestFailures: r.bool(o.ignoreTestFailures, `${field}.ignoreTestFailures`) ?? false,
  };
}

function parseV2(r: Reader, apiVersion: string, name: string, namespace: string, spec: Obj): HelmReleaseSpec {
  const targetNamespace = r.str(spec.targetNamespace, "spec.targetNamespace") ?? namespace;
  const fallback = spec.targetNamespace ? `${targetNamespace}-${name}` : name;
  const releaseName = releaseNameOf(
    r,
    r.str(spec.releaseName, "spec.releaseName"),
    "spec.releaseName",
    fallback,
  );
  if (spec.chartRef !== undefined) r.fail("spec.chartRef", "is not supported yet; use spec.chart.spec");
  const chartSpec = r.obj(r.obj(spec.chart, "spec.chart", true)?.spec, "spec.chart.spec", true) as Obj;
  const chartName = r.str(chartSpec.chart, "spec.chart.spec.chart", true) as string;
  const version = r.str(stringish(chartSpec.version), "spec.chart.spec.version") ?? "*";
  const sref = r.obj(chartSpec.sourceRef, "spec.chart.spec.sourceRef", true) as Obj;
  const kind = r.str(sref.kind, "spec.chart.spec.sourceRef.kind", true) as string;
  if (kind !== "HelmRepository" && kind !== "GitRepository" && kind !== "OCIRepository")
    r.fail(
      "spec.chart.spec.sourceRef.kind",
      `must be HelmRepository or GitRepository, not ${JSON.stringify(kind)}`,
    );
  const ref: SourceRef = {
    kind,
    name: r.str(sref.name, "spec.chart.spec.sourceRef.name", true) as string,
    namespace: r.str(sref.namespace, "spec.chart.spec.sourceRef.namespace") ?? namespace,
  };
  if (kind === "GitRepository") checkRelPath(r, chartName, "spec.chart.spec.chart");

  const install = r.obj(spec.install, "spec.install") ?? {};
  const upgrade = r.obj(spec.upgrade, "spec.upgrade") ?? {};
  const test = r.obj(spec.test, "spec.test") ?? {};
  const rollback = r.obj(spec.rollback, "spec.rollback") ?? {};
  const uninstall = r.obj(spec.uninstall, "spec.uninstall") ?? {};
  const timeout = r.duration(spec.timeout, "spec.timeout") ?? 300;
  const installCrds = r.str(install.crds, "spec.install.crds");
  const upgradeCrds = r.str(upgrade.crds, "spec.upgrade.crds");
  for (const [v, f] of [
    [installCrds, "spec.install.crds"],
    [upgradeCrds, "spec.upgrade.crds"],
  ] as const) {
    if (v !== undefined && !["Skip", "Create", "CreateReplace"].includes(v))
      r.fail(f, `must be Skip, Create or CreateReplace, not ${JSON.stringify(v)}`);
  }
  const disableWait = r.bool(install.disableWait, "spec.install.disableWait") ?? false;
  const upgradeDisableWait = r.bool(upgrade.disableWait, "spec.upgrade.disableWait") ?? false;
  return {
    apiVersion,
    flavour: "v2",
    file: r.file,
    name,
    namespace,
    releaseName,
    targetNamespace,
    chart: { type: "ref", ref, chart: kind === "GitRepository" ? normPath(chartName) : chartName, version },
    values: values(r, spec.values, "spec.values"),
    valuesFrom: parseValuesFromV2(r, spec.valuesFrom, namespace),
    timeout,
    maxHistory: nonNegative(r, r.int(spec.maxHistory, "spec.maxHistory"), "spec.maxHistory") ?? 5,
    resetValues: !(r.bool(upgrade.preserveValues, "spec.upgrade.preserveValues") ?? false),
    // v2 waits unless disabled; one flag for both actions (the stricter one wins).
    wait: !(disableWait || upgradeDisableWait),
    forceUpgrade: r.bool(upgrade.force, "spec.upgrade.force") ?? false,
    skipCRDs: installCrds === "Skip",
    disableOpenAPIValidation:
      r.bool(install.disableOpenAPIValidation, "spec.install.disableOpenAPIValidation") ??
      r.bool(upgrade.disableOpenAPIValidation, "spec.upgrade.disableOpenAPIValidation") ??
      false,
    suspend: r.bool(spec.suspend, "spec.suspend") ?? false,
    install: { remediation: remediation(r, install.remediation, "spec.install.remediation", "install") },
    upgrade: { remediation: remediation(r, upgrade.remediation, "spec.upgrade.remediation", "upgrade") },
    rollback: {
      timeout: r.duration(rollback.timeout, "spec.rollback.timeout") ?? timeout,
      disableHooks: r.bool(rollback.disableHooks, "spec.rollback.disableHooks") ?? false,
      force: r.bool(rollback.force, "spec.rollback.force") ?? false,
      wait: !(r.bool(rollback.disableWait, "spec.rollback.disableWait") ?? false),
    },
    test: {
      enable: r.bool(test.enable, "spec.test.enable") ?? false,
      ignoreFailures: r.bool(test.ignoreFailures, "spec.test.ignoreFailures") ?? false,
      timeout: r.duration(test.timeout, "spec.test.timeout") ?? timeout,
    },
    uninstall: {
      timeout: r.duration(uninstall.timeout, "spec.uninstall.timeout") ?? timeout,
      keepHistory: r.bool(uninstall.keepHistory, "spec.uninstall.keepHistory") ?? false,
      disableHooks: r.bool(uninstall.disableHooks, "spec.uninstall.disableHooks") ?? false,
    },
  };
}

function parseValuesFromV2(r: Reader, list: unknown, namespace: string): ValuesSource[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) r.fail("spec.valuesFrom", "must be a list");
  return list.map((e, i) => {
    const f = `spec.valuesFrom[${i}]`;
    const o = r.obj(e, f, true) as Obj;
    const kind = r.str(o.kind, `${f}.kind`, true) as string;
    if (kind !== "ConfigMap" && kind !== "Secret")
      r.fail(`${f}.kind`, `must be ConfigMap or Secret, not ${JSON.stringify(kind)}`);
    const targetPath = r.str(o.targetPath, `${f}.targetPath`);
    if (targetPath !== undefined && !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+|\[\d+\])*$/.test(targetPath))
      r.fail(`${f}.targetPath`, `${JSON.stringify(targetPath)} is not a dotted path such as image.tag`);
    return {
      kind,
      name: r.str(o.name, `${f}.name`, true) as string,
      // v2 reads valuesFrom only from the HelmRelease's own namespace.
      namespace,
      key: r.str(o.valuesKey, `${f}.valuesKey`) ?? "values.yaml",
      ...optional("targetPath", targetPath),
      optional: r.bool(o.optional, `${f}.optional`) ?? false,
    };
  });
}

function optional<K extends string, V>(key: K, v: V | undefined): { [k in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [k in K]?: V };
}

/** YAML turns `version: 1.0` into a number; a chart version is a string. */
function stringish(v: unknown): unknown {
  return typeof v === "number" ? String(v) : v;
}

function nonNegative(r: Reader, v: number | undefined, field: string): number | undefined {
  if (v !== undefined && v < 0) r.fail(field, "must be 0 or more");
  return v;
}

function checkRelPath(r: Reader, p: string, field: string): void {
  if (p.startsWith("/") || p.split("/").includes(".."))
    r.fail(field, `${JSON.stringify(p)} must stay inside the repository`);
}

function normPath(p: string): string {
  return p.replace(/^\.\//, "").replace(/\/+$/, "") || ".";
}

/** A Flux source object (HelmRepository / GitRepository / OCIRepository) found in the same revision. */
export interface FluxSource {
  kind: SourceRef["kind"];
  name: string;
  namespace: string;
  /** `spec.url` as written. */
  url: string;
  /** GitRepository `spec.ref.{branch,tag,commit}`, if any. */
  ref?: string;
}

/**
 * Turns a v2 `chart.spec.sourceRef` into a concrete chart source, using the Flux source objects
 * of the same git revision. Throws a `HelmSpecError` naming the file when the source is missing.
 * A HelmRepository with `type: oci` (an `oci://` URL) becomes an OCI source.
 */
export function resolveSourceRef(spec: HelmReleaseSpec, sources: readonly FluxSource[]): ChartSourceSpec {
  const c = spec.chart;
  if (c.type !== "ref") return c;
  const src = sources.find(
    (s) => s.kind === c.ref.kind && s.name === c.ref.name && s.namespace === c.ref.namespace,
  );
  if (!src) {
    throw new HelmSpecError(
      spec.file,
      "spec.chart.spec.sourceRef",
      `${c.ref.kind} ${c.ref.namespace}/${c.ref.name} is not defined in this revision`,
    );
  }
  if (src.kind === "GitRepository") {
    return { type: "git", url: src.url, path: c.chart, ...(src.ref ? { ref: src.ref } : {}) };
  }
  if (src.url.startsWith("oci://")) {
    return { type: "oci", url: src.url.replace(/\/+$/, ""), name: c.chart, version: c.version };
  }
  return { type: "repo", url: src.url, name: c.chart, version: c.version };
}
