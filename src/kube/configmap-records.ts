/**
 * A small key -> string record kept in one ConfigMap, shared by every replica of the bot: the
 * pending approvals, the Teams conversation references, the notification ledger and the
 * idempotency record live in records like this when the bot has a cluster (`app/state.ts`).
 *
 * Writes use the API server's optimistic concurrency: `modify` reads the ConfigMap, applies an
 * edit to its data and replaces it at the `resourceVersion` it read, retrying on a conflict
 * (another replica wrote first), so concurrent edits of different keys are never lost and an edit
 * sees the latest value of its own key. The ConfigMap (and its namespace) is created on first write.
 */
import { TransientError, UserError } from "../core/errors.js";
import { type KeyValueRecord, RECORD_FULL } from "../core/record.js";
import { ensureNamespace, isStatus, type KubeClient, type KubeObject } from "./client.js";

/** ConfigMaps hold at most 1 MiB; stay well below it. */
const MAX_BYTES = 900 * 1024;
const ATTEMPTS = 8;

/** A valid ConfigMap data key. */
export const CONFIGMAP_KEY_RE = /^[-._a-zA-Z0-9]{1,253}$/;

export interface ConfigMapRecordOptions {
  namespace: string;
  name: string;
  /** Value of the `gitops-bot.dev/record` label (what the ConfigMap holds). */
  record: string;
  /** The error users see when the record is full. */
  fullError?: () => Error;
}

/** A `KeyValueRecord` in one ConfigMap (see the file comment). */
export class ConfigMapRecord implements KeyValueRecord {
  private namespaceEnsured = false;

  constructor(
    private readonly kube: KubeClient,
    private readonly opts: ConfigMapRecordOptions,
  ) {}

  get name(): string {
    return this.opts.name;
  }

  /** The current data (empty when the ConfigMap does not exist yet). */
  async read(): Promise<Record<string, string>> {
    return data(await this.get());
  }

  /**
   * Applies `edit` to a copy of the current data and writes it; `edit` returns false for "nothing
   * to write" (and may throw to refuse). It may run more than once, after a conflict. Resolves
   * with what the last `edit` returned.
   */
  async modify(edit: (d: Record<string, string>) => boolean): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const cm = await this.get();
      const d = { ...data(cm) };
      if (!edit(d)) return false;
      for (const k of Object.keys(d)) {
        if (!CONFIGMAP_KEY_RE.test(k)) throw new Error(`invalid ConfigMap key ${JSON.stringify(k)}`);
      }
      const size = Object.entries(d).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v), 0);
      if (size > MAX_BYTES) {
        throw (
          this.opts.fullError?.() ??
          new UserError(`the ${this.opts.record} record ${this.opts.name} is full`, { code: RECORD_FULL })
        );
      }
      try {
        if (cm) {
          await this.kube.replace({ ...cm, data: d });
        } else {
          await this.ensureNamespace();
          await this.kube.create({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: {
              name: this.opts.name,
              namespace: this.opts.namespace,
              labels: {
                "app.kubernetes.io/managed-by": "gitops-bot",
                "gitops-bot.dev/record": this.opts.record,
              },
            },
            data: d,
          });
        }
        return true;
      } catch (err) {
        // 409: a replace at a stale resourceVersion, or a create that lost the race.
        if (!isStatus(err, 409)) throw err;
        if (attempt >= ATTEMPTS) {
          throw new TransientError(`the ${this.opts.record} record kept changing under us; try again`, {
            cause: err,
          });
        }
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 30));
      }
    }
  }

  private get(): Promise<KubeObject | undefined> {
    return this.kube.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: this.opts.namespace,
      name: this.opts.name,
    });
  }

  private async ensureNamespace(): Promise<void> {
    if (this.namespaceEnsured) return;
    await ensureNamespace(this.kube, this.opts.namespace);
    this.namespaceEnsured = true;
  }
}

function data(cm: KubeObject | undefined): Record<string, string> {
  return (cm?.data as Record<string, string> | undefined) ?? {};
}
