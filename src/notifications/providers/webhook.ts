/**
 * Generic webhook provider: POSTs JSON (the redacted events plus the rendered message as plain
 * text) to a URL. With a `secret`, the body is signed like GitHub webhooks:
 * `X-Gitops-Signature-256: sha256=<hex(HMAC-SHA256(secret, rawBody))>`; receivers verify with
 * `verifyWebhookSignature`.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { WebhookDestination } from "../../config/notification-destinations.js";
import { messageToPlainText } from "../../core/message.js";
import { type FetchLike, postJson } from "../http.js";
import type { Delivery, NotificationProvider, RateWindow } from "../notifier.js";

export const SIGNATURE_HEADER = "x-gitops-signature-256";

/** The JSON body a webhook receives. */
export interface WebhookPayload {
  /** Message key: deliveries with the same key describe the same release (later ones supersede). */
  key: string;
  threadKey?: string;
  severity: string;
  title: string;
  text: string;
  /** Events covered by this delivery, oldest first (coalesced bursts carry several). */
  events: Delivery["events"];
  /** When this delivery was sent: signed with the body, so a receiver can refuse old replays. */
  sentAt: string;
}

/** `sha256=<hex>` signature of a raw body. */
export function signWebhook(secret: string, rawBody: string): string {
  return `sha256=${createHmac("sha256", secret).update(rawBody).digest("hex")}`;
}

/** Constant-time check of a `X-Gitops-Signature-256` header against the raw body. */
export function verifyWebhookSignature(secret: string, rawBody: string, header: string | undefined): boolean {
  if (!header) return false;
  const want = Buffer.from(signWebhook(secret, rawBody));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}

export class WebhookNotifier implements NotificationProvider {
  readonly name: string;
  readonly rateLimits: RateWindow[];
  readonly canUpdate = false;
  readonly canThread = false;

  constructor(
    private readonly dest: WebhookDestination,
    private readonly deps: { fetch: FetchLike },
  ) {
    this.name = dest.name;
    this.rateLimits = [{ limit: dest.rateLimit?.perSecond ?? 10, windowMs: 1000 }];
  }

  async deliver(d: Delivery): Promise<void> {
    const m = d.message;
    const payload: WebhookPayload = {
      key: d.key,
      severity: m.severity,
      title: m.title ? messageToPlainText({ ...m, blocks: [] }) : m.fallbackText,
      text: messageToPlainText({ ...m, title: undefined }),
      events: d.events,
      sentAt: new Date().toISOString(),
    };
    if (d.threadKey) payload.threadKey = d.threadKey;
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { "x-gitops-event": d.events.at(-1)?.kind ?? "message" };
    const last = d.events.at(-1);
    if (last) headers["x-gitops-delivery"] = last.id;
    if (this.dest.secret) headers[SIGNATURE_HEADER] = signWebhook(this.dest.secret, body);
    await postJson(this.deps.fetch, this.dest.url, body, headers);
  }
}
