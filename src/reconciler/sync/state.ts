import type { KubeClient } from "../../kube/client.js";
import { type StatusCodec, StatusStore } from "../status-store.js";

/** One object this bot applied, as recorded in the inventory. */
export interface InventoryEntry {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /** The manifest file it came from. */
  file: string;
}

/** An object changed in the cluster behind git's back. */
export interface DriftRecord {
  id: string;
  file: string;
  /** Field paths that were changed (`*` = the object was replaced, `deleted` = it was deleted). */
  fields: string[];
  /** True when the sync re-applied git's version. */
  corrected: boolean;
}

/** The persisted outcome of the last sync of one source (what `status` and the reports show). */
export interface SyncState {
  /** `url#branch:path,path` of the source, so a changed source is recognisable. */
  source: string;
  /** The revision the last completed sync applied (with or without per-object errors). */
  lastAppliedRevision?: string;
  /** The revision of the last attempt, also when it failed as a whole. */
  lastAttemptedRevision?: string;
  /** When the recorded outcome last changed. */
  lastChangeTime?: string;
  result: "never" | "success" | "partial" | "failed";
  /** The condition reason of the last attempt (`SyncReasons`); absent in records of older versions. */
  reason?: string;
  /** Why the last attempt failed as a whole, or a summary of the per-object errors. */
  message?: string;
  /** Per-object errors of the last sync (at most 50). */
  errors: { id: string; file: string; error: string }[];
  /** Drift seen by the last sync that saw any (at most 50). */
  drift: DriftRecord[];
  /** When drift was last seen. */
  driftTime?: string;
}

/** The state plus the time of the last sync run in this process (not persisted: a no-op sync writes nothing). */
export interface SyncStatus extends SyncState {
  lastSyncTime?: string;
}

/** Read side of the sync state for `status` and the cron reports; works on any replica. */
export interface SyncStatusReader {
  read(): Promise<SyncStatus>;
}

export const emptyState = (source: string): SyncState => ({ source, result: "never", errors: [], drift: [] });

/** What the sync keeps in its status record: the state plus the inventory. */
export interface SyncRecord {
  state: SyncState;
  inventory: InventoryEntry[];
}

/** The sync record as ConfigMap data: `state` and `inventory` (sorted, so the order never causes a write). */
export function syncCodec(source: string): StatusCodec<SyncRecord> {
  return {
    encode: ({ state, inventory }) => {
      const sorted = [...inventory].sort((a, b) => invKey(a).localeCompare(invKey(b)));
      return { state: JSON.stringify(state), inventory: JSON.stringify(sorted) };
    },
    decode: (data) => ({
      state: stateOf(data, source),
      inventory: data?.inventory ? JSON.parse(data.inventory) : [],
    }),
  };
}

function stateOf(data: Record<string, string> | undefined, source: string): SyncState {
  const raw = data?.state;
  return raw ? { ...emptyState(source), ...JSON.parse(raw) } : emptyState(source);
}

/**
 * The sync state and inventory of one source: a `StatusStore` ConfigMap
 * `gitops-bot-sync-<name>` in the bot's namespace, plus the time of the last run in memory.
 */
export class SyncStateStore implements SyncStatusReader {
  private readonly store: StatusStore<SyncRecord>;
  private lastSyncTime: string | undefined;

  constructor(
    kube: KubeClient,
    private readonly opts: {
      namespace: string;
      name: string;
      source: string;
      fieldManager: string;
      /** How long `read` (status, reports) waits for the cluster before it fails (default 3 s). */
      readTimeoutMs?: number;
    },
  ) {
    this.store = new StatusStore(kube, {
      namespace: opts.namespace,
      name: `gitops-bot-sync-${opts.name}`,
      record: "sync-state",
      fieldManager: opts.fieldManager,
      codec: syncCodec(opts.source),
    });
  }

  get configMapName(): string {
    return this.store.configMapName;
  }

  /** Loads state and inventory (empty ones when there is no record yet). */
  load(): Promise<SyncRecord> {
    return this.store.load();
  }

  /** Marks that a sync ran now (in memory only). */
  touch(time: string): void {
    this.lastSyncTime = time;
  }

  /** Persists state and inventory; a no-op when both are unchanged since the last load/save. */
  save(state: SyncState, inventory: InventoryEntry[], signal?: AbortSignal): Promise<boolean> {
    return this.store.save({ state, inventory }, signal);
  }

  /**
   * The state only: `status` and the reports never need the inventory (thousands of entries).
   * Bounded: on a cluster that does not answer it fails after `readTimeoutMs`, and the reply says
   * the state could not be read instead of waiting out the client's 30 s (issue #11).
   */
  async read(): Promise<SyncStatus> {
    const signal = AbortSignal.timeout(this.opts.readTimeoutMs ?? 3000);
    const state = stateOf(await this.store.data(signal), this.opts.source);
    return { ...state, lastSyncTime: this.lastSyncTime };
  }
}

/** A stable key for an inventory entry or object. */
export function invKey(e: { apiVersion: string; kind: string; namespace?: string; name: string }): string {
  const group = e.apiVersion.includes("/") ? e.apiVersion.slice(0, e.apiVersion.indexOf("/")) : "";
  return `${group}|${e.kind}|${e.namespace ?? ""}|${e.name}`;
}
