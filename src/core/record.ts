/**
 * The one shape of persisted bot state (ADR 0009): a small key -> string record that replicas
 * share (a ConfigMap in the cluster), that one process keeps in a file, or that lives in memory.
 * Pending approvals, Teams conversation references, the notification ledger and the idempotency
 * record are stores over a `KeyValueRecord`; which record backs them is decided once, in
 * `app/state.ts`. A port in `core/` so that `kube/` (the ConfigMap record), `state/` (file, memory,
 * fallback) and the stores in `bot/` and `notifications/` share it without importing each other.
 */

/** A key -> string record. Implementations: `ConfigMapRecord`, `FileRecord`, `MemoryRecord`, `FallbackRecord`. */
export interface KeyValueRecord {
  /** A name for logs and errors (the ConfigMap or file name). */
  readonly name: string;
  /** The current data (empty when nothing was written yet). */
  read(): Promise<Record<string, string>>;
  /**
   * Applies `edit` to a copy of the current data and writes it; `edit` returns false for "nothing
   * to write" (and may throw to refuse). It may run more than once (after a conflict). Resolves
   * with what the last `edit` returned.
   */
  modify(edit: (d: Record<string, string>) => boolean): Promise<boolean>;
}

/** The code of the `UserError` a record throws when it is full (a store maps it to its own message). */
export const RECORD_FULL = "record-full";
