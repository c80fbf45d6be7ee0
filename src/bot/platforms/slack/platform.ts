/**
 * Slack front end (`ChatPlatform`) on `@slack/bolt` 5.x.
 *
 * Transport: HTTP mode mounts `POST /slack/events` on our `HttpServer` through a custom Bolt
 * `Receiver` that verifies the signature on the raw body and then hands the payload to
 * `app.processEvent` (so listeners and `ack` are Bolt's own; see http-receiver.ts). Socket Mode
 * (`appToken`) uses our `SlackSocketReceiver` (socket-receiver.ts). Outbound (replies, users) goes
 * through the one chat client in src/chat/slack/.
 *
 * What reaches the handler: the `/gitops` slash command, `@gitops-bot …` mentions (app_mention) and
 * clicks on our buttons (`block_actions` whose value is `{command, value}` JSON). The platform acks
 * first (Slack wants an answer within 3 s) and runs the handler after the ack; replies go through
 * `response_url` (ephemeral, `visibility: "actor"`) or `chat.postMessage` (channel).
 *
 * Offline-safe: Bolt is given an `authorize` function that never calls Slack, so constructing and
 * starting the platform works without network; the bot's own ids are looked up in the background.
 */
import type { App, SlackActionMiddlewareArgs, SlackCommandMiddlewareArgs } from "@slack/bolt";
import { KeyedMessages } from "../../../chat/keyed-messages.js";
import { SlackClient } from "../../../chat/slack/client.js";
import { renderSlack, type SlackRendered } from "../../../chat/slack/render.js";
import { SlackMessages, type SlackReplyTarget, SlackResponder } from "../../../chat/slack/replies.js";
import { SlackUserDirectory } from "../../../chat/slack/users.js";
import type { Message } from "../../../core/message.js";
import type { MessageRefStore } from "../../../core/message-refs.js";
import { type Clock, type Logger, systemClock } from "../../../core/ports.js";
import { Redactor } from "../../../core/redact.js";
import type { Counter } from "../../../http/metrics.js";
import type { HttpServer } from "../../../http/server.js";
import { WorkQueue } from "../../../http/work-queue.js";
import type { ChatPlatform, Invocation, InvocationHandler, MessageRef, Responder } from "../../platform.js";
import { createSlackApp } from "./app.js";
import type { SlackHttpReceiver } from "./http-receiver.js";
import { SlackIdentity } from "./identity.js";
import {
  buttonClickId,
  buttonClickPrefix,
  eventId,
  normaliseCommandText,
  parseButtonValue,
  slashCommandId,
} from "./parse.js";
import type { SlackSocketReceiver } from "./socket-receiver.js";

export { parseSlackBody } from "./http-receiver.js";

/** Settings of the Slack front end (the `slack` config section). */
export interface SlackPlatformOptions {
  /** Required in HTTP mode. */
  signingSecret?: string;
  botToken: string;
  /** App-level token; turns Socket Mode on unless `socketMode: false`. */
  appToken?: string;
  socketMode?: boolean;
  /** Web API base URL (default Slack's); tests point it at a local fake. */
  apiUrl?: string;
  /** Slash command (default `/gitops`). */
  command?: string;
  botId?: string;
  botUserId?: string;
  /** Path mounted on the HTTP server (default `/slack/events`). */
  path?: string;
}

/** Everything the platform talks to, injected. */
export interface SlackPlatformDeps {
  logger: Logger;
  /** The shared HTTP server; required in HTTP mode. */
  http?: HttpServer;
  /** Message renderer (default `renderSlack`). */
  render?: (msg: Message) => SlackRendered;
  clock?: Clock;
  /** Known secrets for log redaction (the tokens and signing secret are added automatically). */
  redactor?: Redactor;
  /** Double clicks of one button within this window count as one invocation (default 10 s). */
  doubleClickWindowMs?: number;
  /** Bound on user lookups (users.info, usergroups) before a command runs anyway (default 2 s). */
  lookupTimeoutMs?: number;
  /** Commands running at once after their ack; the rest wait in order (default 8). */
  concurrency?: number;
  /** How long `stop()` waits for running and queued commands (default 10 s). */
  stopGraceMs?: number;
  /** Shares keyed messages (approval requests) with other replicas and across restarts. */
  ledger?: MessageRefStore;
}

type SlashArgs = SlackCommandMiddlewareArgs;
type ActionArgs = SlackActionMiddlewareArgs;

/**
 * The Slack `ChatPlatform`. Construct with `SlackPlatform.fromConfig(cfg.slack, { logger, http })`,
 * register the engine with `onInvocation`, then `start()` (mounts the route or connects the socket).
 */
export class SlackPlatform implements ChatPlatform {
  readonly name = "slack" as const;
  /** The Bolt app (exposed for tests and for other listeners, e.g. shortcuts). */
  readonly app: App;
  private readonly log: Logger;
  private readonly redactor: Redactor;
  /** Outbound messages (the one Slack client) and the user directory. */
  private readonly out: SlackMessages;
  private readonly users: SlackUserDirectory;
  private readonly clock: Clock;
  private readonly socketMode: boolean;
  private readonly receiver: SlackHttpReceiver | undefined;
  private readonly socketReceiver: SlackSocketReceiver | undefined;
  private readonly commandName: string;
  private readonly path: string;
  private handler: InvocationHandler | undefined;
  private readonly work: WorkQueue;
  private readonly identity: SlackIdentity;
  private started = false;
  private mounted = false;
  private readonly clicks = new Map<string, { at: number; id: string }>();
  private readonly doubleClickWindowMs: number;
  private readonly invocations: Counter | undefined;

  constructor(
    opts: SlackPlatformOptions,
    private readonly deps: SlackPlatformDeps,
  ) {
    this.redactor = (deps.redactor ?? new Redactor()).with([
      opts.botToken,
      opts.appToken,
      opts.signingSecret,
    ]);
    this.log = deps.logger.child({ component: "slack" });
    // A reply that cannot be delivered within a minute is stale: a few retries of rate limits and
    // network errors, like the Bolt WebClient settings this replaced.
    const client = new SlackClient({
      token: opts.botToken,
      apiUrl: opts.apiUrl,
      logger: this.log,
      redactor: this.redactor,
      retries: 3,
      retryServerErrors: true,
      timeoutMs: 15_000,
    });
    this.out = new SlackMessages(
      client,
      deps.render ?? renderSlack,
      new KeyedMessages("chat:slack", deps.ledger, this.log),
    );
    this.users = new SlackUserDirectory(client, {
      log: this.log,
      redactor: this.redactor,
      lookupTimeoutMs: deps.lookupTimeoutMs ?? 2_000,
    });
    this.clock = deps.clock ?? systemClock;
    this.socketMode = opts.socketMode ?? opts.appToken !== undefined;
    this.commandName = opts.command ?? "/gitops";
    this.path = opts.path ?? "/slack/events";
    this.doubleClickWindowMs = deps.doubleClickWindowMs ?? 10_000;
    this.work = new WorkQueue({
      concurrency: deps.concurrency ?? 8,
      logger: this.log,
      name: "slack",
      ...(deps.http
        ? {
            depth: deps.http.metrics.gauge(
              "gitops_work_queue_depth",
              "Commands waiting or running after their ack.",
              ["queue"],
            ),
          }
        : {}),
    });
    this.identity = new SlackIdentity(client, {
      botToken: opts.botToken,
      botId: opts.botId,
      botUserId: opts.botUserId,
      log: this.log,
      redactor: this.redactor,
    });

    const built = createSlackApp({
      ...opts,
      socketMode: this.socketMode,
      log: this.log,
      clock: this.clock,
      ...(deps.http ? { http: deps.http } : {}),
      authorize: () => this.identity.authorize(),
    });
    this.app = built.app;
    this.receiver = built.receiver;
    this.socketReceiver = built.socketReceiver;
    this.invocations = built.invocations;
    this.app.error(async (error) => {
      this.log.error({ err: this.redactor.value(error) }, "slack listener failed");
    });
    this.registerListeners();
  }

  /** Builds the platform from the `slack` config section. */
  static fromConfig(
    cfg: {
      signingSecret?: string | undefined;
      botToken: string;
      appToken?: string | undefined;
      socketMode?: boolean | undefined;
      apiUrl?: string | undefined;
      command?: string | undefined;
      botId?: string | undefined;
      botUserId?: string | undefined;
    },
    deps: SlackPlatformDeps,
  ): SlackPlatform {
    const opts: SlackPlatformOptions = { botToken: cfg.botToken };
    if (cfg.signingSecret !== undefined) opts.signingSecret = cfg.signingSecret;
    if (cfg.appToken !== undefined) opts.appToken = cfg.appToken;
    if (cfg.socketMode !== undefined) opts.socketMode = cfg.socketMode;
    if (cfg.apiUrl !== undefined) opts.apiUrl = cfg.apiUrl;
    if (cfg.command !== undefined) opts.command = cfg.command;
    if (cfg.botId !== undefined) opts.botId = cfg.botId;
    if (cfg.botUserId !== undefined) opts.botUserId = cfg.botUserId;
    return new SlackPlatform(opts, deps);
  }

  /** Posts `msg` to a channel (or a thread), returning where it landed. */
  send(channel: string, msg: Message, opts: { threadId?: string } = {}): Promise<MessageRef> {
    return this.out.send(channel, msg, opts);
  }

  /** Replaces the message at `ref` with `msg` (`chat.update`). */
  update(ref: MessageRef, msg: Message): Promise<void> {
    return this.out.update(ref, msg);
  }

  /** Posts an ephemeral message (only `user` sees it). */
  sendEphemeral(
    channel: string,
    user: string,
    msg: Message,
    opts: { threadId?: string } = {},
  ): Promise<void> {
    return this.out.sendEphemeral(channel, user, msg, opts);
  }

  onInvocation(handler: InvocationHandler): void {
    this.handler = handler;
  }

  /** HTTP mode: mounts the route (idempotent). Socket Mode: connects. Never needs Slack in HTTP mode. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.receiver && this.deps.http && !this.mounted) {
      this.mounted = true;
      const receiver = this.receiver;
      this.deps.http.route("POST", this.path, (ctx) => receiver.handle(ctx));
      this.deps.http.readiness("slack", () => this.started);
    }
    this.receiver?.setAccepting(true);
    this.identity.refresh();
    if (this.socketMode) await this.app.start();
    this.log.info(
      { mode: this.socketMode ? "socket" : "http", command: this.commandName },
      "slack platform started",
    );
  }

  /** Stops taking requests (HTTP: 503 from now on), disconnects Socket Mode, waits for running handlers. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.receiver?.setAccepting(false);
    if (this.socketMode) await this.app.stop();
    const left = await this.work.drain(this.deps.stopGraceMs ?? 10_000);
    if (left > 0) this.log.warn({ left }, "slack stopped with commands still queued");
  }

  /** Resolves when every command queued so far has finished (tests, graceful stop). */
  idle(): Promise<void> {
    return this.work.idle();
  }

  // ---- inbound ----

  private registerListeners(): void {
    this.app.command(this.commandName, async (args) => this.onSlashCommand(args));
    this.app.event("app_mention", async ({ event, body }) =>
      this.onMention(event, body as { event_id?: string }),
    );
    this.app.action({ type: "block_actions" }, async (args) => this.onAction(args));
  }

  private async onSlashCommand({ command, ack }: SlashArgs): Promise<void> {
    // Slack always sends both; without them the command would run as `slack:undefined` and could
    // not be deduplicated. Refused in the ack, before anything runs.
    if (!command.user_id || !command.trigger_id) {
      this.log.warn({ channel: command.channel_id }, "slack command without user_id or trigger_id; rejected");
      await ack({
        response_type: "ephemeral",
        text: "gitops: malformed command request (no user or trigger id)",
      });
      return;
    }
    // Ack first, with no body: Slack then shows nothing, and the reply comes from the handler.
    await ack();
    const receivedAt = this.clock.now();
    this.spawn("command", async () => {
      const user = await this.users.resolve(command.user_id, command.user_name);
      const inv: Invocation = {
        id: slashCommandId(command.trigger_id),
        platform: "slack",
        text: normaliseCommandText(command.text ?? "", this.identity.botUserId),
        user,
        channel: command.channel_id,
        receivedAt,
      };
      return {
        inv,
        responder: new SlackResponder(this.out, {
          channel: command.channel_id,
          userId: command.user_id,
          responseUrl: command.response_url,
        }),
      };
    });
  }

  private async onMention(
    event: { user?: string; text: string; channel: string; ts: string; thread_ts?: string; bot_id?: string },
    body: { event_id?: string },
  ): Promise<void> {
    // Bots (including ourselves, echoed) never drive releases.
    if (event.bot_id || !event.user) return;
    const userId = event.user;
    const receivedAt = this.clock.now();
    this.spawn("mention", async () => {
      const user = await this.users.resolve(userId);
      const inv: Invocation = {
        // event_id is stable across Slack's retries (X-Slack-Retry-Num), so the engine runs it once.
        id: eventId(body.event_id ?? `${event.channel}:${event.ts}`),
        platform: "slack",
        text: normaliseCommandText(event.text, this.identity.botUserId),
        user,
        channel: event.channel,
        receivedAt,
      };
      // Answer in the thread of the mention, so channels stay readable.
      return {
        inv,
        responder: new SlackResponder(this.out, {
          channel: event.channel,
          userId,
          threadTs: event.thread_ts ?? event.ts,
        }),
      };
    });
  }

  private async onAction({ ack, body, action: rawAction }: ActionArgs): Promise<void> {
    await ack();
    const action = rawAction as { type: string; action_id: string; action_ts: string; value?: string };
    if (action.type !== "button") return;
    const parsed = parseButtonValue(action.value);
    if (!parsed) {
      this.log.debug({ actionId: action.action_id }, "ignoring a button that is not ours");
      return;
    }
    const b = body as {
      user: { id: string; username?: string; name?: string };
      response_url?: string;
      channel?: { id: string };
      message?: { ts: string; thread_ts?: string };
      container?: { message_ts?: string; channel_id?: string; is_ephemeral?: boolean; thread_ts?: string };
    };
    const channel = b.channel?.id ?? b.container?.channel_id;
    const messageTs = b.message?.ts ?? b.container?.message_ts;
    if (!channel || !messageTs) {
      this.log.warn({ actionId: action.action_id }, "button click without channel or message; ignored");
      return;
    }
    const threadTs = b.message?.thread_ts ?? b.container?.thread_ts;
    const receivedAt = this.clock.now();
    const id = this.clickId({
      messageTs,
      userId: b.user.id,
      actionId: action.action_id,
      actionTs: action.action_ts,
      value: action.value ?? "",
    });
    this.spawn("button", async () => {
      const user = await this.users.resolve(b.user.id, b.user.username ?? b.user.name);
      const messageRef: MessageRef = { platform: "slack", channel, id: messageTs };
      if (threadTs && threadTs !== messageTs) messageRef.threadId = threadTs;
      const button: NonNullable<Invocation["button"]> = { messageRef };
      if (parsed.value !== undefined) button.value = parsed.value;
      const inv: Invocation = {
        id,
        platform: "slack",
        text: normaliseCommandText(parsed.command),
        user,
        channel,
        button,
        receivedAt,
      };
      const target: SlackReplyTarget = { channel, userId: b.user.id, responseUrl: b.response_url };
      if (threadTs) target.threadTs = threadTs;
      return { inv, responder: new SlackResponder(this.out, target) };
    });
  }

  /**
   * The id of a click; a second click of the same button by the same user within the window reuses
   * it. "The same button" includes its value: action ids are positions, and an edited message (an
   * approval request after a decision) puts a different button in the same place.
   */
  private clickId(args: {
    messageTs: string;
    userId: string;
    actionId: string;
    actionTs: string;
    value: string;
  }): string {
    const now = this.clock.now().getTime();
    const prefix = `${buttonClickPrefix(args)}\u0000${args.value}`;
    for (const [k, v] of this.clicks) {
      if (now - v.at <= this.doubleClickWindowMs) break;
      this.clicks.delete(k);
    }
    const seen = this.clicks.get(prefix);
    if (seen && now - seen.at <= this.doubleClickWindowMs) return seen.id;
    const id = buttonClickId(args);
    this.clicks.delete(prefix);
    this.clicks.set(prefix, { at: now, id });
    return id;
  }

  /** Queues the handler to run after the ack (bounded concurrency, see `WorkQueue`). Never throws. */
  private spawn(kind: string, build: () => Promise<{ inv: Invocation; responder: Responder }>): void {
    const handler = this.handler;
    if (!handler) {
      this.log.warn({ kind }, "slack invocation received before a handler was registered; dropped");
      return;
    }
    this.invocations?.inc({ kind });
    this.work.push(async () => {
      try {
        const { inv, responder } = await build();
        this.log.info({ id: inv.id, user: inv.user.id, channel: inv.channel, kind }, "slack invocation");
        await handler(inv, responder);
      } catch (e) {
        this.log.error({ err: this.redactor.value(e), kind }, "slack invocation handler failed");
      }
    });
  }
}
