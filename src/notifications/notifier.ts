/**
 * The notification ports (DESIGN.md `Notifier`, issue #5).
 *
 * - `Notifier.post(event)` is what the rest of the system calls (the `NotificationRouter`
 *   implements it, and `EventSink.emit` for fire-and-forget).
 * - `NotificationProvider` is one destination's transport (Slack, Teams, webhook): it delivers an
 *   already-built, already-redacted `Message` and remembers where earlier messages went, so a
 *   later delivery with the same key updates in place or threads under it.
 */
import type { GitopsEvent } from "../core/events.js";
import type { Message } from "../core/message.js";

/** Accepts events for delivery. Resolves when every destination has handled the event (sent, or given up). */
export interface Notifier {
  post(event: GitopsEvent): Promise<void>;
}

/** One unit of work for a provider. */
export interface Delivery {
  /** Stable key of the message: a later delivery with the same key edits it where the platform can. */
  key: string;
  /** When set, the message is a reply in the thread of the message delivered under this key. */
  threadKey?: string;
  /** Redacted message to send. */
  message: Message;
  /** The events this delivery covers (coalesced since the last delivery of `key`), redacted. */
  events: GitopsEvent[];
}

/** A rate limit window: at most `limit` sends per `windowMs`. */
export interface RateWindow {
  limit: number;
  windowMs: number;
}

/** One destination's transport. Implementations throw `DeliveryError` on failure. */
export interface NotificationProvider {
  /** Destination name (from config), for logs and metrics. */
  readonly name: string;
  /** Platform rate limits for this destination (Slack ~1/s per channel; Teams 7/s and 60/30 s). */
  readonly rateLimits: RateWindow[];
  /** Whether a delivery with a known key edits the earlier message (false for plain webhooks). */
  readonly canUpdate: boolean;
  /** Whether a `threadKey` delivery becomes a thread reply (false: posted as a top-level message). */
  readonly canThread: boolean;
  deliver(d: Delivery): Promise<void>;
}

export type DeliveryFailure = "rate-limited" | "transient" | "permanent";

/** A failed delivery, classified so the router knows whether and when to retry. */
export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
  constructor(
    message: string,
    readonly kind: DeliveryFailure,
    /** Server-requested wait (`Retry-After`) in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Classifies an HTTP status: 429 rate-limited; 408/412/5xx transient; other 4xx permanent. */
export function failureForStatus(status: number): DeliveryFailure {
  if (status === 429) return "rate-limited";
  if (status === 408 || status === 412 || status >= 500) return "transient";
  return "permanent";
}

/** Parses `Retry-After` (seconds or an HTTP date) into ms; undefined when absent or invalid. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return Math.ceil(secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
