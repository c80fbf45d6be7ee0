/**
 * Where chat messages were posted, shared between replicas and across restarts: the port the
 * chat side (keyed messages, notification providers) records message references through. The
 * notifications ledger implements it; the chat platforms only see this interface, so `bot/` does
 * not import `notifications/`.
 */

/** A record of message references (opaque JSON strings), by scope (a destination or `chat:slack`) and key. */
export interface MessageRefStore {
  /** The reference saved under `key` in `scope`, if any. */
  ref(scope: string, key: string): Promise<string | undefined>;
  /** Saves a reference; may be batched until `flush()`. */
  saveRef(scope: string, key: string, ref: string): void;
  /** Writes what is pending now. */
  flush(): Promise<void>;
}

/** The chat front ends. */
export type PlatformName = "slack" | "teams" | "shell" | "cli";

/** Where a posted message lives, so it can be updated or threaded. */
export interface MessageRef {
  platform: PlatformName;
  channel: string;
  /** Slack `ts`, Teams activity id, shell sequence number. */
  id: string;
  /** Thread root (Slack `thread_ts`) when the message is a reply. */
  threadId?: string;
}
