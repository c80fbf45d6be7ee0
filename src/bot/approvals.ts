/**
 * Pending approvals for changes to protected environments (see docs/adr/0002-approval-store.md).
 *
 * A request is stored as the canonical command text plus who asked where; on approval the engine
 * re-parses and re-runs that text as the requester with the approvers as `Approved-By:` trailers.
 * Requests expire (default 1 h) and survive a restart: `FileApprovalStore` keeps them in one JSON
 * file written atomically (temp file + rename).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { PlatformName } from "./platform.js";

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
