/**
 * Pending approvals for changes to protected environments (see docs/adr/0002-approval-store.md).
 *
 * A request is stored as the canonical command text plus who asked where; on approval the engine
 * re-parses and re-runs that text as the requester with the approvers as `Approved-By:` trailers.
 * Requests expire (default 1 h) and survive a restart: `FileApprovalStore` keeps them in one JSON
 * file written atomically (temp file + rename); `RecordApprovalStore` keeps them in a
 * `KeyValueRecord` (a ConfigMap shared by every replica, chosen in `app/state.ts`).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { UserError } from "../../core/errors.js";
import { type KeyValueRecord, RECORD_FULL } from "../../core/record.js";
import type { PlatformName } from "../platform.js";

/** A person as stored in an approval. */
export interface ApprovalUser {
  id: string;
  name: string;
  email?: string;
}

/** One pending request. */
export interface PendingApproval {
  /** Short random id, used in `approve:<id>` button values and `approve <id>`. */
  id: string;
  /** Canonical command text (quoted tokens, flags) to run on approval. */
  command: string;
  verb: string;
  env?: string;
  app?: string;
  requester: ApprovalUser;
  platform: PlatformName;
  channel: string;
  createdAt: string;
  expiresAt: string;
  required: number;
  approvals: (ApprovalUser & { at: string })[];
  /** Fingerprint of the change the approvers were shown (`changeFingerprint` of its dry run). */
  change?: string;
}

/** Persistence of pending approvals. Implementations must be safe for one process. */
export interface ApprovalStore {
  get(id: string): Promise<PendingApproval | undefined>;
  put(a: PendingApproval): Promise<void>;
  delete(id: string): Promise<boolean>;
  list(): Promise<PendingApproval[]>;
}

/** A new approval id: 8 characters of lower-case base32, easy to type in `approve <id>`. */
export function newApprovalId(): string {
  const alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
  return [...randomBytes(8)].map((x) => alphabet[x % alphabet.length]).join("");
}

/** Keeps approvals in memory (tests; the CLI, which never stores approvals). */
export class InMemoryApprovalStore implements ApprovalStore {
  private readonly items = new Map<string, PendingApproval>();
  async get(id: string) {
    const a = this.items.get(id);
    return a ? structuredClone(a) : undefined;
  }
  async put(a: PendingApproval) {
    this.items.set(a.id, structuredClone(a));
  }
  async delete(id: string) {
    return this.items.delete(id);
  }
  async list() {
    return [...this.items.values()].map((a) => structuredClone(a));
  }
}

/**
 * Keeps approvals in one JSON file. Every change rewrites the file atomically (write a temp file,
 * rename over), serialized through a promise chain, so a crash leaves the old or the new state,
 * never a torn file. Reads go to the file each time, so two stores on one file (a restart) agree.
 */
export class FileApprovalStore implements ApprovalStore {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  private async readAll(): Promise<Record<string, PendingApproval>> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw e;
    }
    const data = JSON.parse(text) as { version?: number; approvals?: Record<string, PendingApproval> };
    return data.approvals ?? {};
  }

  private async writeAll(all: Record<string, PendingApproval>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ version: 1, approvals: all }, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.path);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  get(id: string) {
    return this.serial(async () => (await this.readAll())[id]);
  }

  put(a: PendingApproval) {
    return this.serial(async () => {
      const all = await this.readAll();
      all[a.id] = a;
      await this.writeAll(all);
    });
  }

  delete(id: string) {
    return this.serial(async () => {
      const all = await this.readAll();
      if (!(id in all)) return false;
      delete all[id];
      await this.writeAll(all);
      return true;
    });
  }

  list() {
    return this.serial(async () => Object.values(await this.readAll()));
  }
}

// --- In a shared record ----------------------------------------------------------------------

/** Ids are `newApprovalId()` output; anything else is refused before it reaches a key. */
const ID_RE = /^[a-z0-9]{1,32}$/;

/**
 * Pending approvals kept in a `KeyValueRecord`, one data key per request: in the cluster the bot
 * manages, one ConfigMap (`gitops-bot-approvals-<sync.name>` in the bot's namespace) behind a
 * `FallbackRecord`, so every replica sees the same requests, they survive a restart or a
 * rescheduled pod without a volume (docs/adr/0006-approvals-in-the-cluster.md), and a cluster
 * outage never makes an approval request wait (`app/state.ts`).
 *
 * Concurrency across replicas is optimistic: every write replaces the ConfigMap at the
 * `resourceVersion` it read, and retries on a conflict. On top of that, `put` of a request this
 * store has read is a compare-and-swap on that request: when another replica changed it in
 * between (a second approver clicking at the same moment), the write is refused with a clear
 * error instead of silently dropping an approval. `delete` reports `true` to exactly one caller,
 * so a quorum reached on two replicas at once runs the command once.
 */
export class RecordApprovalStore implements ApprovalStore {
  /** The serialized value of each request as this store last read it (for compare-and-swap). */
  private readonly seen = new Map<string, string>();

  constructor(private readonly record: KeyValueRecord) {}

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
    try {
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
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code !== RECORD_FULL) throw err;
      throw new UserError("too many pending approvals are waiting", {
        code: "approvals-full",
        hint: "Approve, reject or let some expire (`pending` lists them) before asking for more.",
      });
    }
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
