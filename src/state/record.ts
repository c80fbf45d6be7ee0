/**
 * The one shape of persisted bot state (ADR 0009): a small key -> string record that replicas
 * share (a ConfigMap in the cluster), that one process keeps in a file, or that lives in memory.
 * Pending approvals, Teams conversation references and the notification ledger are all stores over
 * a `KeyValueRecord`, so how state is kept, shared and degraded is decided once, here.
 */
import type { KeyValueRecord } from "../core/record.js";

export type { KeyValueRecord } from "../core/record.js";

/** A record in memory: tests, and state that needs no persistence. */
export class MemoryRecord implements KeyValueRecord {
  private data: Record<string, string> = {};
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly name = "memory") {}

  async read(): Promise<Record<string, string>> {
    return { ...this.data };
  }

  modify(edit: (d: Record<string, string>) => boolean): Promise<boolean> {
    // Serialised like the other records, so an edit always sees the result of the previous one.
    const run = this.queue.then(() => {
      const d = { ...this.data };
      if (!edit(d)) return false;
      this.data = d;
      return true;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
