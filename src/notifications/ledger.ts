/**
 * What the notification router and its providers share between replicas and across restarts, so
 * that one release stays one message (issue #5) when the replica that posted it is not the one
 * that reports its sync (the leader), or has been restarted since:
 *
 * - the origin of each release (the command or image-automation commit event), by view key, so a
 *   sync or Helm result can be rendered with who released what, not as an anonymous sync;
 * - where each message went on each destination (Slack channel + ts, Teams activity id), so the
 *   message is edited in place and details thread under it;
 * - messages a stopping replica could not deliver in time (a destination down at shutdown),
 *   handed over to the replica that starts next instead of being dropped (issue #11).
 *
 * Writes are batched (one API write per flush, at most every `flushMs`), reads go to the record;
 * both are best effort: a failure is logged and the caller carries on (a new message at worst).
 */
import { createHash } from "node:crypto";
import type { AutoReleaseEvent, CommandCommitEvent } from "../core/events.js";
import type { Message } from "../core/message.js";
import { type Logger, nullLogger } from "../core/ports.js";
import type { KeyValueRecord } from "../core/record.js";

export type ReleaseOrigin = CommandCommitEvent | AutoReleaseEvent;

/**
 * Whether the message under `key` is shared: a release's message and its detail replies, whose
 * keys (the commit SHA) mean the same on every replica. Digests and reconciler messages are keyed
 * per process and stay local.
 */
export function isShared(key: string): boolean {
  return key.startsWith("release:");
}

export interface MessageLedger {
  origin(viewKey: string): Promise<ReleaseOrigin | undefined>;
  saveOrigin(viewKey: string, e: ReleaseOrigin): void;
  /** The provider's reference (opaque JSON) of the message posted under `key` on `destination`. */
  ref(destination: string, key: string): Promise<string | undefined>;
  saveRef(destination: string, key: string, ref: string): void;
  /** Writes what is pending now. */
  flush(): Promise<void>;
  /** Keeps messages this replica could not deliver for `destination`, for the next one that starts. */
  handOver(destination: string, messages: HandedOver[]): Promise<void>;
  /** Takes (and removes) the messages handed over for `destination`. */
  takeOver(destination: string): Promise<HandedOver[]>;
}

/** A message handed over at shutdown: its key (an edit of an earlier post keeps working) and content. */
export interface HandedOver {
  key: string;
  message: Message;
}

/** Most messages kept per destination: a destination down for long would not be caught up anyway. */
const MAX_HANDED_OVER = 20;

/** A ledger in memory: for tests, and to share between routers of one process. */
export class InMemoryLedger implements MessageLedger {
  readonly data = new Map<string, string>();
  async origin(viewKey: string) {
    const raw = this.data.get(`o:${viewKey}`);
    return raw ? (JSON.parse(raw) as ReleaseOrigin) : undefined;
  }
  saveOrigin(viewKey: string, e: ReleaseOrigin) {
    this.data.set(`o:${viewKey}`, JSON.stringify(e));
  }
  async ref(destination: string, key: string) {
    return this.data.get(`r:${destination}\u0000${key}`);
  }
  saveRef(destination: string, key: string, ref: string) {
    this.data.set(`r:${destination}\u0000${key}`, ref);
  }
  async flush() {}
  async handOver(destination: string, messages: HandedOver[]) {
    const all = [...(await this.takeOver(destination)), ...messages].slice(-MAX_HANDED_OVER);
    this.data.set(`h:${destination}`, JSON.stringify(all));
  }
  async takeOver(destination: string): Promise<HandedOver[]> {
    const raw = this.data.get(`h:${destination}`);
    this.data.delete(`h:${destination}`);
    return raw ? (JSON.parse(raw) as HandedOver[]) : [];
  }
}

interface Entry {
  /** ISO time of the write, for eviction. */
  at: string;
  value: string;
}

/**
 * The ledger in a `KeyValueRecord` (in the cluster the ConfigMap
 * `gitops-bot-notifications-<sync.name>`, else a file; chosen in `app/state.ts`), keys hashed
 * (`o-…` origins, `r-…` refs), bounded to the newest `maxOrigins` / `maxRefs` entries.
 */
export class RecordMessageLedger implements MessageLedger {
  private readonly pending = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly logger: Logger;
  private cached: { at: number; data: Promise<Record<string, string>> } | undefined;

  constructor(
    private readonly record: KeyValueRecord,
    private readonly tuning: {
      flushMs?: number;
      maxOrigins?: number;
      maxRefs?: number;
      logger?: Logger;
    } = {},
  ) {
    this.logger = (tuning.logger ?? nullLogger).child({ component: "notifications-ledger" });
  }

  async origin(viewKey: string): Promise<ReleaseOrigin | undefined> {
    const v = await this.read(key("o", viewKey));
    return v ? (JSON.parse(v) as ReleaseOrigin) : undefined;
  }

  saveOrigin(viewKey: string, e: ReleaseOrigin): void {
    this.queue(key("o", viewKey), JSON.stringify(e));
  }

  ref(destination: string, k: string): Promise<string | undefined> {
    return this.read(key("r", `${destination}\u0000${k}`));
  }

  saveRef(destination: string, k: string, ref: string): void {
    this.queue(key("r", `${destination}\u0000${k}`), ref);
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return this.writing;
    const batch = new Map(this.pending);
    this.pending.clear();
    this.writing = this.writing.then(async () => {
      try {
        await this.record.modify((d) => {
          for (const [k, e] of batch) d[k] = JSON.stringify(e);
          evict(d, "o-", this.tuning.maxOrigins ?? 200);
          evict(d, "r-", this.tuning.maxRefs ?? 500);
          return true;
        });
        this.cached = undefined;
      } catch (err) {
        this.logger.warn(
          { err, entries: batch.size },
          "could not record notification threads in the cluster",
        );
      }
    });
    return this.writing;
  }

  async handOver(destination: string, messages: HandedOver[]): Promise<void> {
    const k = key("h", destination);
    await this.flush();
    await this.record.modify((d) => {
      const before = d[k] ? (JSON.parse((JSON.parse(d[k]) as Entry).value) as HandedOver[]) : [];
      const value = JSON.stringify([...before, ...messages].slice(-MAX_HANDED_OVER));
      d[k] = JSON.stringify({ at: new Date().toISOString(), value });
      return true;
    });
    this.cached = undefined;
  }

  async takeOver(destination: string): Promise<HandedOver[]> {
    const k = key("h", destination);
    let taken: HandedOver[] = [];
    // One modify reads and removes them, so of two replicas starting at once only one posts them.
    await this.record.modify((d) => {
      const raw = d[k];
      if (!raw) return false;
      taken = JSON.parse((JSON.parse(raw) as Entry).value) as HandedOver[];
      delete d[k];
      return true;
    });
    this.cached = undefined;
    return taken;
  }

  private queue(k: string, value: string): void {
    this.pending.set(k, { at: new Date().toISOString(), value });
    this.timer ??= setTimeout(() => void this.flush(), this.tuning.flushMs ?? 250);
    this.timer.unref?.();
  }

  /** One read serves the lookups of one sync (its commits) and of a burst. */
  private snapshot(): Promise<Record<string, string>> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > 500) {
      const data = this.record.read();
      this.cached = { at: now, data };
      data.catch(() => {
        this.cached = undefined;
      });
    }
    return this.cached.data;
  }

  private async read(k: string): Promise<string | undefined> {
    const mine = this.pending.get(k);
    if (mine) return mine.value;
    try {
      const raw = (await this.snapshot())[k];
      return raw ? (JSON.parse(raw) as Entry).value : undefined;
    } catch (err) {
      this.logger.warn({ err }, "could not read notification threads from the cluster");
      return undefined;
    }
  }
}

function key(kind: "o" | "r" | "h", id: string): string {
  return `${kind}-${createHash("sha256").update(id).digest("hex").slice(0, 40)}`;
}

/** Keeps the newest `max` entries whose key starts with `prefix`. */
function evict(d: Record<string, string>, prefix: string, max: number): void {
  const entries = Object.entries(d)
    .filter(([k]) => k.startsWith(prefix))
    .map(([k, v]) => {
      try {
        return [k, (JSON.parse(v) as Entry).at ?? ""] as const;
      } catch {
        return [k, ""] as const;
      }
    })
    .sort((a, b) => (a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0));
  for (const [k] of entries.slice(max)) delete d[k];
}
