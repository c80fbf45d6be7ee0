/**
 * The one outbound Teams client: proactive messages (`continueConversationAsync` +
 * `sendActivity` / `updateActivity`) into conversations the bot has seen, with one error map.
 * Used by the chat replies (bot/platforms/teams) and the notification provider alike.
 *
 * Errors: Bot Framework's retryable statuses (412, 429, 5xx, no answer) -> `TransientError`;
 * any other status, and a conversation the bot has never seen -> `StalledError`. The original
 * error (with its `statusCode`) is the `cause`.
 */
import {
  type Activity,
  CardFactory,
  type CloudAdapter,
  type ConversationReference,
  TeamsInfo,
  type TurnContext,
} from "botbuilder";
import { StalledError, TransientError } from "../../core/errors.js";
import type { Logger } from "../../core/ports.js";
import type { TeamsCardActivity } from "./activity.js";
import { baseConversationId } from "./conversations.js";
import type { AdaptiveCard } from "./render.js";

// Re-exported: they live apart so that the notification provider does not load botbuilder.
export { cardActivity, type TeamsCardActivity } from "./activity.js";

/** Where conversation references come from (the Teams conversation store). Keys are base ids. */
export interface ConversationReferences {
  get(conversationId: string): Promise<Partial<ConversationReference> | undefined>;
}

/** How a failed Bot Connector call looks (botbuilder's RestError). */
interface ConnectorError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/**
 * Sends and updates Adaptive Cards in conversations the bot has seen, by conversation id. The
 * chat replies use `sendToConversation` / `updateInConversation`; the notifications provider
 * uses `send` / `update` (its `TeamsConversationSender` port).
 */
export class TeamsClient {
  constructor(
    private readonly adapter: CloudAdapter,
    private readonly appId: string,
    private readonly store: ConversationReferences,
    private readonly log: Logger,
  ) {}

  /** Posts `card` into the conversation (a channel id starts a new thread; `;messageid=` replies in one). Returns the activity id. */
  async sendToConversation(
    conversationId: string,
    card: AdaptiveCard,
    opts: { text?: string } = {},
  ): Promise<string> {
    const ref = await this.reference(conversationId);
    let id = "";
    await this.run("send", ref, async (ctx) => {
      const res = await ctx.sendActivity(messageActivity(card, opts.text));
      id = res?.id ?? "";
    });
    return id;
  }

  /** Replaces the card of activity `activityId` in the conversation. */
  async updateInConversation(conversationId: string, activityId: string, card: AdaptiveCard): Promise<void> {
    const ref = await this.reference(conversationId);
    await this.run("update", ref, async (ctx) => {
      await ctx.updateActivity({ ...messageActivity(card), id: activityId });
    });
  }

  /**
   * Notifications port: posts a card activity; a thread reply (`replyToId`) goes to
   * `<conversation>;messageid=<id>`, which Teams threads under that message.
   */
  async send(
    conversation: string,
    activity: TeamsCardActivity,
    opts?: { replyToId?: string },
  ): Promise<{ id: string }> {
    const target = opts?.replyToId ? `${conversation};messageid=${opts.replyToId}` : conversation;
    const id = await this.sendToConversation(target, cardOf(activity), { text: activity.summary });
    return { id };
  }

  /** Notifications port: replaces the card of an earlier activity. */
  update(conversation: string, activityId: string, activity: TeamsCardActivity): Promise<void> {
    return this.updateInConversation(conversation, activityId, cardOf(activity));
  }

  /** Sends a plain activity (typing indicators, text) into a conversation. */
  async sendActivity(conversationId: string, activity: Partial<Activity>): Promise<string | undefined> {
    const ref = await this.reference(conversationId);
    let id: string | undefined;
    await this.run("send", ref, async (ctx) => {
      id = (await ctx.sendActivity(activity))?.id;
    });
    return id;
  }

  /** The e-mail (or UPN) of a conversation member, from the Bot Connector's member API. */
  async memberEmail(conversationId: string, memberId: string): Promise<string | undefined> {
    const ref = await this.reference(baseConversationId(conversationId));
    let email: string | undefined;
    await this.run("get member", ref, async (ctx) => {
      const m = await TeamsInfo.getMember(ctx, memberId);
      email = m.email ?? m.userPrincipalName ?? undefined;
    });
    return email;
  }

  private async reference(conversationId: string): Promise<Partial<ConversationReference>> {
    const stored = await this.store.get(conversationId);
    if (!stored?.conversation) {
      throw new StalledError(
        `teams: no conversation reference for ${baseConversationId(conversationId)}; add the bot to that team or chat and mention it once`,
      );
    }
    // The stored id is the base id; keep the thread part of the id we were given.
    return { ...stored, conversation: { ...stored.conversation, id: conversationId } };
  }

  /** Runs `logic` in a proactive turn; the one error map (see the module comment). */
  private async run(
    what: string,
    ref: Partial<ConversationReference>,
    logic: (ctx: TurnContext) => Promise<void>,
  ): Promise<void> {
    try {
      // Errors inside the logic would go to the adapter's onTurnError and be swallowed; carry them out.
      let failure: { error: unknown } | undefined;
      await this.adapter.continueConversationAsync(this.appId, ref, async (ctx) => {
        try {
          await logic(ctx);
        } catch (error) {
          failure = { error };
        }
      });
      if (failure) throw failure.error;
    } catch (e) {
      const err = e as ConnectorError;
      this.log.error(
        { what, status: err.statusCode, code: err.code, conversation: ref.conversation?.id, err: e },
        "teams connector call failed",
      );
      const status = err.statusCode ?? 0;
      // Bot Framework's retryable statuses: https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit
      if (status === 0 || [412, 429, 502, 503, 504].includes(status) || status >= 500) {
        throw new TransientError(`teams ${what} failed (${status || err.code || "network"})`, { cause: e });
      }
      throw new StalledError(`teams ${what} failed (${status})`, { cause: e });
    }
  }
}

function cardOf(a: TeamsCardActivity): AdaptiveCard {
  const first = a.attachments[0];
  if (!first) throw new Error("Teams notification without a card");
  return first.content;
}

/** A message activity carrying one Adaptive Card (with a text fallback for notifications). */
function messageActivity(card: AdaptiveCard, text?: string): Partial<Activity> {
  const activity: Partial<Activity> = {
    type: "message",
    attachments: [CardFactory.adaptiveCard(card)],
  };
  // Teams shows `summary` in notifications and the activity feed; `text` would render above the card.
  const summary = text ?? card.fallbackText;
  if (summary) activity.summary = summary.slice(0, 250);
  return activity;
}
