import { ensureNamespace, type KubeClient, type KubeObject } from "../kube/client.js";

/** How a reconciler's status record maps to ConfigMap `data` (string values). */
export interface StatusCodec<S> {
  /** Deterministic: equal records give equal data, so an unchanged record is not written. */
  encode(record: S): Record<string, string>;
  /** `undefined` when there is no record yet: the empty record. */
  decode(data: Record<string, string> | undefined): S;
}

export interface StatusStoreOptions<S> {
  namespace: string;
  /** The ConfigMap's name, e.g. `gitops-bot-sync-<name>`. */
  name: string;
  /** Value of the `gitops-bot.dev/record` label (e.g. `sync-state`). */
  record: string;
  /** Server-side apply field manager. */
  fieldManager: string;
  codec: StatusCodec<S>;
}

/**
 * The persisted status of one reconciler object, in one ConfigMap (created with its namespace when
 * missing). `save` writes only when the encoded record changed since the last `load`/`save`, so a
 * no-op reconcile makes no writes. Every reconciler keeps its status shape next to it and its
 * record here.
 */
export class StatusStore<S> {
  private lastSaved: string | undefined;

  constructor(
    private readonly kube: KubeClient,
    private readonly opts: StatusStoreOptions<S>,
  ) {}

  get configMapName(): string {
    return this.opts.name;
  }

  /** Loads the record (the empty one when there is none yet) and remembers it for `save`. */
  async load(): Promise<S> {
    const data = await this.data();
    const record = this.opts.codec.decode(data);
    this.lastSaved = data ? JSON.stringify(this.opts.codec.encode(record)) : undefined;
    return record;
  }

  /**
   * The raw data, for read sides that need only part of it; does not disturb what `save` compares
   * against. `signal` bounds the read (a chat command must not wait on a cluster that hangs).
   */
  async data(signal?: AbortSignal): Promise<Record<string, string> | undefined> {
    const cm: KubeObject | undefined = await this.kube.get(
      { apiVersion: "v1", kind: "ConfigMap", namespace: this.opts.namespace, name: this.opts.name },
      signal ? { signal } : {},
    );
    return cm ? ((cm.data ?? {}) as Record<string, string>) : undefined;
  }

  /** Persists the record; false (and no request) when it is unchanged since the last load/save. */
  async save(record: S, signal?: AbortSignal): Promise<boolean> {
    const data = this.opts.codec.encode(record);
    const text = JSON.stringify(data);
    if (text === this.lastSaved) return false;
    if (this.lastSaved === undefined) await ensureNamespace(this.kube, this.opts.namespace, signal);
    const cm: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: this.opts.name,
        namespace: this.opts.namespace,
        labels: { "app.kubernetes.io/managed-by": "gitops-bot", "gitops-bot.dev/record": this.opts.record },
      },
      data,
    };
    await this.kube.apply(cm, { fieldManager: this.opts.fieldManager, force: true, signal });
    this.lastSaved = text;
    return true;
  }
}
