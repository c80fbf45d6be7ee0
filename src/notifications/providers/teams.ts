/**
 * Teams provider: an Adaptive Card 1.4, either as a proactive bot message to a stored conversation
 * (through an injected `TeamsConversationSender`, implemented by the Teams platform with
 * botbuilder's `continueConversationAsync`), updated in place as the release progresses; or
 * POSTed to a Workflows / incoming-webhook URL (post only).
 *
 * Bot Framework limits per conversation: about 7 messages/s and 60 per 30 s.
 */
import { cardActivity, type TeamsCardActivity } from "../../chat/teams/activity.js";
import { renderTeams } from "../../chat/teams/render.js";
import type { TeamsDestination } from "../../config/notification-destinations.js";
import { StalledError, TransientError, UserError } from "../../core/errors.js";
import { type FetchLike, postJson } from "../http.js";
import { isShared, type MessageLedger } from "../ledger.js";
import {
  type Delivery,
  DeliveryError,
  type DeliveryFailure,
  failureForStatus,
  type NotificationProvider,
  type RateWindow,
} from "../notifier.js";

export type { TeamsCardActivity } from "../../chat/teams/activity.js";
export { cardActivity } from "../../chat/teams/activity.js";

/**
 * Posts to a stored conversation. Implemented by the chat `TeamsClient` (botbuilder
 * `continueConversationAsync` + `sendActivity` / `updateActivity`). Errors should carry the HTTP
 * `statusCode` (botbuilder's do) and may carry `retryAfterMs`.
 */
export interface TeamsConversationSender {
  send(
    conversation: string,
    activity: TeamsCardActivity,
    opts?: { replyToId?: string },
  ): Promise<{ id: string }>;
  update(conversation: string, activityId: string, activity: TeamsCardActivity): Promise<void>;
}

/** The Teams provider: thin over the chat `TeamsClient` (the platform's `sender`) or a webhook URL. */
export class TeamsNotifier implements NotificationProvider {
  readonly name: string;
  readonly rateLimits: RateWindow[];
  readonly canUpdate: boolean;
  readonly canThread: boolean;
  private readonly refs = new Map<string, string>();

  constructor(
    private readonly dest: TeamsDestination,
    private readonly deps: { fetch: FetchLike; sender?: TeamsConversationSender; ledger?: MessageLedger },
  ) {
    this.name = dest.name;
    this.rateLimits = dest.rateLimit
      ? [{ limit: dest.rateLimit.perSecond, windowMs: 1000 }]
      : [
          { limit: 7, windowMs: 1000 },
          { limit: 60, windowMs: 30_000 },
        ];
    const proactive = dest.conversation !== undefined;
    this.canUpdate = proactive;
    this.canThread = proactive;
  }

  async deliver(d: Delivery): Promise<void> {
    const activity = cardActivity(renderTeams(d.message), d.message.fallbackText);
    if (!this.dest.conversation) {
      await postJson(this.deps.fetch, this.dest.url as string, JSON.stringify(activity));
      return;
    }
    const sender = this.deps.sender;
    if (!sender)
      throw new DeliveryError(
        `teams destination ${this.name}: no bot conversation sender (is the Teams platform configured?)`,
        "permanent",
      );
    const conv = this.dest.conversation;
    try {
      const known = this.refs.get(d.key) ?? (await this.shared(d.key));
      if (known) {
        await sender.update(conv, known, activity);
        return;
      }
      const replyToId = d.threadKey
        ? (this.refs.get(d.threadKey) ?? (await this.shared(d.threadKey)))
        : undefined;
      const res = await sender.send(conv, activity, replyToId ? { replyToId } : undefined);
      this.remember(d.key, res.id);
      if (isShared(d.key)) this.deps.ledger?.saveRef(this.name, d.key, res.id);
    } catch (e) {
      throw classify(e);
    }
  }

  private remember(key: string, id: string): void {
    this.refs.set(key, id);
    while (this.refs.size > 5000) this.refs.delete(this.refs.keys().next().value as string);
  }

  /** The activity id another replica (or this one before a restart) posted `key` as. */
  private async shared(key: string): Promise<string | undefined> {
    if (!this.deps.ledger || !isShared(key)) return undefined;
    const id = await this.deps.ledger.ref(this.name, key);
    if (id) this.remember(key, id);
    return id;
  }
}

/**
 * Maps a sender error to a DeliveryError: botbuilder's errors carry `statusCode` (possibly on
 * `cause`, when the Teams platform wrapped them); `StalledError` (no stored conversation) is
 * permanent; `TransientError` is retried.
 */
function classify(e: unknown): DeliveryError {
  if (e instanceof DeliveryError) return e;
  const err = e as {
    statusCode?: number;
    retryAfterMs?: number;
    name?: string;
    cause?: { statusCode?: number };
  };
  const status = typeof err.statusCode === "number" ? err.statusCode : err.cause?.statusCode;
  let kind: DeliveryFailure;
  if (typeof status === "number") kind = failureForStatus(status);
  else if (e instanceof StalledError || e instanceof UserError) kind = "permanent";
  else kind = "transient";
  const retryAfterMs = e instanceof TransientError ? e.retryAfterMs : err.retryAfterMs;
  // Status only: Bot Framework error messages can echo the request, including the service URL.
  const what =
    typeof status === "number"
      ? `HTTP ${status}`
      : e instanceof StalledError
        ? `stalled: ${e.message}`
        : (err.name ?? "error");
  return new DeliveryError(`teams: ${what}`, kind, retryAfterMs);
}
