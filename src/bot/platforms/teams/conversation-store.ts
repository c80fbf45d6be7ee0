/**
 * Conversation references for proactive Teams messages. Bot Framework can only post into a
 * conversation it has seen (it needs the `serviceUrl`, tenant and conversation id), so the Teams
 * platform saves a reference from every inbound activity and notifications look it up by
 * conversation id (the channel id without `;messageid=`, or a chat id).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { ConversationReference } from "botbuilder";
// Not from ./parse.js: that loads botbuilder, and the store is built without Teams too (app/state.ts).
import { baseConversationId } from "../../../chat/teams/conversations.js";
import type { Logger } from "../../../core/ports.js";
import type { KeyValueRecord } from "../../../core/record.js";

/** What we keep of a conversation reference (no user data beyond what Teams needs to route). */
export type StoredReference = Partial<ConversationReference> & {
  conversation: ConversationReference["conversation"];
  serviceUrl: string;
  /** When it was last seen (ISO time). */
  updatedAt?: string;
};

/** Where conversation references live. Keys are base conversation ids. */
export interface ConversationStore {
  get(conversationId: string): Promise<StoredReference | undefined>;
  /** Saves (or refreshes) the reference; the key is `baseConversationId(ref.conversation.id)`. */
  put(ref: StoredReference): Promise<void>;
  list(): Promise<StoredReference[]>;
}

/** Reduces a reference to what proactive messaging needs, keyed by the base conversation id. */
export function toStored(ref: Partial<ConversationReference>, now: Date): StoredReference | undefined {
  if (!ref.conversation?.id || !ref.serviceUrl) return undefined;
  const conversation = { ...ref.conversation, id: baseConversationId(ref.conversation.id) };
  const out: StoredReference = { conversation, serviceUrl: ref.serviceUrl, updatedAt: now.toISOString() };
  if (ref.channelId) out.channelId = ref.channelId;
  if (ref.bot) out.bot = ref.bot;
  if (ref.locale) out.locale = ref.locale;
  return out;
}

/** An in-memory store, for tests and for running without a writable disk. */
export class InMemoryConversationStore implements ConversationStore {
  private readonly refs = new Map<string, StoredReference>();
  async get(conversationId: string): Promise<StoredReference | undefined> {
    return this.refs.get(baseConversationId(conversationId));
  }
  async put(ref: StoredReference): Promise<void> {
    this.refs.set(baseConversationId(ref.conversation.id), ref);
  }
  async list(): Promise<StoredReference[]> {
    return [...this.refs.values()];
  }
}

/**
 * A JSON file of references (`{ "<conversation id>": reference }`), loaded once and rewritten
 * atomically (temp file + rename, mode 0600) when something changed. Writes are serialised; a write
 * that fails is logged and retried with the next change, reads keep working from memory.
 */
export class FileConversationStore implements ConversationStore {
  private refs: Map<string, StoredReference> | undefined;
  private loading: Promise<Map<string, StoredReference>> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly logger?: Logger,
  ) {}

  async get(conversationId: string): Promise<StoredReference | undefined> {
    return (await this.load()).get(baseConversationId(conversationId));
  }

  async put(ref: StoredReference): Promise<void> {
    const refs = await this.load();
    const key = baseConversationId(ref.conversation.id);
    const prev = refs.get(key);
    refs.set(key, ref);
    // Skip the write when only the timestamp moved less than an hour ago: every message would
    // otherwise rewrite the file.
    if (prev && sameRoute(prev, ref) && hoursBetween(prev.updatedAt, ref.updatedAt) < 1) {
      refs.set(key, { ...ref, ...(prev.updatedAt ? { updatedAt: prev.updatedAt } : {}) });
      return;
    }
    await this.flush();
  }

  async list(): Promise<StoredReference[]> {
    return [...(await this.load()).values()];
  }

  /** Waits for pending writes (tests, shutdown). */
  async flush(): Promise<void> {
    const refs = await this.load();
    const next = this.writing.then(async () => {
      const data = `${JSON.stringify(Object.fromEntries(refs), null, 2)}\n`;
      const tmp = `${this.path}.${process.pid}.tmp`;
      try {
        await mkdir(dirname(this.path), { recursive: true });
        await writeFile(tmp, data, { mode: 0o600 });
        await rename(tmp, this.path);
      } catch (e) {
        this.logger?.error({ err: e, path: this.path }, "could not save Teams conversation references");
      }
    });
    this.writing = next;
    await next;
  }

  private load(): Promise<Map<string, StoredReference>> {
    if (this.refs) return Promise.resolve(this.refs);
    this.loading ??= (async () => {
      const refs = new Map<string, StoredReference>();
      try {
        const raw = JSON.parse(await readFile(this.path, "utf8")) as Record<string, StoredReference>;
        for (const [k, v] of Object.entries(raw)) if (v?.conversation?.id && v.serviceUrl) refs.set(k, v);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
          this.logger?.warn(
            { err: e, path: this.path },
            "Teams conversation store unreadable; starting empty",
          );
        }
      }
      this.refs = refs;
      return refs;
    })();
    return this.loading;
  }
}

function sameRoute(a: StoredReference, b: StoredReference): boolean {
  return (
    a.serviceUrl === b.serviceUrl &&
    a.conversation.id === b.conversation.id &&
    a.conversation.tenantId === b.conversation.tenantId &&
    a.bot?.id === b.bot?.id
  );
}

function hoursBetween(a: string | undefined, b: string | undefined): number {
  if (!a || !b) return Number.POSITIVE_INFINITY;
  return Math.abs(Date.parse(b) - Date.parse(a)) / 3_600_000;
}

/**
 * References kept in a `KeyValueRecord` (one key per conversation): in the cluster, a ConfigMap
 * behind a `FallbackRecord` (`app/state.ts`), so that every replica can post proactively into a
 * conversation any replica has seen, references outlive the pod, and an unreachable cluster never
 * holds up the reply to the activity that carried the reference. Reads fall back to the last value
 * seen when the record cannot be read; a failed write is logged, never thrown at the inbound
 * activity that triggered it.
 */
export class RecordConversationStore implements ConversationStore {
  /** Last value seen per key, to skip timestamp-only writes and to survive an API outage. */
  private readonly cache = new Map<string, StoredReference>();

  constructor(
    private readonly record: KeyValueRecord,
    private readonly logger?: Logger,
  ) {}

  async get(conversationId: string): Promise<StoredReference | undefined> {
    const key = recordKey(conversationId);
    try {
      const ref = parseReference((await this.record.read())[key]);
      if (ref) this.cache.set(key, ref);
      else this.cache.delete(key);
      return ref;
    } catch (err) {
      this.logger?.warn({ err }, "could not read Teams conversation references; using the last ones seen");
      return this.cache.get(key);
    }
  }

  async put(ref: StoredReference): Promise<void> {
    const key = recordKey(ref.conversation.id);
    const prev = this.cache.get(key);
    if (prev && sameRoute(prev, ref) && hoursBetween(prev.updatedAt, ref.updatedAt) < 1) return;
    try {
      await this.record.modify((d) => {
        d[key] = JSON.stringify(ref);
        return true;
      });
      this.cache.set(key, ref);
    } catch (err) {
      this.logger?.error({ err }, "could not save a Teams conversation reference");
    }
  }

  async list(): Promise<StoredReference[]> {
    const out: StoredReference[] = [];
    for (const raw of Object.values(await this.record.read())) {
      const ref = parseReference(raw);
      if (ref) out.push(ref);
    }
    return out;
  }
}

/** Conversation ids (`19:…@thread.tacv2`, `a:1…`) are not valid ConfigMap keys: key by a hash. */
function recordKey(conversationId: string): string {
  return `c-${createHash("sha256").update(baseConversationId(conversationId)).digest("hex").slice(0, 40)}`;
}

function parseReference(raw: string | undefined): StoredReference | undefined {
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as StoredReference;
    return v?.conversation?.id && typeof v.serviceUrl === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}
