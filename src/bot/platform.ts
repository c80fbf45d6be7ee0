/**
 * The chat platform port (DESIGN.md `ChatPlatform`). Slack, Teams, the shell and the CLI each
 * implement it; the command engine (`src/bot/engine.ts`) sees only `Invocation`s and answers with
 * `Message`s through a `Responder`. The platform owns ack deadlines (Slack 3 s, Teams 15 s):
 * it acks first, then calls the handler.
 */
import type { Message } from "../core/message.js";
import type { MessageRef, PlatformName } from "../core/message-refs.js";

export type { MessageRef, PlatformName } from "../core/message-refs.js";

/** The user who invoked a command, as the platform identifies them. */
export interface ChatUser {
  /** Platform-qualified id: `slack:U123`, `teams:<aadObjectId>`, `shell:<os user>`, `cli:<name>`. */
  id: string;
  name: string;
  email?: string;
  /** Platform groups the user is in, as far as the platform tells (Slack usergroup ids, …). */
  groups?: string[];
}

/** One request to run a command: typed text or a clicked button. */
export interface Invocation {
  /** Idempotency key: the same request delivered twice carries the same id (Slack trigger/retry,
   * Teams activity id, button action id + message ts). */
  id: string;
  platform: PlatformName;
  /** Command text without the `/gitops` or `@gitops-bot` prefix, e.g. `promote podinfo stg prod`. */
  text: string;
  user: ChatUser;
  /** Channel / conversation id where it was typed; replies and approvals go there. */
  channel: string;
  /** Set when the invocation comes from a button; `value` is the `Action.value` of the button. */
  button?: { value?: string; messageRef?: MessageRef };
  receivedAt: Date;
}

/** How a handler answers the invoking user. `reply` honours `Message.visibility`. */
export interface Responder {
  reply(msg: Message): Promise<MessageRef | undefined>;
}

export type InvocationHandler = (inv: Invocation, responder: Responder) => Promise<void>;

export interface ChatPlatform {
  readonly name: PlatformName;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Registers the one handler all invocations go to. */
  onInvocation(handler: InvocationHandler): void;
  /** Posts a message to a channel (notifications, approvals). `threadId` posts in a thread. */
  send(channel: string, msg: Message, opts?: { threadId?: string }): Promise<MessageRef>;
  /** Replaces an earlier message. */
  update(ref: MessageRef, msg: Message): Promise<void>;
}
