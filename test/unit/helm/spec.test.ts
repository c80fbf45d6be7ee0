import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  HelmSpecError,
  parseGoDuration,
  parseHelmRelease,
  resolveSourceRef,
} from "../../../src/helm/spec.js";

const v1 = (spec: string, meta = "  name: podinfo-dev\n  namespace: dev\n") =>
  parse(`apiVersion: helm.fluxcd.io/v1\nkind: HelmRelease\nmetadata:\n${meta}spec:\n${spec}`);
const v2 = (spec: string) =>
  parse(
    `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: dev\nspec:\n${spec}`,
  );
const gitChart =
  "  chart:\n    git: git@github.com:fluxcd/helm-operator-get-started\n    path: charts/podinfo\n    ref: master\n";
const FILE = "releases/dev/podinfo.yaml";

describe("parseHelmRelease v1", () => {
  it("applies helm-operator's defaults to the tutorial's HelmRelease", () => {
    const s = parseHelmRelease(v1(`${gitChart}  values:\n    replicaCount: 1\n`), FILE);
    expect(s).toMatchObject({
      flavour: "v1",
      file: FILE,
      name: "podinfo-dev",
      namespace: "dev",
      releaseName: "dev-podinfo-dev",
      targetNamespace: "dev",
      chart: {
        type: "git",
        url: "git@github.com:fluxcd/helm-operator-get-started",
        path: "charts/podinfo",
        ref: "master",
      },
      values: { replicaCount: 1 },
      valuesFrom: [],
      timeout: 300,
      maxHistory: 10,
      resetValues: true,
      wait: false,
      forceUpgrade: false,
      skipCRDs: false,
      test: { enable: false, ignoreFailures: false, timeout: 300 },
      upgrade: { remediation: { retries: 0, remediateLastFailure: false } },
    });
  });

  it("names the release <ns>-<targetNamespace>-<name> when the target namespace differs", () => {
    const s = parseHelmRelease(v1(`${gitChart}  targetNamespace: apps\n`), FILE);
    expect(s.releaseName).toBe("dev-apps-podinfo-dev");
    expect(s.targetNamespace).toBe("apps");
  });

  it("waits by default only when rollback or test is enabled", () => {
    expect(parseHelmRelease(v1(`${gitChart}  rollback:\n    enable: true\n`), FILE).wait).toBe(true);
    expect(parseHelmRelease(v1(`${gitChart}  test:\n    enable: true\n`), FILE).wait).toBe(true);
    expect(parseHelmRelease(v1(`${gitChart}  rollback:\n    enable: true\n  wait: false\n`), FILE).wait).toBe(
      false,
    );
  });

  it("maps rollback.enable/retry/maxRetries onto remediation", () => {
    const plain = parseHelmRelease(v1(`${gitChart}  rollback:\n    enable: true\n`), FILE);
    expect(plain.upgrade.remediation).toMatchObject({
      strategy: "rollback",
      retries: 0,
      remediateLastFailure: true,
    });
    const retry = parseHelmRelease(v1(`${gitChart}  rollback:\n    enable: true\n    retry: true\n`), FILE);
    expect(retry.upgrade.remediation.retries).toBe(5);
    const unlimited = parseHelmRelease(
      v1(
        `${gitChart}  rollback:\n    enable: true\n    retry: true\n    maxRetries: 0\n    timeout: 60\n    force: true\n    disableHooks: true\n`,
      ),
      FILE,
    );
    expect(unlimited.upgrade.remediation.retries).toBe(-1);
    expect(unlimited.rollback).toEqual({ timeout: 60, force: true, disableHooks: true, wait: false });
  });

  it("reads a repository chart, an OCI chart, and the explicit fields", () => {
    const s = parseHelmRelease(
      v1(
        "  releaseName: sealed\n  chart:\n    repository: https://charts.example.com/\n    name: sealed-secrets\n    version: 1.10\n  timeout: 60\n  maxHistory: 3\n  resetValues: false\n  forceUpgrade: true\n  skipCRDs: true\n",
      ),
      FILE,
    );
    expect(s.chart).toEqual({
      type: "repo",
      url: "https://charts.example.com/",
      name: "sealed-secrets",
      version: "1.1",
    });
    expect(s).toMatchObject({
      releaseName: "sealed",
      timeout: 60,
      maxHistory: 3,
      resetValues: false,
      forceUpgrade: true,
      skipCRDs: true,
    });
    const oci = parseHelmRelease(
      v1("  chart:\n    repository: oci://127.0.0.1:5000/charts/\n    name: demo\n    version: '0.1.0'\n"),
      FILE,
    );
    expect(oci.chart).toEqual({
      type: "oci",
      url: "oci://127.0.0.1:5000/charts",
      name: "demo",
      version: "0.1.0",
    });
  });

  it("reads valuesFrom in order, with defaults", () => {
    const s = parseHelmRelease(
      v1(
        `${gitChart}  valuesFrom:\n    - configMapKeyRef: {name: cm}\n    - secretKeyRef: {name: s, namespace: other, key: k.yaml, optional: true}\n    - chartFileRef: {path: ./values-dev.yaml}\n    - externalSourceRef: {url: "https://example.com/v.yaml"}\n`,
      ),
      FILE,
    );
    expect(s.valuesFrom).toEqual([
      { kind: "ConfigMap", name: "cm", namespace: "dev", key: "values.yaml", optional: false },
      { kind: "Secret", name: "s", namespace: "other", key: "k.yaml", optional: true },
      { kind: "ChartFile", path: "values-dev.yaml", optional: false },
      { kind: "External", url: "https://example.com/v.yaml", optional: false },
    ]);
  });

  it.each([
    ["  chart: {}\n", "spec.chart: needs either git + path"],
    ["  chart:\n    git: x\n", "spec.chart.path: is required"],
    ["  chart:\n    git: x\n    path: ../up\n", 'spec.chart.path: "../up" must stay inside'],
    [
      `${gitChart}  rollback:\n    enable: "true"\n`,
      'spec.rollback.enable: must be true or false, not "true" (a string)',
    ],
    [`${gitChart}  timeout: soon\n`, "spec.timeout: must be a duration"],
    [`${gitChart}  values: [1]\n`, "spec.values: must be a map, not a list"],
    [`${gitChart}  valuesFrom:\n    - {}\n`, "spec.valuesFrom[0]: needs exactly one of"],
    [
      `${gitChart}  valuesFrom:\n    - externalSourceRef: {url: "file:///etc/passwd"}\n`,
      "spec.valuesFrom[0].externalSourceRef.url: must be an http(s) URL",
    ],
    [
      `${gitChart}  releaseName: ${"x".repeat(54)}\n`,
      `spec.releaseName: release name "${"x".repeat(54)}" is longer than Helm's 53 characters`,
    ],
  ])("rejects %j naming file and field", (spec, message) => {
    const fn = () => parseHelmRelease(v1(spec), FILE);
    expect(fn).toThrow(HelmSpecError);
    expect(fn).toThrow(`${FILE}: ${message}`);
  });

  it("rejects a missing name and a foreign apiVersion", () => {
    expect(() => parseHelmRelease(v1(gitChart, "  namespace: dev\n"), FILE)).toThrow(
      `${FILE}: metadata.name: is required`,
    );
    expect(() =>
      parseHelmRelease(
        { apiVersion: "apps/v1", kind: "HelmRelease", metadata: { name: "a" }, spec: {} },
        FILE,
      ),
    ).toThrow("apiVersion: apps/v1 is not");
  });
});

describe("parseHelmRelease v2", () => {
  const chart =
    "  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      version: '>=6.0.0'\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n";
  it("applies helm-controller's defaults", () => {
    const s = parseHelmRelease(v2(chart), FILE);
    expect(s).toMatchObject({
      flavour: "v2",
      releaseName: "podinfo",
      targetNamespace: "dev",
      chart: {
        type: "ref",
        ref: { kind: "HelmRepository", name: "podinfo", namespace: "dev" },
        chart: "podinfo",
        version: ">=6.0.0",
      },
      timeout: 300,
      maxHistory: 5,
      wait: true,
      install: { remediation: { retries: 0, remediateLastFailure: false } },
      upgrade: { remediation: { retries: 0, strategy: "rollback", remediateLastFailure: false } },
    });
  });

  it("reads remediation, targetNamespace, Go durations and valuesFrom", () => {
    const s = parseHelmRelease(
      v2(
        `${chart}  targetNamespace: apps\n  timeout: 1m30s\n  install:\n    crds: Skip\n    disableWait: true\n    remediation: {retries: -1}\n  upgrade:\n    force: true\n    remediation: {retries: 3, strategy: uninstall}\n  test: {enable: true, timeout: 2m}\n  valuesFrom:\n    - {kind: Secret, name: s, valuesKey: tag, targetPath: image.tag, optional: true}\n`,
      ),
      FILE,
    );
    expect(s).toMatchObject({
      releaseName: "apps-podinfo",
      targetNamespace: "apps",
      timeout: 90,
      skipCRDs: true,
      wait: false,
      forceUpgrade: true,
      install: { remediation: { retries: -1 } },
      upgrade: { remediation: { retries: 3, strategy: "uninstall", remediateLastFailure: true } },
      test: { enable: true, timeout: 120 },
      valuesFrom: [
        { kind: "Secret", name: "s", namespace: "dev", key: "tag", targetPath: "image.tag", optional: true },
      ],
    });
  });

  it("names the field of a bad v2 entry", () => {
    expect(() => parseHelmRelease(v2(`${chart}  valuesFrom:\n    - {kind: Pod, name: x}\n`), FILE)).toThrow(
      `${FILE}: spec.valuesFrom[0].kind: must be ConfigMap or Secret`,
    );
    expect(() => parseHelmRelease(v2("  chart: {}\n"), FILE)).toThrow(
      `${FILE}: spec.chart.spec: is required`,
    );
  });
});

describe("parseGoDuration", () => {
  it.each([
    ["5m", 300],
    ["1h30m", 5400],
    ["90s", 90],
    ["1500ms", 2],
    ["0.5m", 30],
  ])("%s = %i s", (s, n) => expect(parseGoDuration(s)).toBe(n));
  it.each(["", "5", "5x", "m5"])("%j is invalid", (s) => expect(parseGoDuration(s)).toBeUndefined());
});

describe("resolveSourceRef", () => {
  const spec = (kind: string) =>
    parseHelmRelease(
      v2(
        `  chart:\n    spec:\n      chart: podinfo\n      version: 6.x\n      sourceRef: {kind: ${kind}, name: src}\n`,
      ),
      FILE,
    );
  it("maps HelmRepository (https and oci) and GitRepository sources of the same revision", () => {
    expect(
      resolveSourceRef(spec("HelmRepository"), [
        { kind: "HelmRepository", name: "src", namespace: "dev", url: "https://c.example.com" },
      ]),
    ).toEqual({
      type: "repo",
      url: "https://c.example.com",
      name: "podinfo",
      version: "6.x",
    });
    expect(
      resolveSourceRef(spec("HelmRepository"), [
        { kind: "HelmRepository", name: "src", namespace: "dev", url: "oci://ghcr.io/org/charts/" },
      ]),
    ).toMatchObject({
      type: "oci",
      url: "oci://ghcr.io/org/charts",
    });
    expect(
      resolveSourceRef(spec("GitRepository"), [
        { kind: "GitRepository", name: "src", namespace: "dev", url: "https://g/r", ref: "main" },
      ]),
    ).toEqual({ type: "git", url: "https://g/r", path: "podinfo", ref: "main" });
  });
  it("names the file when the source is not in the revision", () => {
    expect(() => resolveSourceRef(spec("HelmRepository"), [])).toThrow(
      `${FILE}: spec.chart.spec.sourceRef: HelmRepository dev/src is not defined in this revision`,
    );
  });
});
