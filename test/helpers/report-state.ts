/**
 * A deterministic state to report on: the example config repo in an `InMemoryConfigRepo` with a
 * few commits (a release, a promotion, a lock, a freeze of stg), a pending approval, and a sync status with a failed
 * object and drift. The clock is a fake one the test moves; commit times come from the repo double.
 */

import { buildReports, type Reports } from "../../src/app/reports.js";
import { InMemoryApprovalStore } from "../../src/bot/approvals/store.js";
import { parseConfig } from "../../src/config/load.js";
import type { Clock } from "../../src/core/ports.js";
import type { Actor } from "../../src/gitops/operations.js";
import { ReleaseService } from "../../src/gitops/release-service.js";
import type { SyncStatus, SyncStatusReader } from "../../src/reconciler/sync/state.js";
import { loadDir } from "./example-repo.js";
import { InMemoryConfigRepo } from "./in-memory-config-repo.js";

/** A clock the test sets. */
export class FakeClock implements Clock {
  constructor(public at: Date) {}
  now(): Date {
    return new Date(this.at);
  }
  set(iso: string): void {
    this.at = new Date(iso);
  }
}

export const alice: Actor = {
  id: "slack:UALICE",
  name: "alice",
  identity: { name: "alice", email: "alice@example.com" },
};
const bob: Actor = { id: "slack:UBOB", name: "bob", identity: { name: "bob", email: "bob@example.com" } };

export interface ReportState {
  repo: InMemoryConfigRepo;
  ops: ReleaseService;
  approvals: InMemoryApprovalStore;
  sync: { status: SyncStatus };
  clock: FakeClock;
  reports: Reports;
}

/** The config the reports are built from: two reports over destination `ops`. */
export const REPORTS_CONFIG = {
  clusterName: "prod-eu",
  repo: { url: "/tmp/unused" },
  notifications: {
    repoUrl: "https://git.example.com/org/config",
    destinations: [{ name: "ops", type: "webhook", url: "https://hooks.example.com/x" }],
    reports: [
      { name: "daily", schedule: "0 9 * * *", timezone: "Europe/Berlin", to: ["ops"] },
      { name: "prod-problems", schedule: "0 9 * * 1", envs: ["prod"], onlyProblems: true, to: ["ops"] },
    ],
  },
};

/** Builds the state at 2026-01-01 (the repo double's first commit) and the reports over it. */
export async function reportState(config: object = REPORTS_CONFIG): Promise<ReportState> {
  const cfg = parseConfig(config);
  const repo = new InMemoryConfigRepo(loadDir());
  const clock = new FakeClock(new Date("2026-01-01T00:10:00Z"));
  const ops = new ReleaseService({ repo, clock });
  await ops.release({ app: "podinfo", env: "dev", tag: "dev-abc12345", actor: alice });
  await ops.promote({ app: "podinfo", from: "dev", to: "stg", actor: bob, force: true });
  await ops.lock({ app: "frontend", env: "prod", actor: alice, message: "db migration" });
  await ops.freeze({ env: "stg", actor: bob, message: "release weekend, back on monday" });
  const approvals = new InMemoryApprovalStore();
  await approvals.put({
    id: "k7m2q9xa",
    command: "promote podinfo stg prod",
    verb: "promote",
    env: "prod",
    app: "podinfo",
    requester: { id: "slack:UBOB", name: "bob" },
    platform: "slack",
    channel: "CRELEASE",
    createdAt: "2026-01-12T07:30:00.000Z",
    expiresAt: "2099-01-01T00:00:00.000Z",
    required: 1,
    approvals: [],
  });
  const head = await repo.head();
  const sync = {
    status: {
      source: "memory://config-repo#main",
      result: "partial",
      lastAppliedRevision: head,
      lastChangeTime: "2026-01-12T07:55:00.000Z",
      message: "1 object failed",
      errors: [
        {
          id: "prod:deployment/web",
          file: "releases/prod/frontend.yaml",
          error: "spec.replicas: Invalid value: -1",
        },
      ],
      drift: [
        {
          id: "stg:service/podinfo",
          file: "releases/stg/podinfo.yaml",
          fields: ["spec.ports"],
          corrected: true,
        },
      ],
    } satisfies SyncStatus,
  };
  const reader: SyncStatusReader = { read: async () => sync.status };
  const reports = buildReports(cfg, {
    ops,
    repo,
    approvals,
    syncStatus: reader,
    commitUrl: (sha) => `https://git.example.com/org/config/commit/${sha}`,
    clock,
    logger: (await import("../../src/core/ports.js")).nullLogger,
  });
  return { repo, ops, approvals, sync, clock, reports };
}
