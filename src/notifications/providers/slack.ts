/**
 * Slack provider: Web API `chat.postMessage` / `chat.update` with the bot token (JSON body,
 * `Authorization: Bearer`), or an incoming webhook URL (post only: no update, no threads).
 *
 * It remembers key -> `ts` so a release's root message is updated in place and details are posted
 * as replies in its thread. Slack allows about one message per second per channel and answers
 * 429 with `Retry-After` above that: the router's rate limiter uses `rateLimits`.
 */
import { SlackClient, slackFailureInfo } from "../../chat/slack/client.js";
import { renderSlack } from "../../chat/slack/render.js";
import type { SlackDestination } from "../../config/notification-destinations.js";
import { StalledError, TransientError } from "../../core/errors.js";
import type { FetchLike } from "../http.js";
import { isShared, type MessageLedger } from "../ledger.js";
import { type Delivery, DeliveryError, type NotificationProvider, type RateWindow } from "../notifier.js";

interface Ref {
  channel: string;
  ts: string;
}

/** The Slack provider: thin over the chat `SlackClient` (one send path, one error map). */
export class SlackNotifier implements NotificationProvider {
  readonly name: string;
  readonly rateLimits: RateWindow[];
  readonly canUpdate: boolean;
  readonly canThread: boolean;
  /** key -> where it was posted. Bounded: the oldest refs are forgotten (a later change then posts anew). */
  private readonly refs = new Map<string, Ref>();
  private readonly client: SlackClient;

  constructor(
    private readonly dest: SlackDestination,
    private readonly deps: {
      fetch: FetchLike;
      token?: string;
      /** The platform's API URL, inherited like the token. */
      apiUrl?: string;
      maxRefs?: number;
      ledger?: MessageLedger;
    },
  ) {
    this.name = dest.name;
    // 1 per ~1.1 s: Slack's "about one per second" with a margin so a burst never trips a 429.
    this.rateLimits = dest.rateLimit
      ? [{ limit: dest.rateLimit.perSecond, windowMs: 1000 }]
      : [{ limit: 1, windowMs: 1100 }];
    this.canUpdate = dest.webhookUrl === undefined;
    this.canThread = dest.webhookUrl === undefined;
    this.client = new SlackClient({
      token: dest.token ?? deps.token,
      apiUrl: dest.apiUrl ?? deps.apiUrl,
      fetch: deps.fetch,
    });
  }

  async deliver(d: Delivery): Promise<void> {
    const rendered = renderSlack(d.message);
    if (this.dest.webhookUrl) {
      await this.guard(() => this.client.postWebhook(this.dest.webhookUrl as string, { ...rendered }));
      return;
    }
    const channel = this.dest.channel as string;
    const known = this.refs.get(d.key) ?? (await this.shared(d.key));
    if (known) {
      try {
        // `attachments: []` and `blocks: []` clear what the new rendering does not use (a field that is
        // left out keeps its old value on chat.update).
        await this.guard(() =>
          this.client.update({
            channel: known.channel,
            ts: known.ts,
            attachments: [],
            ...rendered,
          }),
        );
        this.remember(d.key, known);
        return;
      } catch (e) {
        // The message was deleted (or is too old to edit): post a new one instead.
        if (
          !(
            e instanceof DeliveryError &&
            /message_not_found|cant_update_message|edit_window_closed/.test(e.message)
          )
        )
          throw e;
        this.refs.delete(d.key);
      }
    }
    const thread = d.threadKey ? (this.refs.get(d.threadKey) ?? (await this.shared(d.threadKey))) : undefined;
    const body: Record<string, unknown> = { channel, ...rendered, unfurl_links: false, unfurl_media: false };
    if (thread) body["thread_ts"] = thread.ts;
    const res = await this.guard(() => this.client.postMessage(body));
    const { ts, channel: ch } = res;
    if (ts) {
      this.remember(d.key, { channel: ch, ts });
      if (isShared(d.key)) this.deps.ledger?.saveRef(this.name, d.key, JSON.stringify({ channel: ch, ts }));
    }
  }

  /** Where another replica (or this one before a restart) posted `key`, from the ledger. */
  private async shared(key: string): Promise<Ref | undefined> {
    if (!this.deps.ledger || !isShared(key)) return undefined;
    const raw = await this.deps.ledger.ref(this.name, key);
    if (!raw) return undefined;
    try {
      const r = JSON.parse(raw) as Partial<Ref>;
      if (typeof r.channel !== "string" || typeof r.ts !== "string") return undefined;
      this.remember(key, { channel: r.channel, ts: r.ts });
      return { channel: r.channel, ts: r.ts };
    } catch {
      return undefined;
    }
  }

  /** The `ts` a key was posted as (for tests and for the chat side linking to notifications). */
  refOf(key: string): Ref | undefined {
    return this.refs.get(key);
  }

  private remember(key: string, ref: Ref): void {
    this.refs.delete(key);
    this.refs.set(key, ref);
    const max = this.deps.maxRefs ?? 5000;
    while (this.refs.size > max) this.refs.delete(this.refs.keys().next().value as string);
  }

  /** Runs a client call, turning its errors into the router's `DeliveryError` kinds. */
  private async guard<T>(call: () => Promise<T>): Promise<T> {
    if (!this.dest.webhookUrl && !this.client.hasToken)
      throw new DeliveryError(`slack destination ${this.name}: no bot token configured`, "permanent");
    try {
      return await call();
    } catch (e) {
      if (e instanceof TransientError)
        throw new DeliveryError(
          e.message,
          slackFailureInfo(e).rateLimited ? "rate-limited" : "transient",
          e.retryAfterMs,
        );
      if (e instanceof StalledError) throw new DeliveryError(e.message, "permanent");
      throw e;
    }
  }
}
