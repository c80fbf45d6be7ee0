/**
 * Outbound Teams messages of the chat front end: cards rendered with `renderTeams`, posted and
 * updated over the one `TeamsClient`, and the `TeamsResponder` that answers one invocation with
 * the keyed/threaded semantics of `KeyedReplies` (the same as Slack's).
 */
import type { Message } from "../../core/message.js";
import type { MessageRef } from "../../core/message-refs.js";
import { type KeyedMessages, KeyedReplies } from "../keyed-messages.js";
import type { TeamsClient } from "./client.js";
import { baseConversationId, threadConversationId, threadOf } from "./conversations.js";
import type { AdaptiveCard } from "./render.js";

/** A keyed Teams message: where it is and the conversation id (with thread) to edit it through. */
export interface TeamsKeyed {
  ref: MessageRef;
  conversationId: string;
}

/**
 * Whether a conversation has reply threads: channel conversations (`…@thread.tacv2`,
 * `…@thread.skype`) do; personal and group chats are flat, so a thread id there is dropped.
 */
export function hasThreads(conversationId: string): boolean {
  return /@thread\.(tacv2|skype)$/.test(baseConversationId(conversationId));
}

/** Posts and updates rendered cards in Teams conversations; remembers keyed messages. */
export class TeamsMessages {
  constructor(
    readonly client: TeamsClient,
    readonly render: (msg: Message) => AdaptiveCard,
    /** Messages posted with an `updateKey`, so a later invocation (an approval) can edit them. */
    readonly keyed: KeyedMessages<TeamsKeyed>,
  ) {}

  /** Posts `msg` to a conversation (a channel id starts a thread; `threadId` replies in that thread). */
  async send(channel: string, msg: Message, opts: { threadId?: string } = {}): Promise<MessageRef> {
    const conversationId = opts.threadId ? threadConversationId(channel, opts.threadId) : channel;
    const id = await this.client.sendToConversation(conversationId, this.render(msg), {
      text: msg.fallbackText,
    });
    const ref: MessageRef = { platform: "teams", channel: baseConversationId(channel), id };
    if (opts.threadId) ref.threadId = opts.threadId;
    return ref;
  }

  /** Replaces the card of an earlier message. */
  async update(ref: MessageRef, msg: Message): Promise<void> {
    const conversationId = ref.threadId ? threadConversationId(ref.channel, ref.threadId) : ref.channel;
    await this.client.updateInConversation(conversationId, ref.id, this.render(msg));
  }
}

/**
 * Answers one invocation in its conversation (in the thread, for channel messages). Teams has no
 * ephemeral messages in channels, so `visibility: "actor"` replies are posted in the same place.
 * `updateKey` / `threadKey`: see `KeyedReplies`; a `threadKey` reply goes into the thread of the
 * keyed message where the conversation has threads.
 */
export class TeamsResponder {
  private readonly keys: KeyedReplies<TeamsKeyed>;

  constructor(
    private readonly out: TeamsMessages,
    /** The full conversation id of the invocation (with `;messageid=` in a channel thread). */
    private readonly conversationId: string,
  ) {
    this.keys = new KeyedReplies(out.keyed, {
      update: (k, msg) => out.client.updateInConversation(k.conversationId, k.ref.id, out.render(msg)),
      isHere: (k) => baseConversationId(k.conversationId) === baseConversationId(conversationId),
    });
  }

  /** Delivers one reply; resolves with where it landed. */
  async reply(msg: Message): Promise<MessageRef | undefined> {
    const edited = await this.keys.edit(msg);
    if (edited && edited !== "ephemeral") return edited.ref;
    let conversationId = this.conversationId;
    const root = await this.keys.threadRoot(msg);
    if (root && hasThreads(root.conversationId)) {
      conversationId = threadConversationId(root.conversationId, root.ref.threadId ?? root.ref.id);
    }
    const id = await this.out.client.sendToConversation(conversationId, this.out.render(msg), {
      text: msg.fallbackText,
    });
    const ref: MessageRef = { platform: "teams", channel: baseConversationId(conversationId), id };
    const thread = threadOf(conversationId);
    if (thread) ref.threadId = thread;
    await this.keys.posted(msg, { ref, conversationId });
    return ref;
  }
}
