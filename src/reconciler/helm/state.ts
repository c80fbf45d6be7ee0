import type { HelmReleaseSummary } from "../../core/ports.js";
import type { KubeClient } from "../../kube/client.js";
import type { ConditionStatus } from "../conditions.js";
import { type StatusCodec, StatusStore } from "../status-store.js";
import { phaseOf } from "./hr-status.js";

/**
 * What the Helm reconciler remembers of one HelmRelease (key `<namespace>/<name>`). Helm's own
 * storage holds the release and our digests (ADR 0009); this record adds what storage cannot:
 * that we installed it from which file (so a removal from git uninstalls it, and only it), the
 * prune opt-out, failures Helm never stored (`failedAttempt`), a `retry`'s cut-off, the image
 * tags last deployed (for "old -> new" in events) and the last condition (for restarts).
 */
export interface ReleaseRecord {
  releaseName: string;
  targetNamespace: string;
  file: string;
  /** False: the HelmRelease opted out of pruning (or its sync path did): never uninstalled on removal. */
  prune: boolean;
  status?: ConditionStatus;
  reason?: string;
  message?: string;
  /** Helm revision after the last pass. */
  revision?: number;
  /** The config repo revision of the last pass. */
  gitRevision?: string;
  /** `reconcileRelease`'s `failedAttempt`: the config digest that failed before Helm stored a revision. */
  failedAttempt?: string;
  /** The git revision at which `failedAttempt` failed for a kind the cluster did not serve (a CRD
   * not applied yet): a newer applied revision gets one more attempt. */
  missingKindAt?: string;
  /** Set by `retry`: failures at or below this Helm revision are forgotten. */
  retryAfter?: number;
  /** `values path -> repository:tag` of the last deployed values. */
  images?: Record<string, string>;
  /** Chart description of the last pass (for `status`). */
  chart?: string;
}

export interface HelmRecord {
  releases: Record<string, ReleaseRecord>;
}

/** Deterministic: keys sorted, so an unchanged record is never written. */
export const helmCodec: StatusCodec<HelmRecord> = {
  encode: ({ releases }) => {
    const sorted: Record<string, ReleaseRecord> = {};
    for (const k of Object.keys(releases).sort()) sorted[k] = releases[k] as ReleaseRecord;
    return { releases: JSON.stringify(sorted) };
  },
  decode: (data) => ({ releases: data?.releases ? JSON.parse(data.releases) : {} }),
};

/** Read side for `status` (any replica). */
export interface HelmStatusReader {
  read(): Promise<Record<string, ReleaseRecord>>;
}

/**
 * The records of all releases of one sync source in one `StatusStore` ConfigMap
 * (`gitops-bot-helm-<name>`). Releases reconcile in parallel, so saves are chained: each writes the
 * whole current map once, and only when it changed.
 */
export class HelmStateStore implements HelmStatusReader {
  private readonly store: StatusStore<HelmRecord>;
  private records: Record<string, ReleaseRecord> | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(kube: KubeClient, opts: { namespace: string; name: string; fieldManager: string }) {
    this.store = new StatusStore(kube, {
      namespace: opts.namespace,
      name: `gitops-bot-helm-${opts.name}`,
      record: "helm-state",
      fieldManager: opts.fieldManager,
      codec: helmCodec,
    });
  }

  get configMapName(): string {
    return this.store.configMapName;
  }

  /** The records (loaded once; `reset` forgets them, e.g. when this replica starts leading). */
  async all(): Promise<Record<string, ReleaseRecord>> {
    this.records ??= (await this.store.load()).releases;
    return this.records;
  }

  reset(): void {
    this.records = undefined;
  }

  async get(key: string): Promise<ReleaseRecord | undefined> {
    return (await this.all())[key];
  }

  /** Sets (or with `undefined` deletes) one record and persists the map if it changed. */
  async put(key: string, rec: ReleaseRecord | undefined, signal?: AbortSignal): Promise<void> {
    const all = await this.all();
    if (rec) all[key] = rec;
    else delete all[key];
    const run = this.chain.then(() => this.store.save({ releases: { ...all } }, signal));
    this.chain = run.catch(() => undefined);
    await run;
  }

  async read(): Promise<Record<string, ReleaseRecord>> {
    const data = await this.store.data();
    return helmCodec.decode(data).releases;
  }
}

/** The status record as `HelmCommands.releases` reports it (the `status` command, the Helm report section). */
export async function releaseSummaries(reader: HelmStatusReader): Promise<HelmReleaseSummary[]> {
  return Object.entries(await reader.read()).map(([key, r]) => ({
    key,
    file: r.file,
    release: r.releaseName,
    namespace: r.targetNamespace,
    phase: r.status ? phaseOf(r.status, r.reason) : "Unknown",
    ...(r.revision !== undefined ? { revision: r.revision } : {}),
    ...(r.message ? { message: r.message } : {}),
  }));
}
