/**
 * A deterministic state to report on: the example config repo in an `InMemoryConfigRepo` with a
 * few commits (a release, a promotion, a lock, a freeze of stg), a pending approval, and a sync status with a failed
 * object and drift. The clock is a fake one the test moves; commit times come from the repo double.
 *
 * Image automation and Helm come in through their ports, like the sync status: an `ImageCatalog`
 * over fixed registry listings (`CANDIDATES`: one held by each wait reason) with the tags running
 * read from the model, the automation status record, and the recorded Helm releases (one per
 * phase). Tests change `images.status` and `helm.releases` to see other states.
 */

import { buildReports, helmOff, IMAGES_OFF, type Reports } from "../../src/app/reports.js";
import { InMemoryApprovalStore } from "../../src/bot/approvals/store.js";
import { parseConfig } from "../../src/config/load.js";
import type { Clock, HelmReleaseSummary, ImageCandidates, ImageCatalog } from "../../src/core/ports.js";
import { findInstance } from "../../src/core/release.js";
import type { Actor } from "../../src/gitops/operations.js";
import { ReleaseService } from "../../src/gitops/release-service.js";
import type { SyncStatus, SyncStatusReader } from "../../src/reconciler/sync/state.js";
import type { AutomationStatus } from "../../src/reports/sections/automation.js";
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
  /** What the registries list per `env/app/container`, and the automation status record. */
  images: { candidates: Record<string, Listing>; status: AutomationStatus };
  helm: { releases: HelmReleaseSummary[] };
  clock: FakeClock;
  reports: Reports;
}

/** What the registries list per `env/app/container` (newest first), and why automation waits. */
interface Listing {
  tags: string[];
  next?: string;
  reason?: string;
  waiting?: string;
}
const CANDIDATES: Record<string, Listing> = {
  "dev/podinfo/chart-image": { tags: ["dev-f00dcafe", "dev-e1e2e3e4", "dev-abc12345"], next: "dev-f00dcafe" },
  "dev/frontend/web": {
    tags: ["dev-9c8d7e6", "dev-3f2a1c9"],
    reason: "cannot-order",
    waiting:
      "dev/frontend container web (releases/dev/frontend.yaml): cannot order glob:dev-* candidates: ghcr.io/example/frontend:dev-9c8d7e6 has no creation time",
  },
  "dev/frontend/proxy": {
    tags: [],
    reason: "registry-error",
    waiting: "docker.io/library/nginx: 429 Too Many Requests (rate limited, retried 3 times)",
  },
  "stg/podinfo/chart-image": {
    tags: ["stg-9ij63o4c", "stg-4ab12cd3"],
    reason: "frozen",
    waiting: "stg is frozen: release weekend, back on monday",
  },
  "prod/podinfo/chart-image": { tags: ["0.4.10", "0.4.9"] },
  "prod/frontend/web": {
    tags: ["1.5.0", "1.4.3", "1.4.2"],
    reason: "locked",
    waiting: "prod/frontend container web (releases/prod/frontend.yaml) is locked by alice: db migration",
  },
  "prod/frontend/proxy": {
    tags: ["1.27.3"],
    reason: "locked",
    waiting: "prod/frontend container proxy (releases/prod/frontend.yaml) is locked by alice: db migration",
  },
};

/** The `ImageCatalog` port over fixed listings, with the running tags from the model. */
function fixedCatalog(
  ops: Pick<ReleaseService, "model">,
  listings: () => Record<string, Listing>,
): ImageCatalog {
  return {
    async candidates({ app, env }): Promise<ImageCandidates[]> {
      const inst = findInstance(await ops.model(), app, env);
      return (inst?.workload.images ?? []).map((img) => {
        const c = listings()[`${env}/${app}/${img.container}`] ?? { tags: [img.tag] };
        const tags = c.tags.map((tag) => ({
          tag,
          current: tag === img.tag,
          matches: true,
          ...(tag === c.next ? { next: true } : {}),
        }));
        if (!c.tags.includes(img.tag)) tags.push({ tag: img.tag, current: true, matches: false });
        return {
          container: img.container,
          repository: img.repository,
          tags,
          ...(c.reason ? { reason: c.reason } : {}),
          ...(c.waiting ? { waiting: c.waiting } : {}),
        };
      });
    },
  };
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

/** The recorded Helm releases: the three podinfo HelmReleases, one pending, one failed, one rolled back. */
const HELM_RELEASES: HelmReleaseSummary[] = [
  {
    key: "dev/podinfo-dev",
    file: "releases/dev/podinfo.yaml",
    release: "podinfo-dev",
    namespace: "dev",
    phase: "Progressing",
    revision: 5,
    message: "upgrading to chart podinfo 6.5.4",
  },
  {
    key: "stg/podinfo-rc",
    file: "releases/stg/podinfo.yaml",
    release: "podinfo-rc",
    namespace: "stg",
    phase: "Failed",
    revision: 3,
    message:
      "upgrade failed: values don't meet the specifications of the schema(s): replicaCount: Invalid type. Expected: integer, given: string",
  },
  {
    key: "prod/podinfo-prod",
    file: "releases/prod/podinfo.yaml",
    release: "podinfo-prod",
    namespace: "prod",
    phase: "RolledBack",
    revision: 8,
    message: "upgrade to revision 8 failed (timed out waiting for the condition); rolled back to revision 7",
  },
];

/** Builds the state at 2026-01-01 (the repo double's first commit) and the reports over it. */
export async function reportState(
  config: object = REPORTS_CONFIG,
  opts: { withoutReconcilers?: boolean } = {},
): Promise<ReportState> {
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
  const images = {
    candidates: { ...CANDIDATES },
    status: {
      status: "failed",
      reason: "RegistryUnavailable",
      message: "registry unavailable: docker.io/library/nginx: 429 Too Many Requests",
    } as AutomationStatus,
  };
  const helm = { releases: HELM_RELEASES.map((r) => ({ ...r })) };
  const reports = buildReports(cfg, {
    ops,
    repo,
    approvals,
    syncStatus: reader,
    // Without a cluster or image automation, as `serve` has it: each section says it is off, and why.
    ...(opts.withoutReconcilers
      ? { images: { off: IMAGES_OFF }, helm: { off: helmOff(cfg, false) } }
      : {
          images: {
            catalog: (model) => fixedCatalog(model, () => images.candidates),
            status: async () => images.status,
          },
          helm: { releases: async () => helm.releases },
        }),
    commitUrl: (sha) => `https://git.example.com/org/config/commit/${sha}`,
    clock,
    logger: (await import("../../src/core/ports.js")).nullLogger,
  });
  return { repo, ops, approvals, sync, images, helm, clock, reports };
}
