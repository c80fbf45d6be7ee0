/**
 * Messages a chat platform posted with an `updateKey` (an approval request), so a later
 * invocation (the approval) edits that message instead of posting a new one. Kept in memory for
 * 24 h and, with a ledger, shared with the other replicas and across restarts: the request may be
 * posted by one replica and approved through another, or after an upgrade.
 */
import type { Message } from "../core/message.js";
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

/** What `KeyedReplies` needs from a platform's reply path. */
export interface KeyedTarget<R> {
  /** Edits the message at `ref` in place. */
  update(ref: R, msg: Message): Promise<void>;
  /** Whether `ref` lives where this invocation is answered (same channel / conversation). */
  isHere(ref: R): boolean;
}

/**
 * The keyed/threaded semantics of one invocation's replies, written once for every platform:
 *
 * - a reply whose `updateKey` was seen before in this invocation edits that message;
 * - else, one an earlier invocation posted with that key (on any replica: an approval request
 *   edited by the approval) is edited, and when it lives elsewhere the reply is also posted here;
 * - a reply with a `threadKey` goes into the thread of the message posted with that key.
 *
 * `"ephemeral"` marks a key whose message only the actor saw (Slack): the platform replaces it
 * its own way.
 */
export class KeyedReplies<R> {
  private readonly byKey = new Map<string, R | "ephemeral">();

  constructor(
    private readonly shared: KeyedMessages<R>,
    private readonly target: KeyedTarget<R>,
  ) {}

  /**
   * Applies `updateKey`: resolves with the ref when the reply is done (edited here), `"ephemeral"`
   * when an ephemeral message of this invocation is to be replaced, `undefined` when it must be posted.
   */
  async edit(msg: Message): Promise<R | "ephemeral" | undefined> {
    if (!msg.updateKey) return undefined;
    const earlier = this.byKey.get(msg.updateKey);
    if (earlier === "ephemeral") return earlier;
    if (earlier) {
      await this.target.update(earlier, msg);
      return earlier;
    }
    const elsewhere = await this.shared.get(msg.updateKey);
    if (!elsewhere) return undefined;
    await this.target.update(elsewhere, msg);
    if (!this.target.isHere(elsewhere)) return undefined;
    this.byKey.set(msg.updateKey, elsewhere);
    return elsewhere;
  }

  /** The message `threadKey` names (this invocation's or an earlier one's), to reply in its thread. */
  async threadRoot(msg: Message): Promise<R | undefined> {
    if (!msg.threadKey) return undefined;
    const root = this.byKey.get(msg.threadKey) ?? (await this.shared.get(msg.threadKey));
    return root === "ephemeral" ? undefined : root;
  }

  /** Records where a reply with an `updateKey` went (shared with other replicas unless ephemeral). */
  async posted(msg: Message, where: R | "ephemeral"): Promise<void> {
    if (!msg.updateKey) return;
    this.byKey.set(msg.updateKey, where);
    if (where !== "ephemeral") await this.shared.remember(msg.updateKey, where);
  }
}
