/**
 * Outbound Slack messages of the chat front end: posting, editing and ephemeral messages rendered
 * with `renderSlack`, over the one `SlackClient`, and the `SlackResponder` that answers one
 * invocation with the keyed/threaded semantics of `KeyedReplies`.
 */
import { TransientError } from "../../core/errors.js";
import type { Message } from "../../core/message.js";
import type { MessageRef } from "../../core/message-refs.js";
import { type KeyedMessages, KeyedReplies } from "../keyed-messages.js";
import { type SlackClient, slackFailureInfo } from "./client.js";
import type { SlackRendered } from "./render.js";

/** Slack API errors that mean "the bot cannot post there", where `response_url` is the fallback. */
const NOT_IN_CHANNEL = new Set(["not_in_channel", "channel_not_found", "is_archived"]);

/** Posts, edits and ephemeral messages in Slack channels, rendered; remembers keyed messages. */
export class SlackMessages {
  constructor(
    readonly client: SlackClient,
    private readonly render: (msg: Message) => SlackRendered,
    /** Channel messages posted with an `updateKey`, so a later invocation (an approval) can edit them. */
    readonly keyed: KeyedMessages<MessageRef>,
  ) {}

  /** The rendered fields of a message (text, blocks, attachments). */
  payload(msg: Message): Record<string, unknown> {
    const r = this.render(msg);
    return {
      text: r.text,
      ...(r.blocks.length ? { blocks: r.blocks } : {}),
      ...(r.attachments ? { attachments: r.attachments } : {}),
    };
  }

  /** Posts `msg` to a channel (or a thread), returning where it landed. */
  async send(channel: string, msg: Message, opts: { threadId?: string } = {}): Promise<MessageRef> {
    const res = await this.client.postMessage({
      channel,
      ...this.payload(msg),
      ...(opts.threadId ? { thread_ts: opts.threadId } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    const ref: MessageRef = { platform: "slack", channel: res.channel, id: String(res.ts) };
    if (opts.threadId) ref.threadId = opts.threadId;
    return ref;
  }

  /** Replaces the message at `ref` with `msg` (`chat.update`). */
  async update(ref: MessageRef, msg: Message): Promise<void> {
    const r = this.render(msg);
    await this.client.update({
      channel: ref.channel,
      ts: ref.id,
      text: r.text,
      // An empty list clears blocks left from the previous version of the message.
      blocks: r.blocks,
      attachments: r.attachments ?? [],
    });
  }

  /** Posts an ephemeral message (only `user` sees it). */
  async sendEphemeral(
    channel: string,
    user: string,
    msg: Message,
    opts: { threadId?: string } = {},
  ): Promise<void> {
    await this.client.postEphemeral({
      channel,
      user,
      ...this.payload(msg),
      ...(opts.threadId ? { thread_ts: opts.threadId } : {}),
    });
  }
}

/** Where one invocation is answered. */
export interface SlackReplyTarget {
  channel: string;
  userId: string;
  /** Replies go into this thread (mentions in a thread, buttons in a thread). */
  threadTs?: string;
  /** The invocation's `response_url` (slash commands and buttons). */
  responseUrl?: string | undefined;
}

/**
 * Answers one invocation. `visibility: "actor"` goes through `response_url` as ephemeral (or
 * `chat.postEphemeral`); `channel` goes through `chat.postMessage`, falling back to an in-channel
 * `response_url` post where the bot is not a member or the Web API keeps failing (5xx, retried
 * first). `updateKey` / `threadKey`: see `KeyedReplies`.
 */
export class SlackResponder {
  private readonly keys: KeyedReplies<MessageRef>;

  constructor(
    private readonly out: SlackMessages,
    private readonly target: SlackReplyTarget,
  ) {
    this.keys = new KeyedReplies(out.keyed, {
      update: (ref, msg) => out.update(ref, msg),
      isHere: (ref) => ref.channel === target.channel,
    });
  }

  /** Delivers one reply; resolves with where it landed (undefined for ephemeral replies). */
  async reply(msg: Message): Promise<MessageRef | undefined> {
    const { responseUrl } = this.target;
    const edited = await this.keys.edit(msg);
    if (edited === "ephemeral" && responseUrl) {
      await this.respond(responseUrl, { replace_original: true, ...this.out.payload(msg) });
      return undefined;
    }
    if (edited && edited !== "ephemeral") return edited;
    let thread = this.target.threadTs;
    const root = await this.keys.threadRoot(msg);
    if (root) thread = root.threadId ?? root.id;

    if (msg.visibility === "actor") {
      if (responseUrl && !thread)
        await this.respond(responseUrl, {
          response_type: "ephemeral",
          replace_original: false,
          ...this.out.payload(msg),
        });
      else
        await this.out.sendEphemeral(
          this.target.channel,
          this.target.userId,
          msg,
          thread ? { threadId: thread } : {},
        );
      await this.keys.posted(msg, "ephemeral");
      return undefined;
    }
    try {
      const ref = await this.out.send(this.target.channel, msg, thread ? { threadId: thread } : {});
      await this.keys.posted(msg, ref);
      return ref;
    } catch (e) {
      const { slackError } = slackFailureInfo(e);
      // DMs and private channels the bot is not in: response_url still reaches the user. So it does
      // when the Web API keeps failing (5xx) after the command committed: the user must learn it did.
      const fallback =
        (slackError !== undefined && NOT_IN_CHANNEL.has(slackError)) || e instanceof TransientError;
      if (responseUrl && fallback) {
        await this.respond(responseUrl, {
          response_type: "in_channel",
          replace_original: false,
          ...this.out.payload(msg),
        });
        return undefined;
      }
      throw e;
    }
  }

  private respond(url: string, payload: Record<string, unknown>): Promise<void> {
    return this.out.client.respond(url, payload);
  }
}
