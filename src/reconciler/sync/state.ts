import { ensureNamespace, type KubeClient, type KubeObject } from "../../kube/client.js";

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

/**
 * The sync state and inventory of one source, kept in one ConfigMap
 * `gitops-bot-sync-<name>` in the bot's namespace (created with the namespace when missing).
 * `save` writes only when something changed, so a no-op sync makes no writes.
 */
export class SyncStateStore implements SyncStatusReader {
  private lastSaved: string | undefined;
  private lastSyncTime: string | undefined;
  readonly configMapName: string;

  constructor(
    private readonly kube: KubeClient,
    private readonly opts: { namespace: string; name: string; source: string; fieldManager: string },
  ) {
    this.configMapName = `gitops-bot-sync-${opts.name}`;
  }

  /** Loads state and inventory (empty ones when there is no record yet). */
  async load(): Promise<{ state: SyncState; inventory: InventoryEntry[] }> {
    const cm = await this.record();
    const state = this.stateOf(cm);
    const data = (cm?.data ?? {}) as Record<string, string>;
    const inventory: InventoryEntry[] = data.inventory ? JSON.parse(data.inventory) : [];
    this.lastSaved = cm ? serialize(state, inventory) : undefined;
    return { state, inventory };
  }

  private record(): Promise<KubeObject | undefined> {
    return this.kube.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: this.opts.namespace,
      name: this.configMapName,
    });
  }

  private stateOf(cm: KubeObject | undefined): SyncState {
    const raw = (cm?.data as Record<string, string> | undefined)?.state;
    return raw ? { ...emptyState(this.opts.source), ...JSON.parse(raw) } : emptyState(this.opts.source);
  }

  /** Marks that a sync ran now (in memory only). */
  touch(time: string): void {
    this.lastSyncTime = time;
  }

  /** Persists state and inventory; a no-op when both are unchanged since the last load/save. */
  async save(state: SyncState, inventory: InventoryEntry[], signal?: AbortSignal): Promise<boolean> {
    const text = serialize(state, inventory);
    if (text === this.lastSaved) return false;
    await this.ensureNamespace(signal);
    const cm: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: this.configMapName,
        namespace: this.opts.namespace,
        labels: { "app.kubernetes.io/managed-by": "gitops-bot", "gitops-bot.dev/record": "sync-state" },
      },
      data: JSON.parse(text),
    };
    await this.kube.apply(cm, { fieldManager: this.opts.fieldManager, force: true, signal });
    this.lastSaved = text;
    return true;
  }

  /** The state only: `status` and the reports never need the inventory (thousands of entries),
   * and a read must not disturb what the next `save` compares against. */
  async read(): Promise<SyncStatus> {
    const state = this.stateOf(await this.record());
    return { ...state, lastSyncTime: this.lastSyncTime };
  }

  private async ensureNamespace(signal?: AbortSignal): Promise<void> {
    if (this.lastSaved !== undefined) return;
    await ensureNamespace(this.kube, this.opts.namespace, signal);
  }
}

function serialize(state: SyncState, inventory: InventoryEntry[]): string {
  const sorted = [...inventory].sort((a, b) => invKey(a).localeCompare(invKey(b)));
  return JSON.stringify({ state: JSON.stringify(state), inventory: JSON.stringify(sorted) });
}

/** A stable key for an inventory entry or object. */
export function invKey(e: { apiVersion: string; kind: string; namespace?: string; name: string }): string {
  const group = e.apiVersion.includes("/") ? e.apiVersion.slice(0, e.apiVersion.indexOf("/")) : "";
  return `${group}|${e.kind}|${e.namespace ?? ""}|${e.name}`;
}
