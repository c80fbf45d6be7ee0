/**
 * Pending approvals kept in the cluster the bot manages: one ConfigMap
 * (`gitops-bot-approvals-<sync.name>` in the bot's namespace), one data key per request.
 * Every replica sees the same requests, and they survive a restart or a rescheduled pod without
 * a volume (docs/adr/0006-approvals-in-the-cluster.md).
 *
 * Concurrency across replicas is optimistic: every write replaces the ConfigMap at the
 * `resourceVersion` it read, and retries on a conflict. On top of that, `put` of a request this
 * store has read is a compare-and-swap on that request: when another replica changed it in
 * between (a second approver clicking at the same moment), the write is refused with a clear
 * error instead of silently dropping an approval. `delete` reports `true` to exactly one caller,
 * so a quorum reached on two replicas at once runs the command once.
 */
import { TransientError, UserError } from "../core/errors.js";
import { isStatus, type KubeClient, type KubeObject } from "../kube/client.js";
import type { ApprovalStore, PendingApproval } from "./approvals.js";

/** Ids are `newApprovalId()` output; anything else is refused before it reaches a key. */
const ID_RE = /^[a-z0-9]{1,32}$/;
/** ConfigMaps hold at most 1 MiB; stay well below it. */
const MAX_BYTES = 900 * 1024;
const ATTEMPTS = 8;

export interface ClusterApprovalStoreOptions {
  namespace: string;
  /** ConfigMap name. */
  name: string;
}

export class ClusterApprovalStore implements ApprovalStore {
  /** The serialized value of each request as this store last read it (for compare-and-swap). */
  private readonly seen = new Map<string, string>();
  private namespaceEnsured = false;

  constructor(
    private readonly kube: KubeClient,
    private readonly opts: ClusterApprovalStoreOptions,
  ) {}

  async get(id: string): Promise<PendingApproval | undefined> {
    if (!ID_RE.test(id)) return undefined;
    const raw = data(await this.read())[id];
    if (raw === undefined) {
      this.seen.delete(id);
      return undefined;
    }
    this.seen.set(id, raw);
    return parse(raw);
  }

  async list(): Promise<PendingApproval[]> {
    const out: PendingApproval[] = [];
    for (const [id, raw] of Object.entries(data(await this.read()))) {
      if (!ID_RE.test(id)) continue;
      const a = parse(raw);
      if (a) out.push(a);
    }
    return out;
  }

  async put(a: PendingApproval): Promise<void> {
    if (!ID_RE.test(a.id)) throw new Error(`invalid approval id ${JSON.stringify(a.id)}`);
    const value = JSON.stringify(a);
    const expected = this.seen.get(a.id);
    await this.modify((d) => {
      if (expected !== undefined && d[a.id] !== expected) {
        throw new UserError(`the approval request ${a.id} was decided by someone else at the same moment`, {
          code: "approval-conflict",
          hint: "Type `pending` to see where it stands, then approve again if it is still open.",
        });
      }
      d[a.id] = value;
      return true;
    });
    this.seen.set(a.id, value);
  }

  async delete(id: string): Promise<boolean> {
    this.seen.delete(id);
    if (!ID_RE.test(id)) return false;
    return this.modify((d) => {
      if (!(id in d)) return false;
      delete d[id];
      return true;
    });
  }

  private async read(): Promise<KubeObject | undefined> {
    return this.kube.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: this.opts.namespace,
      name: this.opts.name,
    });
  }

  /**
   * Applies `edit` to the current data and writes it at the version read; `edit` returns false
   * for "nothing to write". Retries on a conflict (another replica wrote first).
   */
  private async modify(edit: (d: Record<string, string>) => boolean): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const cm = await this.read();
      const d = { ...data(cm) };
      if (!edit(d)) return false;
      const size = Object.entries(d).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v), 0);
      if (size > MAX_BYTES) {
        throw new UserError("too many pending approvals are waiting", {
          code: "approvals-full",
          hint: "Approve, reject or let some expire (`pending` lists them) before asking for more.",
        });
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
              labels: { "app.kubernetes.io/managed-by": "gitops-bot", "gitops-bot.dev/record": "approvals" },
            },
            data: d,
          });
        }
        return true;
      } catch (err) {
        // 409: a replace at a stale resourceVersion, or a create that lost the race.
        if (!isStatus(err, 409)) throw err;
        if (attempt >= ATTEMPTS) {
          throw new TransientError("the approvals record kept changing under us; try again", { cause: err });
        }
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 30));
      }
    }
  }

  private async ensureNamespace(): Promise<void> {
    if (this.namespaceEnsured) return;
    try {
      await this.kube.create({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: this.opts.namespace },
      });
    } catch (err) {
      if (!isStatus(err, 409) && !isStatus(err, 403)) throw err;
    }
    this.namespaceEnsured = true;
  }
}

function data(cm: KubeObject | undefined): Record<string, string> {
  return ((cm?.data as Record<string, string> | undefined) ?? {}) as Record<string, string>;
}

/** A stored request, or undefined when the value is not one (hand-edited ConfigMap). */
function parse(raw: string): PendingApproval | undefined {
  try {
    const a = JSON.parse(raw) as PendingApproval;
    return typeof a?.id === "string" && typeof a.command === "string" && Array.isArray(a.approvals)
      ? a
      : undefined;
  } catch {
    return undefined;
  }
}
