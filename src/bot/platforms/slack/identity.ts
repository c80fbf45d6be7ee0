/**
 * The bot's own Slack ids (bot id, bot user id): from the config, else looked up with `auth.test`
 * in the background. Bolt's `authorize` answers from here, from memory only, so an unreachable
 * Slack never delays an ack.
 */
import type { AuthorizeResult } from "@slack/bolt";
import type { SlackClient } from "../../../chat/slack/client.js";
import type { Logger } from "../../../core/ports.js";
import type { Redactor } from "../../../core/redact.js";

/** The bot's ids, known or being looked up; one per platform. */
export class SlackIdentity {
  private ids: { botId?: string; botUserId?: string } = {};
  private lookup: Promise<void> | undefined;
  private lookupAt = 0;

  constructor(
    private readonly client: SlackClient,
    private readonly o: {
      botToken: string;
      botId?: string | undefined;
      botUserId?: string | undefined;
      log: Logger;
      redactor: Redactor;
    },
  ) {
    if (o.botId) this.ids.botId = o.botId;
    if (o.botUserId) this.ids.botUserId = o.botUserId;
  }

  /** The bot user id, when known (to strip the leading mention of the bot). */
  get botUserId(): string | undefined {
    return this.ids.botUserId;
  }

  /** Bolt's authorize: answers from memory only. */
  async authorize(): Promise<AuthorizeResult> {
    if (!this.ids.botUserId) this.refresh();
    const r: AuthorizeResult = { botToken: this.o.botToken };
    if (this.ids.botId) r.botId = this.ids.botId;
    if (this.ids.botUserId) r.botUserId = this.ids.botUserId;
    return r;
  }

  /** Looks up the bot's ids with `auth.test` in the background (at most once a minute). */
  refresh(): void {
    if (this.ids.botId && this.ids.botUserId) return;
    const now = Date.now();
    if (this.lookup || now - this.lookupAt < 60_000) return;
    this.lookupAt = now;
    this.lookup = this.client
      .call("auth.test", {}, { quiet: true })
      .then((r) => {
        if (typeof r.bot_id === "string") this.ids.botId = r.bot_id;
        if (typeof r.user_id === "string") this.ids.botUserId = r.user_id;
      })
      .catch((e: Error) =>
        this.o.log.warn(
          { err: this.o.redactor.text(String(e.message ?? e)) },
          "slack auth.test failed; will retry",
        ),
      )
      .finally(() => {
        this.lookup = undefined;
      });
  }
}
