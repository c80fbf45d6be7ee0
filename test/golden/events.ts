/**
 * Shared event fixtures for the notification golden files, tests and the burst benchmark.
 * SHAs are fixed so commit links are stable.
 */
import type {
  AutoReleaseEvent,
  CommandCommitEvent,
  GitopsEvent,
  HelmEvent,
  ReconcilerEvent,
  SyncEvent,
} from "../../src/core/events.js";

export const SHA_AUTO = "810c2e6f3b1d4a5c9e8f7a6b5c4d3e2f1a0b9c8d";
export const SHA_PREV = "4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b";
export const SHA_PROMOTE = "c0ffee1234567890abcdef1234567890abcdef12";
export const SHA_POLICY = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432";
export const SHA_LOCK = "1234567890abcdef1234567890abcdef12345678";
export const SHA_MANUAL = "deadbeefcafebabe0123456789abcdef01234567";

const base = (id: string, correlationId: string, env = "dev", app = "podinfo") => ({
  id,
  time: "2026-11-22T05:00:00.000Z",
  cluster: "eu-1",
  env,
  app,
  correlationId,
});

export const autoRelease: AutoReleaseEvent = {
  ...base("ev-auto", SHA_AUTO),
  kind: "auto-release",
  image: "ghcr.io/stefanprodan/podinfo",
  from: "dev-abc1234",
  to: "dev-def5678",
  policy: "glob:dev-*",
  commit: { sha: SHA_AUTO, subject: "Auto-release ghcr.io/stefanprodan/podinfo:dev-def5678", author: "gitops-bot" },
  workload: "dev:helmrelease/podinfo-dev",
};

export const autoSync: SyncEvent = {
  ...base("ev-auto-sync", SHA_AUTO),
  kind: "sync",
  fromRevision: SHA_PREV,
  toRevision: SHA_AUTO,
  commits: [autoRelease.commit],
  objects: [
    { id: "dev:helmrelease/podinfo-dev", file: "releases/dev/podinfo.yaml", action: "configured" },
    { id: "dev:configmap/podinfo-env", file: "releases/dev/podinfo-env.yaml", action: "unchanged" },
  ],
};

export const autoHelm: HelmEvent = {
  ...base("ev-auto-helm", SHA_AUTO),
  kind: "helm",
  release: "podinfo-dev",
  namespace: "dev",
  revision: 12,
  chart: "podinfo",
  chartVersion: "6.5.0",
  phase: "deployed",
};

/** A sync of a commit pushed by hand (no command, no automation): fluxcloud's classic message. */
export const manualSync: SyncEvent = {
  ...base("ev-sync", SHA_MANUAL, "stg", "podinfo"),
  kind: "sync",
  fromRevision: SHA_PREV,
  toRevision: SHA_MANUAL,
  commits: [
    { sha: SHA_MANUAL, subject: "change test image", author: "carol" },
    { sha: SHA_PREV, subject: "bump replicas", author: "dave" },
  ],
  objects: [
    { id: "default:deployment/test", file: "manifests/test.yaml", action: "configured" },
    { id: "default:service/test", file: "manifests/test.yaml", action: "created" },
    { id: "default:configmap/old", file: "manifests/old.yaml", action: "pruned" },
    { id: "default:secret/unchanged", file: "manifests/secret.yaml", action: "unchanged" },
  ],
};

export const syncWithErrors: SyncEvent = {
  ...manualSync,
  id: "ev-sync-err",
  objects: [
    { id: "default:deployment/test", file: "manifests/test.yaml", action: "configured" },
    {
      id: "default:persistentvolumeclaim/test",
      file: "manifests/test.yaml",
      action: "failed",
      error:
        'The PersistentVolumeClaim "test" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests for bound claims',
    },
  ],
};

export const emptySync: SyncEvent = {
  ...base("ev-empty", "0000000000000000000000000000000000000000", "prod"),
  kind: "sync",
  toRevision: "0000000000000000000000000000000000000000",
  commits: [],
  objects: [{ id: "prod:helmrelease/podinfo-prod", file: "releases/prod/podinfo.yaml", action: "unchanged" }],
};

export const promote: CommandCommitEvent = {
  ...base("ev-promote", SHA_PROMOTE, "prod"),
  kind: "command-commit",
  action: "promote",
  actor: "alice",
  approvers: ["bob"],
  commit: { sha: SHA_PROMOTE, subject: "[prod/podinfo] promote 1.2.3 from stg", author: "alice" },
  changes: [{ container: "chart-image", image: "ghcr.io/stefanprodan/podinfo", from: "1.2.2", to: "1.2.3" }],
  message: "hotfix for INC-42",
};

export const promoteHelmFailed: HelmEvent = {
  ...base("ev-promote-helm", SHA_PROMOTE, "prod"),
  kind: "helm",
  release: "podinfo-prod",
  namespace: "prod",
  revision: 8,
  chartVersion: "6.5.0",
  phase: "failed",
  error: "UPGRADE FAILED: timed out waiting for the condition\ndeployment podinfo-prod: 0 of 3 replicas ready",
};

export const promoteRolledBack: HelmEvent = {
  ...promoteHelmFailed,
  id: "ev-promote-rb",
  revision: 9,
  phase: "rolled-back",
  error: "UPGRADE FAILED: Service \"podinfo-prod\" is invalid: spec.ports[0].port: Invalid value: 99999",
};

/** A config change in git (no command) installed from a chart in the config repo (git digest). */
export const gitChartDeployed: HelmEvent = {
  ...base("ev-git-helm", SHA_MANUAL, "stg", "podinfo"),
  kind: "helm",
  release: "stg-podinfo",
  namespace: "stg",
  file: "releases/stg/podinfo.yaml",
  revision: 3,
  chart: "podinfo",
  chartVersion: "3.2.0",
  chartDigest: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
  gitRevision: SHA_MANUAL,
  commit: { sha: SHA_MANUAL, subject: "change test image", author: "carol" },
  images: [{ image: "stefanprodan/podinfo", from: "3.1.0", to: "3.2.0" }],
  phase: "deployed",
};

/** The same chart+values failed and were rolled back before: waiting for a change or `retry`. */
export const promoteStalled: HelmEvent = {
  ...promoteRolledBack,
  id: "ev-promote-stalled",
  phase: "stalled",
};

export const policyCommit: CommandCommitEvent = {
  ...base("ev-policy", SHA_POLICY, "prod"),
  kind: "command-commit",
  action: "policy",
  actor: "alice",
  approvers: [],
  commit: { sha: SHA_POLICY, subject: "[prod/podinfo] policy chart-image semver:~0.4", author: "alice" },
  changes: [],
  policy: "semver:~0.4",
};

export const lockCommit: CommandCommitEvent = {
  ...base("ev-lock", SHA_LOCK, "prod"),
  kind: "command-commit",
  action: "lock",
  actor: "alice",
  approvers: [],
  commit: { sha: SHA_LOCK, subject: "Locked: prod:helmrelease/podinfo-prod", author: "alice" },
  changes: [],
  locked: { user: "alice", message: "incident INC-42, do not deploy" },
};

export const reconcilerFailed: ReconcilerEvent = {
  ...base("ev-rec-fail", "rec-1", "prod"),
  kind: "reconciler",
  reconciler: "image",
  state: "failed",
  message: "GET https://registry.example.test/v2/podinfo/tags/list: 503 Service Unavailable",
};

export const reconcilerRecovered: ReconcilerEvent = {
  ...reconcilerFailed,
  id: "ev-rec-ok",
  time: "2026-11-22T05:10:00.000Z",
  state: "recovered",
  message: "registry reachable again",
};

/** Every fixture, for tests that run all event kinds. */
export const allEvents: GitopsEvent[] = [
  autoRelease,
  autoSync,
  autoHelm,
  manualSync,
  syncWithErrors,
  emptySync,
  promote,
  promoteHelmFailed,
  promoteRolledBack,
  gitChartDeployed,
  promoteStalled,
  policyCommit,
  lockCommit,
  reconcilerFailed,
  reconcilerRecovered,
];
