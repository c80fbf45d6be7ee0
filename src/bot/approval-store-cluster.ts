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
import { UserError } from "../core/errors.js";
import type { KubeClient } from "../kube/client.js";
import { ConfigMapRecord } from "../kube/configmap-records.js";
import type { ApprovalStore, PendingApproval } from "./approvals.js";

/** Ids are `newApprovalId()` output; anything else is refused before it reaches a key. */
const ID_RE = /^[a-z0-9]{1,32}$/;

export interface ClusterApprovalStoreOptions {
  namespace: string;
  /** ConfigMap name. */
  name: string;
}

export class ClusterApprovalStore implements ApprovalStore {
  /** The serialized value of each request as this store last read it (for compare-and-swap). */
  private readonly seen = new Map<string, string>();
  private readonly record: ConfigMapRecord;

  constructor(kube: KubeClient, opts: ClusterApprovalStoreOptions) {
    this.record = new ConfigMapRecord(kube, {
      ...opts,
      record: "approvals",
      fullError: () =>
        new UserError("too many pending approvals are waiting", {
          code: "approvals-full",
          hint: "Approve, reject or let some expire (`pending` lists them) before asking for more.",
        }),
    });
  }

  async get(id: string): Promise<PendingApproval | undefined> {
    if (!ID_RE.test(id)) return undefined;
    const raw = (await this.record.read())[id];
    if (raw === undefined) {
      this.seen.delete(id);
      return undefined;
    }
    this.seen.set(id, raw);
    return parse(raw);
  }

  async list(): Promise<PendingApproval[]> {
    const out: PendingApproval[] = [];
    for (const [id, raw] of Object.entries(await this.record.read())) {
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
    await this.record.modify((d) => {
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
    return this.record.modify((d) => {
      if (!(id in d)) return false;
      delete d[id];
      return true;
    });
  }
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
