/**
 * Where persisted bot state lives, decided by one rule (issue #10, ADR 0009):
 *
 * - the cluster, when the bot has one (a kubeconfig or the in-cluster service account:
 *   `locateCluster`) and the sync reconciler runs (or the store says `cluster`): each store's
 *   ConfigMap, behind a `FallbackRecord`, so replies and commits never wait on the cluster and an
 *   outage degrades the store to this process (said once) until the cluster is back (issue #11);
 * - else a file under the data dir (beside the repo workdir, or the OS temp dir);
 * - the cluster client also exists, with no store in the cluster, when only the Lease needs it:
 *   image automation runs with a cluster found and `kube.leaderElection.enabled` but the sync is
 *   off (`sync.enabled: false`), so the replicas still elect one leader (`clusterPlan().election`);
 * - `memory: true` (the demo, tests): memory.
 *
 * The stores: pending approvals, Teams conversation references, the notification ledger (only
 * shared through the cluster: one process needs none), the idempotency record and the report run
 * record (which slot of each scheduled report was posted: no repeat after a restart or failover)
 * and the image automation's status record.
 */
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type ApprovalStore, FileApprovalStore, RecordApprovalStore } from "../bot/approvals/store.js";
import {
  type ConversationStore,
  FileConversationStore,
  InMemoryConversationStore,
  RecordConversationStore,
} from "../bot/platforms/teams/conversation-store.js";
import type { Config } from "../config/schema.js";
import { UserError } from "../core/errors.js";
import type { Logger } from "../core/ports.js";
import type { KeyValueRecord } from "../core/record.js";
import type { KubeClient } from "../kube/client.js";
import { ConfigMapRecord } from "../kube/configmap-records.js";
import { type ClusterLocation, describeLocation, locateCluster } from "../kube/locate.js";
import { type MessageLedger, RecordMessageLedger } from "../notifications/ledger.js";
import { ClusterOutage, FallbackRecord } from "../state/fallback-record.js";
import { FileRecord } from "../state/file-record.js";
import { MemoryRecord } from "../state/record.js";

/** The persisted state of one service, and how to stop its background work. */
export interface AppState {
  /** Where the cluster is, or why there is none. */
  location: ClusterLocation;
  /** The cluster client, when there is a cluster. */
  kube: KubeClient | undefined;
  /** Whether the cluster reconcilers (sync) run: enabled and a cluster to run against. */
  syncRuns: boolean;
  /** Whether the reconcilers elect their leader with a Lease (`ClusterPlan.election`, and `kube`
   * was built for it: `StateDeps.reconcilers`). */
  election: boolean;
  approvals: ApprovalStore;
  /** Teams conversation references (only with a `teams` section). */
  conversations: ConversationStore | undefined;
  /** Shared only through the cluster; undefined without one. */
  ledger: MessageLedger | undefined;
  idempotency: KeyValueRecord;
  /** Which slot of each scheduled report was posted. */
  reportRuns: KeyValueRecord;
  /** The image automation's status record (its last condition, so a restart does not announce again). */
  imageStatus: KeyValueRecord;
  /** Stops the background probes and flushes what is pending. */
  stop(): Promise<void>;
}

export interface StateDeps {
  env: Record<string, string | undefined>;
  logger: Logger;
  /** Keep everything in memory (the demo, tests). */
  memory?: boolean;
  /** For tests: the FallbackRecord deadline. */
  clusterTimeoutMs?: number;
  /** The reconcilers run in this process (`serve`): build the client the Lease needs
   * (`clusterPlan().election`) even when no store lives in the cluster. One-shot commands: no. */
  reconcilers?: boolean;
}

/** The directory files of state go to without a cluster (as approvals always did). */
export function dataDir(cfg: Pick<Config, "repo">): string {
  return cfg.repo.workdir ? dirname(resolve(cfg.repo.workdir)) : join(tmpdir(), "gitops-bot");
}

/** What `clusterPlan` decides. */
export interface ClusterPlan {
  location: ClusterLocation;
  /** The sync runs: enabled, and a cluster to run against. */
  syncRuns: boolean;
  /** The reconcilers that run elect a leader with a Lease in the cluster: a cluster was found,
   * `kube.leaderElection.enabled`, and the sync or image automation runs (image automation needs
   * no cluster, but with one every replica would run it: duplicate commits and events). */
  election: boolean;
  /** One line for the start log and `check`. */
  line: string;
}

/** Whether the cluster reconcilers will run and a Lease elects their leader, and one line saying
 * why (start log, `check`). */
export function clusterPlan(
  cfg: Pick<Config, "sync" | "kube"> & { images?: Pick<Config["images"], "enabled"> },
  env: Record<string, string | undefined>,
): ClusterPlan {
  const location = locateCluster({ kubeconfig: cfg.kube.kubeconfig, env });
  const where = describeLocation(location);
  const found = location.kind !== "none";
  const imagesRun = cfg.images?.enabled !== false;
  if (!cfg.sync.enabled) {
    const election = found && imagesRun && cfg.kube.leaderElection.enabled;
    const lease = election ? "; image automation elects its leader with a Lease there" : "";
    return { location, syncRuns: false, election, line: `sync: off (sync.enabled: false); ${where}${lease}` };
  }
  if (!found)
    return {
      location,
      syncRuns: false,
      election: false,
      line: `sync: off, ${where}; chat and notifications work without it (set kube.kubeconfig, KUBECONFIG or run in a cluster to turn it on)`,
    };
  return { location, syncRuns: true, election: cfg.kube.leaderElection.enabled, line: `sync: on, ${where}` };
}

/** The rule above, applied: which stores are shared through the cluster, and the client to reach it. */
async function placement(cfg: Config, deps: StateDeps) {
  const plan = clusterPlan(cfg, deps.env);
  const { location } = plan;
  const shared = (store: "auto" | "cluster" | "file", what: string): boolean => {
    if (deps.memory || store === "file") return false;
    if (store === "cluster" && location.kind === "none")
      throw new UserError(
        `${what}: store is \`cluster\` but there is no cluster (${describeLocation(location)})`,
        {
          code: "no-cluster",
          hint: "Set kube.kubeconfig (or KUBECONFIG), run in a cluster, or use `store: file`.",
        },
      );
    return store === "cluster" || (store === "auto" && plan.syncRuns);
  };
  const approvalsShared = shared(cfg.approvals.store, "approvals");
  const teamsShared = cfg.teams ? shared(cfg.teams.store, "teams") : false;
  const inCluster = !deps.memory && plan.syncRuns;
  const lease = deps.reconcilers === true && plan.election;
  const kube =
    location.kind !== "none" && (plan.syncRuns || lease || approvalsShared || teamsShared)
      ? // @kubernetes/client-node costs ~85 MiB of RSS and a second to import: only with a cluster.
        (await import("../kube/k8s-client.js")).K8sKubeClient.fromOptions({
          env: deps.env,
          ...(location.kind === "kubeconfig" ? { kubeconfig: location.path } : {}),
        })
      : undefined;
  return { plan, location, approvalsShared, teamsShared, inCluster, kube };
}

/** Builds the stores by the rule above. */
export async function buildState(cfg: Config, deps: StateDeps): Promise<AppState> {
  const { logger } = deps;
  const { plan, location, approvalsShared, teamsShared, inCluster, kube } = await placement(cfg, deps);

  const fallbacks: FallbackRecord[] = [];
  const outage = new ClusterOutage();
  const clusterRecord = (client: KubeClient, name: string, record: string, what: string) => {
    const r = new FallbackRecord(
      new ConfigMapRecord(client, {
        namespace: cfg.sync.namespace,
        name: `gitops-bot-${name}-${cfg.sync.name}`,
        record,
      }),
      { what, logger, outage, ...(deps.clusterTimeoutMs ? { timeoutMs: deps.clusterTimeoutMs } : {}) },
    );
    fallbacks.push(r);
    return r;
  };
  const dir = dataDir(cfg);

  const approvals =
    approvalsShared && kube
      ? new RecordApprovalStore(clusterRecord(kube, "approvals", "approvals", "pending approvals"))
      : deps.memory
        ? new RecordApprovalStore(new MemoryRecord("approvals"))
        : new FileApprovalStore(cfg.approvals.storePath ?? join(dir, "approvals.json"));

  let conversations: ConversationStore | undefined;
  if (cfg.teams) {
    conversations =
      teamsShared && kube
        ? new RecordConversationStore(
            clusterRecord(kube, "teams", "teams-conversations", "Teams conversation references"),
            logger,
          )
        : deps.memory
          ? new InMemoryConversationStore()
          : new FileConversationStore(
              cfg.teams.conversationStore ?? join(dir, "teams-conversations.json"),
              logger,
            );
  }

  const ledger =
    inCluster && kube
      ? new RecordMessageLedger(
          clusterRecord(kube, "notifications", "notifications", "notification threads"),
          { logger },
        )
      : undefined;

  // A record shared through the cluster when the sync runs there, else in memory or a file.
  const record = (name: string, key: string, what: string): KeyValueRecord =>
    inCluster && kube
      ? clusterRecord(kube, name, key, what)
      : deps.memory
        ? new MemoryRecord(key)
        : new FileRecord(join(dir, `${key}.json`), logger);
  const idempotency = record("requests", "requests", "handled request ids");
  const reportRuns = record("reports", "report-runs", "report runs");
  const imageStatus = record("images", "image-status", "image automation status");

  return {
    location,
    kube,
    syncRuns: plan.syncRuns,
    election: plan.election && kube !== undefined,
    approvals,
    conversations,
    ledger,
    idempotency,
    reportRuns,
    imageStatus,
    stop: async () => {
      await ledger?.flush();
      for (const f of fallbacks) f.close();
    },
  };
}
