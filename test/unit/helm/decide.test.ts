import { describe, expect, it } from "vitest";
import type { HelmStatusName } from "../../../src/helm/cli.js";
import {
  type Action,
  CHART_LABEL,
  classifyRelease,
  type DesiredRelease,
  nextAction,
  OWNER_LABEL,
  ownerMarker,
  type ReleaseState,
  releaseLabels,
  SPEC_LABEL,
  VALUES_LABEL,
} from "../../../src/helm/decide.js";
import type { Remediation } from "../../../src/helm/spec.js";
import { type StoredRevision, TEST_LABEL } from "../../../src/helm/storage.js";

const OWNER = ownerMarker("dev", "podinfo");
const none: Remediation = {
  retries: 0,
  remediateLastFailure: false,
  strategy: "rollback",
  ignoreTestFailures: false,
};
const rollbackOnce: Remediation = { ...none, remediateLastFailure: true };
const desired = (over: Partial<DesiredRelease> = {}): DesiredRelease => ({
  chartDigest: "c1",
  valuesDigest: "v1",
  specDigest: "s1",
  testEnable: false,
  ignoreTestFailures: false,
  install: none,
  upgrade: none,
  ...over,
});
const D = desired();

/** A revision written by us with config `cfg` ("c1v1s1" style: chart, values, spec ids). */
function rev(
  version: number,
  status: HelmStatusName,
  cfg: { chart?: string; values?: string; spec?: string; owner?: string | null; test?: string } = {},
): StoredRevision {
  const labels: Record<string, string> = { name: "r", owner: "helm", status, version: String(version) };
  if (cfg.owner !== null) labels[OWNER_LABEL] = cfg.owner ?? OWNER;
  labels[CHART_LABEL] = cfg.chart ?? "c1";
  labels[VALUES_LABEL] = cfg.values ?? "v1";
  labels[SPEC_LABEL] = cfg.spec ?? "s1";
  if (cfg.test) labels[TEST_LABEL] = cfg.test;
  return { version, status, labels };
}

const classify = (revs: StoredRevision[], d: DesiredRelease | null = D, retryAfter?: number) =>
  classifyRelease(revs, {
    owner: OWNER,
    ...(d ? { desired: d } : {}),
    ...(retryAfter ? { retryAfter } : {}),
  });

describe("classifyRelease", () => {
  const cases: [string, StoredRevision[], DesiredRelease | null, Partial<ReleaseState>][] = [
    ["no revisions -> absent", [], D, { kind: "absent", failures: 0, keptHistory: false }],
    [
      "uninstalled with history -> absent, kept",
      [rev(1, "uninstalled", { values: "v0" })],
      D,
      { kind: "absent", keptHistory: true, failures: 0 },
    ],
    [
      "uninstalled by remediation with this config counts a failure",
      [rev(2, "uninstalled"), rev(1, "superseded", { values: "v0" })],
      D,
      { kind: "absent", failures: 1, everDeployed: true },
    ],
    [
      "no owner label -> unmanaged",
      [rev(1, "deployed", { owner: null })],
      D,
      { kind: "unmanaged", owner: undefined },
    ],
    [
      "another HelmRelease's -> unmanaged",
      [rev(1, "deployed", { owner: "stg.podinfo" })],
      D,
      { kind: "unmanaged", owner: "stg.podinfo" },
    ],
    ["unmanaged wins over pending", [rev(1, "pending-install", { owner: null })], D, { kind: "unmanaged" }],
    [
      "pending-install -> locked",
      [rev(1, "pending-install")],
      D,
      { kind: "locked", status: "pending-install" },
    ],
    [
      "pending-upgrade -> locked",
      [rev(2, "pending-upgrade"), rev(1, "deployed")],
      D,
      { kind: "locked", revision: 2 },
    ],
    [
      "pending-rollback -> locked",
      [rev(3, "pending-rollback"), rev(2, "failed"), rev(1, "superseded")],
      D,
      { kind: "locked" },
    ],
    ["uninstalling -> locked", [rev(1, "uninstalling")], D, { kind: "locked" }],
    [
      "only the newest revision counts (old pending label stays)",
      [rev(2, "deployed"), rev(1, "pending-upgrade")],
      D,
      { kind: "in-sync", revision: 2 },
    ],
    [
      "failed install -> failed, no target",
      [rev(1, "failed")],
      D,
      { kind: "failed", rollbackTarget: undefined, failures: 1, changed: [], cause: "release" },
    ],
    [
      "failed upgrade -> failed with target",
      [rev(2, "failed"), rev(1, "deployed", { values: "v0" })],
      D,
      { kind: "failed", rollbackTarget: 1, failures: 1 },
    ],
    [
      "failed, then values changed",
      [rev(2, "failed", { values: "v0" }), rev(1, "superseded", { values: "vx" })],
      D,
      { kind: "failed", changed: ["values"], failures: 0 },
    ],
    [
      "deployed, chart changed",
      [rev(1, "deployed", { chart: "c0" })],
      D,
      { kind: "out-of-sync", changed: ["chart"], failures: 0 },
    ],
    [
      "deployed, spec changed",
      [rev(1, "deployed", { spec: "s0" })],
      D,
      { kind: "out-of-sync", changed: ["spec"] },
    ],
    [
      "deployed, all changed",
      [rev(1, "deployed", { chart: "c0", values: "v0", spec: "s0" })],
      D,
      { kind: "out-of-sync", changed: ["chart", "values", "spec"] },
    ],
    [
      "rolled back after a failure of this config",
      [rev(3, "deployed", { values: "v0" }), rev(2, "failed"), rev(1, "superseded", { values: "v0" })],
      D,
      { kind: "out-of-sync", failures: 1 },
    ],
    [
      "retryAfter forgets older failures",
      [rev(3, "deployed", { values: "v0" }), rev(2, "failed"), rev(1, "superseded", { values: "v0" })],
      D,
      { kind: "out-of-sync", failures: 0 },
    ],
    ["deployed and current -> in sync", [rev(1, "deployed")], D, { kind: "in-sync", revision: 1 }],
    [
      "tests enabled, none run -> untested",
      [rev(1, "deployed")],
      desired({ testEnable: true }),
      { kind: "untested" },
    ],
    [
      "tests passed -> in sync",
      [rev(1, "deployed", { test: "passed" })],
      desired({ testEnable: true }),
      { kind: "in-sync" },
    ],
    [
      "test failed -> failed (test)",
      [rev(2, "deployed", { test: "failed" }), rev(1, "superseded", { values: "v0" })],
      desired({ testEnable: true }),
      { kind: "failed", cause: "test", rollbackTarget: 1, failures: 1 },
    ],
    [
      "test failed but ignored -> in sync",
      [rev(1, "deployed", { test: "failed" })],
      desired({ testEnable: true, ignoreTestFailures: true }),
      { kind: "in-sync" },
    ],
    ["removed from git, ours -> in-sync marker", [rev(1, "failed")], null, { kind: "in-sync" }],
  ];
  it.each(cases)("%s", (_name, revs, d, expected) => {
    const got = classify(revs, d, _name.startsWith("retryAfter") ? 2 : undefined);
    expect(got).toMatchObject(expected);
  });

  it("ignores the order revisions arrive in", () => {
    expect(classify([rev(1, "superseded", { values: "v0" }), rev(2, "deployed")])).toEqual(
      classify([rev(2, "deployed"), rev(1, "superseded", { values: "v0" })]),
    );
  });
});

describe("nextAction (every state)", () => {
  const retry2: Remediation = { ...none, retries: 2, remediateLastFailure: true };
  const uninstallRem: Remediation = { ...rollbackOnce, strategy: "uninstall" };
  const table: [string, ReleaseState, DesiredRelease | undefined, Partial<Action>][] = [
    [
      "absent -> install",
      { kind: "absent", failures: 0, keptHistory: false, everDeployed: false },
      D,
      { type: "install", replace: false },
    ],
    [
      "absent with kept history -> install --replace",
      { kind: "absent", failures: 0, keptHistory: true, everDeployed: false },
      D,
      { type: "install", replace: true },
    ],
    [
      "absent after remediation, no retries -> stalled",
      { kind: "absent", failures: 1, keptHistory: true, everDeployed: true },
      desired({ upgrade: uninstallRem }),
      { type: "none", outcome: "stalled" },
    ],
    [
      "absent after remediation, retries left -> install",
      { kind: "absent", failures: 1, keptHistory: true, everDeployed: true },
      desired({ upgrade: { ...uninstallRem, retries: 1 } }),
      { type: "install" },
    ],
    [
      "unmanaged -> none (reported)",
      { kind: "unmanaged", revision: 1, owner: undefined },
      D,
      { type: "none", outcome: "unmanaged" },
    ],
    ["locked -> unlock", { kind: "locked", revision: 2, status: "pending-upgrade" }, D, { type: "unlock" }],
    [
      "failed, changed -> upgrade",
      { kind: "failed", revision: 2, changed: ["values"], failures: 0, rollbackTarget: 1, cause: "release" },
      D,
      { type: "upgrade" },
    ],
    [
      "failed upgrade, no remediation (v1 without rollback) -> failed, no retry",
      { kind: "failed", revision: 2, changed: [], failures: 1, rollbackTarget: 1, cause: "release" },
      D,
      { type: "none", outcome: "failed" },
    ],
    [
      "failed upgrade, rollback enabled -> rollback to the target",
      { kind: "failed", revision: 3, changed: [], failures: 1, rollbackTarget: 1, cause: "release" },
      desired({ upgrade: rollbackOnce }),
      { type: "rollback", revision: 1 },
    ],
    [
      "failed upgrade, strategy uninstall -> uninstall keeping history",
      { kind: "failed", revision: 2, changed: [], failures: 1, rollbackTarget: 1, cause: "release" },
      desired({ upgrade: uninstallRem }),
      { type: "uninstall", keepHistory: true },
    ],
    [
      "failed upgrade, retries exhausted but remediateLastFailure -> rollback",
      { kind: "failed", revision: 6, changed: [], failures: 3, rollbackTarget: 5, cause: "release" },
      desired({ upgrade: retry2 }),
      { type: "rollback", revision: 5 },
    ],
    [
      "failed upgrade, retries exhausted, no last remediation -> failed",
      { kind: "failed", revision: 6, changed: [], failures: 3, rollbackTarget: 5, cause: "release" },
      desired({ upgrade: { ...retry2, remediateLastFailure: false } }),
      { type: "none", outcome: "failed" },
    ],
    [
      "failed test after upgrade, rollback enabled -> rollback",
      { kind: "failed", revision: 2, changed: [], failures: 1, rollbackTarget: 1, cause: "test" },
      desired({ upgrade: rollbackOnce }),
      { type: "rollback" },
    ],
    [
      "failed install, no retries -> failed",
      { kind: "failed", revision: 1, changed: [], failures: 1, rollbackTarget: undefined, cause: "release" },
      D,
      { type: "none", outcome: "failed" },
    ],
    [
      "failed install, retries left -> upgrade over it",
      { kind: "failed", revision: 1, changed: [], failures: 1, rollbackTarget: undefined, cause: "release" },
      desired({ install: { ...none, retries: 1 } }),
      { type: "upgrade" },
    ],
    [
      "failed install, unlimited retries -> upgrade",
      { kind: "failed", revision: 9, changed: [], failures: 9, rollbackTarget: undefined, cause: "release" },
      desired({ install: { ...none, retries: -1 } }),
      { type: "upgrade" },
    ],
    [
      "failed install, exhausted, remediateLastFailure -> still stalled (nothing to go back to)",
      { kind: "failed", revision: 1, changed: [], failures: 1, rollbackTarget: undefined, cause: "release" },
      desired({ install: rollbackOnce }),
      { type: "none", outcome: "failed" },
    ],
    [
      "out of sync -> upgrade",
      { kind: "out-of-sync", revision: 1, changed: ["chart"], failures: 0 },
      D,
      { type: "upgrade", reason: "chart changed" },
    ],
    [
      "out of sync after rollback, no retry -> stalled",
      { kind: "out-of-sync", revision: 3, changed: ["values"], failures: 1 },
      desired({ upgrade: rollbackOnce }),
      { type: "none", outcome: "stalled" },
    ],
    [
      "out of sync after rollback, retries left -> upgrade",
      { kind: "out-of-sync", revision: 3, changed: ["values"], failures: 2 },
      desired({ upgrade: retry2 }),
      { type: "upgrade" },
    ],
    [
      "out of sync after rollback, retries exhausted -> stalled",
      { kind: "out-of-sync", revision: 7, changed: ["values"], failures: 3 },
      desired({ upgrade: retry2 }),
      { type: "none", outcome: "stalled" },
    ],
    ["untested -> test", { kind: "untested", revision: 1 }, desired({ testEnable: true }), { type: "test" }],
    ["in sync -> none", { kind: "in-sync", revision: 1 }, D, { type: "none", outcome: "ready" }],
    [
      "removed, absent -> none",
      { kind: "absent", failures: 0, keptHistory: false, everDeployed: false },
      undefined,
      { type: "none", outcome: "ready" },
    ],
    [
      "removed, unmanaged -> none",
      { kind: "unmanaged", revision: 1, owner: undefined },
      undefined,
      { type: "none", outcome: "unmanaged" },
    ],
    [
      "removed, ours -> uninstall",
      { kind: "in-sync", revision: 1 },
      undefined,
      { type: "uninstall", keepHistory: false },
    ],
    [
      "removed, locked -> uninstall",
      { kind: "locked", revision: 1, status: "pending-install" },
      undefined,
      { type: "uninstall" },
    ],
  ];
  it.each(table)("%s", (_n, state, d, expected) => {
    expect(nextAction(state, d)).toMatchObject(expected);
  });

  it("covers every state kind with and without a desired release", () => {
    const kinds = new Set(table.map(([, s]) => s.kind));
    expect([...kinds].sort()).toEqual([
      "absent",
      "failed",
      "in-sync",
      "locked",
      "out-of-sync",
      "unmanaged",
      "untested",
    ]);
  });
});

describe("v1 rollback scenarios end to end through classify + nextAction", () => {
  const step = (revs: StoredRevision[], d: DesiredRelease) => nextAction(classify(revs, d), d);
  it("rollback.enable: fail -> rollback -> no retry until a change", () => {
    const d = desired({ upgrade: rollbackOnce });
    const r1 = rev(1, "superseded", { values: "v0" });
    expect(step([rev(2, "failed"), r1], d)).toMatchObject({ type: "rollback", revision: 1 });
    const rolledBack = [rev(3, "deployed", { values: "v0" }), rev(2, "failed"), r1];
    expect(step(rolledBack, d)).toMatchObject({ type: "none", outcome: "stalled" });
    expect(step(rolledBack, { ...d, valuesDigest: "v2" })).toMatchObject({ type: "upgrade" });
  });
  it("rollback.retry with maxRetries 1: one more attempt, then stalled", () => {
    const d = desired({ upgrade: { ...rollbackOnce, retries: 1 } });
    const h = [
      rev(3, "deployed", { values: "v0" }),
      rev(2, "failed"),
      rev(1, "superseded", { values: "v0" }),
    ];
    expect(step(h, d)).toMatchObject({ type: "upgrade" });
    const h2 = [rev(5, "deployed", { values: "v0" }), rev(4, "failed"), ...h];
    expect(step(h2, d)).toMatchObject({ type: "none", outcome: "stalled" });
  });
});

describe("labels", () => {
  it("carries the marker and digests and clears a stale test result", () => {
    expect(releaseLabels(OWNER, D)).toEqual({
      [OWNER_LABEL]: "dev.podinfo",
      [CHART_LABEL]: "c1",
      [VALUES_LABEL]: "v1",
      [SPEC_LABEL]: "s1",
    });
  });
  it("keeps the owner marker a valid label value", () => {
    const m = ownerMarker("a".repeat(40), `${"b".repeat(22)}-c`);
    expect(m.length).toBeLessThanOrEqual(63);
    expect(m).toMatch(/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/);
  });
});

describe("unlocked revisions", () => {
  const unlocked = (r: StoredRevision): StoredRevision => ({
    ...r,
    labels: { ...r.labels, "gitops-bot.dev/unlocked": "true" },
  });
  it("are interrupted operations, not failures of the config, and are run again", () => {
    const state = classify([unlocked(rev(2, "failed")), rev(1, "superseded", { values: "v0" })]);
    expect(state).toMatchObject({ kind: "failed", cause: "interrupted", failures: 0 });
    expect(nextAction(state, D)).toMatchObject({ type: "upgrade" });
    const installState = classify([unlocked(rev(1, "failed"))]);
    expect(nextAction(installState, D)).toMatchObject({ type: "upgrade" });
  });
});
