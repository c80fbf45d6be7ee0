/**
 * Messages a chat platform posted with an `updateKey` (an approval request), so a later
 * invocation (the approval) edits that message instead of posting a new one. Kept in memory for
 * 24 h and, with a ledger, shared with the other replicas and across restarts: the request may be
 * posted by one replica and approved through another, or after an upgrade.
 */
import type { MessageRefStore } from "../core/message-refs.js";
import type { Logger } from "../core/ports.js";

const TTL_MS = 24 * 3_600_000;
const MAX = 2000;

/** Keyed message references of one platform: memory first, then the shared record. */
export class KeyedMessages<T> {
  private readonly local = new Map<string, { at: number; value: T }>();

  constructor(
    /** Names this platform's entries in the ledger (`chat:slack`). */
    private readonly scope: string,
    private readonly ledger?: MessageRefStore,
    private readonly logger?: Logger,
  ) {}

  /** The message posted with `key`: from memory, else from the ledger. */
  async get(key: string): Promise<T | undefined> {
    const hit = this.local.get(key);
    if (hit && Date.now() - hit.at <= TTL_MS) return hit.value;
    if (hit) this.local.delete(key);
    if (!this.ledger) return undefined;
    try {
      const raw = await this.ledger.ref(this.scope, key);
      if (!raw) return undefined;
      const { at, value } = JSON.parse(raw) as { at: number; value: T };
      if (Date.now() - at > TTL_MS) return undefined;
      this.local.set(key, { at, value });
      return value;
    } catch (err) {
      this.logger?.warn({ err }, "could not look up a message posted by another replica");
      return undefined;
    }
  }

  /** Remembers the first message posted with `key`. */
  async remember(key: string, value: T): Promise<void> {
    if (await this.get(key)) return;
    if (this.local.size >= MAX) this.local.delete(this.local.keys().next().value as string);
    const entry = { at: Date.now(), value };
    this.local.set(key, entry);
    if (!this.ledger) return;
    // Written at once, not batched: the approval may follow the request within a second.
    this.ledger.saveRef(this.scope, key, JSON.stringify(entry));
    await this.ledger.flush();
  }
}
