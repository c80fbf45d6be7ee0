/**
 * Slack front end (`ChatPlatform`) on `@slack/bolt` 5.x.
 *
 * Transport: HTTP mode mounts `POST /slack/events` on our `HttpServer` through a custom Bolt
 * `Receiver` that verifies the signature on the raw body and then hands the payload to
 * `app.processEvent` (so listeners, `ack`, `respond` and the WebClient are Bolt's own). Socket Mode
 * (`appToken`) uses Bolt's `SocketModeReceiver`.
 *
 * What reaches the handler: the `/gitops` slash command, `@gitops-bot …` mentions (app_mention) and
 * clicks on our buttons (`block_actions` whose value is `{command, value}` JSON). The platform acks
 * first (Slack wants an answer within 3 s) and runs the handler after the ack; replies go through
 * `response_url` (ephemeral, `visibility: "actor"`) or `chat.postMessage` (channel).
 *
 * Offline-safe: Bolt is given an `authorize` function that never calls Slack, so constructing and
 * starting the platform works without network; the bot's own ids are looked up in the background.
 */
import type { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import {
  App,
  type AuthorizeResult,
  type Logger as BoltLogger,
  HTTPResponseAck,
  type LogLevel,
  type Receiver,
  type ReceiverEvent,
  type RespondArguments,
  type RespondFn,
  type SlackActionMiddlewareArgs,
  type SlackCommandMiddlewareArgs,
} from "@slack/bolt";
import type { SocketModeClient as SocketModeClientType, SocketModeOptions } from "@slack/socket-mode";
import { KeyedMessages } from "../../../chat/keyed-messages.js";
import { renderSlack, type SlackRendered } from "../../../chat/slack/render.js";
import { StalledError, TransientError } from "../../../core/errors.js";
import type { Message } from "../../../core/message.js";
import type { MessageRefStore } from "../../../core/message-refs.js";
import { type Clock, type Logger, systemClock } from "../../../core/ports.js";
import { Redactor } from "../../../core/redact.js";
import type { Counter, Histogram } from "../../../http/metrics.js";
import { type HttpServer, type RouteContext, sendJson, sendText } from "../../../http/server.js";
import { WorkQueue } from "../../../http/work-queue.js";
import type {
  ChatPlatform,
  ChatUser,
  Invocation,
  InvocationHandler,
  MessageRef,
  Responder,
} from "../../platform.js";
import {
  buttonClickId,
  buttonClickPrefix,
  eventId,
  normaliseCommandText,
  parseButtonValue,
  slashCommandId,
  verifySlackSignature,
} from "./parse.js";

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

/** Slack API errors that mean "the bot cannot post there", where `response_url` is the fallback. */
const NOT_IN_CHANNEL = new Set(["not_in_channel", "channel_not_found", "is_archived"]);

type SlashArgs = SlackCommandMiddlewareArgs;
type ActionArgs = SlackActionMiddlewareArgs;

/** A Slack WebClient error, as far as we read it. */
interface SlackApiError {
  code?: string;
  data?: { error?: string };
  retryAfter?: number;
  message?: string;
}

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
  private readonly render: (msg: Message) => SlackRendered;
  private readonly clock: Clock;
  private readonly socketMode: boolean;
  private readonly receiver: SlackHttpReceiver | undefined;
  private readonly socketReceiver: SlackSocketReceiver | undefined;
  private readonly commandName: string;
  private readonly path: string;
  private handler: InvocationHandler | undefined;
  private readonly work: WorkQueue;
  private identity: { botId?: string; botUserId?: string } = {};
  private identityLookup: Promise<void> | undefined;
  private identityLookupAt = 0;
  private started = false;
  private mounted = false;
  private readonly clicks = new Map<string, { at: number; id: string }>();
  private readonly doubleClickWindowMs: number;
  private readonly lookupTimeoutMs: number;
  /** users.info results; `user: undefined` remembers a failure (for 10 minutes, not an hour). */
  private readonly users = new Map<string, { at: number; user: Omit<ChatUser, "groups"> | undefined }>();
  private groupsCache: { at: number; byUser: Map<string, string[]> } | undefined;
  private groupsLookup: Promise<Map<string, string[]>> | undefined;
  private readonly invocations: Counter | undefined;
  /** Channel messages posted with an `updateKey`, so a later invocation (an approval) can edit them. */
  private readonly keyed: KeyedMessages<MessageRef>;

  constructor(
    private readonly opts: SlackPlatformOptions,
    private readonly deps: SlackPlatformDeps,
  ) {
    this.redactor = (deps.redactor ?? new Redactor()).with([
      opts.botToken,
      opts.appToken,
      opts.signingSecret,
    ]);
    this.log = deps.logger.child({ component: "slack" });
    this.keyed = new KeyedMessages("chat:slack", deps.ledger, this.log);
    this.render = deps.render ?? renderSlack;
    this.clock = deps.clock ?? systemClock;
    this.socketMode = opts.socketMode ?? opts.appToken !== undefined;
    this.commandName = opts.command ?? "/gitops";
    this.path = opts.path ?? "/slack/events";
    this.doubleClickWindowMs = deps.doubleClickWindowMs ?? 10_000;
    this.lookupTimeoutMs = deps.lookupTimeoutMs ?? 2_000;
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
    if (opts.botId) this.identity.botId = opts.botId;
    if (opts.botUserId) this.identity.botUserId = opts.botUserId;

    const boltLogger = new BoltLoggerAdapter(this.log.child({ lib: "bolt" }));
    const clientOptions = {
      ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl.endsWith("/") ? opts.apiUrl : `${opts.apiUrl}/` } : {}),
      logger: boltLogger,
      // A reply that cannot be delivered within a minute is stale; Bolt's default retries for 30 min.
      retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 10_000, randomize: true },
      timeout: 15_000,
    };
    if (this.socketMode) {
      if (!opts.appToken) throw new StalledError("slack: Socket Mode needs slack.appToken (xapp-…)");
      // Our own Socket Mode receiver: Bolt's does not pass `slackApiUrl` to the socket client, so
      // `apps.connections.open` would always go to slack.com (no proxy, no local fake).
      this.socketReceiver = new SlackSocketReceiver({
        appToken: opts.appToken,
        boltLogger,
        log: this.log,
        ...(clientOptions.slackApiUrl ? { slackApiUrl: clientOptions.slackApiUrl } : {}),
      });
      this.app = new App({
        receiver: this.socketReceiver,
        authorize: () => this.authorize(),
        logger: boltLogger,
        clientOptions,
      });
    } else {
      if (!opts.signingSecret) throw new StalledError("slack: HTTP mode needs slack.signingSecret");
      if (!deps.http) throw new StalledError("slack: HTTP mode needs the HTTP server");
      const metrics = deps.http.metrics;
      this.invocations = metrics.counter(
        "gitops_slack_invocations_total",
        "Slack invocations dispatched, by kind.",
        ["kind"],
      );
      this.receiver = new SlackHttpReceiver({
        signingSecret: opts.signingSecret,
        clock: this.clock,
        log: this.log,
        boltLogger,
        rejected: metrics.counter("gitops_slack_rejected_total", "Slack requests rejected, by reason.", [
          "reason",
        ]),
        ackSeconds: metrics.histogram(
          "gitops_slack_ack_seconds",
          "Time from a Slack request's arrival to its HTTP answer (Slack's limit is 3 s).",
          [],
          [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 3, 5],
        ),
      });
      this.app = new App({
        receiver: this.receiver,
        authorize: () => this.authorize(),
        logger: boltLogger,
        clientOptions,
      });
    }
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

  /** The Bolt WebClient (the bot token is supplied per call). */
  get client(): App["client"] {
    return this.app.client;
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
    this.lookupIdentity();
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

  /** Posts `msg` to a channel (or a thread), returning where it landed. */
  async send(channel: string, msg: Message, opts: { threadId?: string } = {}): Promise<MessageRef> {
    const r = this.render(msg);
    const res = await this.api("chat.postMessage", () =>
      this.client.chat.postMessage({
        token: this.opts.botToken,
        channel,
        text: r.text,
        ...(r.blocks.length ? { blocks: r.blocks } : {}),
        ...(r.attachments ? { attachments: r.attachments } : {}),
        ...(opts.threadId ? { thread_ts: opts.threadId } : {}),
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
    const ref: MessageRef = { platform: "slack", channel: res.channel ?? channel, id: String(res.ts) };
    if (opts.threadId) ref.threadId = opts.threadId;
    return ref;
  }

  /** Replaces the message at `ref` with `msg` (`chat.update`). */
  async update(ref: MessageRef, msg: Message): Promise<void> {
    const r = this.render(msg);
    await this.api("chat.update", () =>
      this.client.chat.update({
        token: this.opts.botToken,
        channel: ref.channel,
        ts: ref.id,
        text: r.text,
        // An empty list clears blocks left from the previous version of the message.
        blocks: r.blocks,
        attachments: r.attachments ?? [],
      }),
    );
  }

  /** Posts an ephemeral message (only `user` sees it). */
  async sendEphemeral(
    channel: string,
    user: string,
    msg: Message,
    opts: { threadId?: string } = {},
  ): Promise<void> {
    const r = this.render(msg);
    await this.api("chat.postEphemeral", () =>
      this.client.chat.postEphemeral({
        token: this.opts.botToken,
        channel,
        user,
        text: r.text,
        ...(r.blocks.length ? { blocks: r.blocks } : {}),
        ...(r.attachments ? { attachments: r.attachments } : {}),
        ...(opts.threadId ? { thread_ts: opts.threadId } : {}),
      }),
    );
  }

  /** Calls the Slack API, mapping failures to our error kinds and logging them redacted. */
  async api<T>(method: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      const err = e as SlackApiError;
      const slackError = err.data?.error;
      this.log.error(
        { method, code: err.code, slackError, err: this.redactor.text(String(err.message ?? e)) },
        "slack api call failed",
      );
      if (err.code === "slack_webapi_rate_limited_error") {
        throw new TransientError(`slack ${method}: rate limited`, {
          cause: e,
          ...(err.retryAfter !== undefined ? { retryAfterMs: err.retryAfter * 1000 } : {}),
        });
      }
      if (err.code === "slack_webapi_platform_error" && slackError) {
        const ex = new StalledError(`slack ${method}: ${slackError}`, { cause: e });
        Object.assign(ex, { slackError });
        throw ex;
      }
      throw new TransientError(`slack ${method} failed: ${this.redactor.text(String(err.message ?? e))}`, {
        cause: e,
      });
    }
  }

  // ---- inbound ----

  private registerListeners(): void {
    this.app.command(this.commandName, async (args) => this.onSlashCommand(args));
    this.app.event("app_mention", async ({ event, body }) =>
      this.onMention(event, body as { event_id?: string }),
    );
    this.app.action({ type: "block_actions" }, async (args) => this.onAction(args));
  }

  private async onSlashCommand({ command, ack, respond }: SlashArgs): Promise<void> {
    // Ack first, with no body: Slack then shows nothing, and the reply comes from the handler.
    await ack();
    const receivedAt = this.clock.now();
    this.spawn("command", async () => {
      const user = await this.resolveUser(command.user_id, command.user_name);
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
        responder: new SlackResponder(this, {
          channel: command.channel_id,
          userId: command.user_id,
          respond,
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
      const user = await this.resolveUser(userId);
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
        responder: new SlackResponder(this, {
          channel: event.channel,
          userId,
          threadTs: event.thread_ts ?? event.ts,
        }),
      };
    });
  }

  private async onAction({ ack, body, action: rawAction, respond }: ActionArgs): Promise<void> {
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
    });
    this.spawn("button", async () => {
      const user = await this.resolveUser(b.user.id, b.user.username ?? b.user.name);
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
      const target: ReplyTarget = { channel, userId: b.user.id, respond };
      if (threadTs) target.threadTs = threadTs;
      return { inv, responder: new SlackResponder(this, target) };
    });
  }

  /** The id of a click; a second click of the same button by the same user within the window reuses it. */
  private clickId(args: { messageTs: string; userId: string; actionId: string; actionTs: string }): string {
    const now = this.clock.now().getTime();
    const prefix = buttonClickPrefix(args);
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

  /** Bolt's authorize: answers from memory only, so an unreachable Slack never delays an ack. */
  private async authorize(): Promise<AuthorizeResult> {
    if (!this.identity.botUserId) this.lookupIdentity();
    const r: AuthorizeResult = { botToken: this.opts.botToken };
    if (this.identity.botId) r.botId = this.identity.botId;
    if (this.identity.botUserId) r.botUserId = this.identity.botUserId;
    return r;
  }

  /** Looks up the bot's ids with `auth.test` in the background (at most once a minute). */
  private lookupIdentity(): void {
    if (this.identity.botId && this.identity.botUserId) return;
    const now = Date.now();
    if (this.identityLookup || now - this.identityLookupAt < 60_000) return;
    this.identityLookupAt = now;
    this.identityLookup = this.client.auth
      .test({ token: this.opts.botToken })
      .then((r) => {
        if (r.bot_id) this.identity.botId = r.bot_id;
        if (r.user_id) this.identity.botUserId = r.user_id;
      })
      .catch((e: SlackApiError) =>
        this.log.warn(
          { err: this.redactor.text(String(e.message ?? e)) },
          "slack auth.test failed; will retry",
        ),
      )
      .finally(() => {
        this.identityLookup = undefined;
      });
  }

  /** The user's name and e-mail (users.info) and usergroups, cached, bounded by `lookupTimeoutMs`. */
  private async resolveUser(userId: string, nameHint?: string): Promise<ChatUser> {
    const fallback: ChatUser = { id: `slack:${userId}`, name: nameHint ?? userId };
    const [info, groups] = await Promise.all([
      this.withTimeout(this.userInfo(userId), undefined),
      this.withTimeout(this.userGroups(), undefined),
    ]);
    const user: ChatUser = { ...(info ?? fallback) };
    const g = groups?.get(userId);
    if (g?.length) user.groups = g;
    return user;
  }

  private async userInfo(userId: string): Promise<Omit<ChatUser, "groups"> | undefined> {
    const now = Date.now();
    const hit = this.users.get(userId);
    if (hit && now - hit.at < (hit.user ? 3_600_000 : 600_000)) return hit.user;
    // Bounded: a workspace has many users, but a bot sees few; forget the oldest beyond 5000.
    if (this.users.size >= 5000) this.users.delete(this.users.keys().next().value as string);
    try {
      const r = await this.client.users.info({ token: this.opts.botToken, user: userId });
      const u = r.user;
      if (!u) {
        this.users.set(userId, { at: now, user: undefined });
        return undefined;
      }
      const user: Omit<ChatUser, "groups"> = {
        id: `slack:${userId}`,
        name: u.profile?.display_name || u.real_name || u.name || userId,
      };
      if (u.profile?.email) user.email = u.profile.email;
      this.users.set(userId, { at: now, user });
      return user;
    } catch (e) {
      this.log.debug({ err: this.redactor.text(String((e as Error).message)) }, "slack users.info failed");
      this.users.set(userId, { at: now, user: undefined });
      return undefined;
    }
  }

  private async userGroups(): Promise<Map<string, string[]> | undefined> {
    const now = Date.now();
    if (this.groupsCache && now - this.groupsCache.at < 300_000) return this.groupsCache.byUser;
    this.groupsLookup ??= this.client.usergroups
      .list({ token: this.opts.botToken, include_users: true })
      .then((r) => {
        const byUser = new Map<string, string[]>();
        for (const g of r.usergroups ?? []) {
          if (!g.id) continue;
          for (const u of g.users ?? []) byUser.set(u, [...(byUser.get(u) ?? []), g.id]);
        }
        this.groupsCache = { at: Date.now(), byUser };
        return byUser;
      })
      .catch((e: Error) => {
        this.log.debug({ err: this.redactor.text(String(e.message)) }, "slack usergroups.list failed");
        // Remember the failure for a minute so a missing scope does not cost a call per command.
        this.groupsCache = { at: Date.now() - 240_000, byUser: new Map() };
        return this.groupsCache.byUser;
      })
      .finally(() => {
        this.groupsLookup = undefined;
      });
    return this.groupsLookup;
  }

  private withTimeout<T, F>(p: Promise<T>, fallback: F): Promise<T | F> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<F>((resolve) => {
        timer = setTimeout(() => resolve(fallback), this.lookupTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** @internal used by `SlackResponder`. */
  renderFor(msg: Message): SlackRendered {
    return this.render(msg);
  }

  /** @internal The message an earlier invocation (on any replica, with a ledger) posted with `key`. */
  refForKey(key: string): Promise<MessageRef | undefined> {
    return this.keyed.get(key);
  }

  /** @internal Remembers the first message posted with `key`. */
  rememberKey(key: string, ref: MessageRef): Promise<void> {
    return this.keyed.remember(key, ref);
  }
}

interface ReplyTarget {
  channel: string;
  userId: string;
  /** Replies go into this thread (mentions in a thread, buttons in a thread). */
  threadTs?: string;
  /** Bolt's `respond` (response_url), present for slash commands and buttons. */
  respond?: RespondFn | undefined;
}

/**
 * Answers one invocation. `visibility: "actor"` goes through `response_url` as ephemeral (or
 * `chat.postEphemeral`); `channel` goes through `chat.postMessage`, falling back to an in-channel
 * `response_url` post where the bot is not a member. A reply with an `updateKey` seen before edits
 * that message: within this invocation, or a channel message an earlier invocation posted (an
 * approval request edited by the approval); when that message is in another channel, the reply is
 * also posted here. `threadKey` threads under the keyed message.
 */
class SlackResponder implements Responder {
  private readonly byKey = new Map<string, MessageRef | "ephemeral">();

  constructor(
    private readonly platform: SlackPlatform,
    private readonly target: ReplyTarget,
  ) {}

  async reply(msg: Message): Promise<MessageRef | undefined> {
    const { respond } = this.target;
    const earlier = msg.updateKey ? this.byKey.get(msg.updateKey) : undefined;
    if (earlier === "ephemeral" && respond) {
      await this.respond({ replace_original: true, ...this.payload(msg) } as RespondArguments);
      return undefined;
    }
    if (earlier && earlier !== "ephemeral") {
      await this.platform.update(earlier, msg);
      return earlier;
    }
    const elsewhere = msg.updateKey ? await this.platform.refForKey(msg.updateKey) : undefined;
    if (elsewhere) {
      await this.platform.update(elsewhere, msg);
      if (elsewhere.channel === this.target.channel) {
        if (msg.updateKey) this.byKey.set(msg.updateKey, elsewhere);
        return elsewhere;
      }
    }
    let thread = this.target.threadTs;
    const root = msg.threadKey
      ? (this.byKey.get(msg.threadKey) ?? (await this.platform.refForKey(msg.threadKey)))
      : undefined;
    if (root && root !== "ephemeral") thread = root.threadId ?? root.id;

    if (msg.visibility === "actor") {
      if (respond && !thread)
        await this.respond({
          response_type: "ephemeral",
          replace_original: false,
          ...this.payload(msg),
        } as RespondArguments);
      else
        await this.platform.sendEphemeral(
          this.target.channel,
          this.target.userId,
          msg,
          thread ? { threadId: thread } : {},
        );
      if (msg.updateKey) this.byKey.set(msg.updateKey, "ephemeral");
      return undefined;
    }
    try {
      const ref = await this.platform.send(this.target.channel, msg, thread ? { threadId: thread } : {});
      if (msg.updateKey) {
        this.byKey.set(msg.updateKey, ref);
        await this.platform.rememberKey(msg.updateKey, ref);
      }
      if (msg.threadKey === undefined && msg.updateKey === undefined) this.byKey.set(`ts:${ref.id}`, ref);
      return ref;
    } catch (e) {
      const slackError = (e as { slackError?: string }).slackError;
      if (respond && slackError && NOT_IN_CHANNEL.has(slackError)) {
        // DMs and private channels the bot is not in: response_url still reaches the user.
        await this.respond({
          response_type: "in_channel",
          replace_original: false,
          ...this.payload(msg),
        } as RespondArguments);
        return undefined;
      }
      throw e;
    }
  }

  private payload(msg: Message): Record<string, unknown> {
    const r = this.platform.renderFor(msg);
    return {
      text: r.text,
      ...(r.blocks.length ? { blocks: r.blocks } : {}),
      ...(r.attachments ? { attachments: r.attachments } : {}),
    };
  }

  private async respond(args: RespondArguments): Promise<void> {
    const respond = this.target.respond;
    if (!respond) throw new Error("no response_url");
    await this.platform.api("response_url", () => respond(args));
  }
}

/**
 * A Bolt `Receiver` fed by our `HttpServer`: verifies `X-Slack-Signature` on the raw body (401, and
 * nothing else happens, when it is missing, wrong or older than 5 minutes), answers `ssl_check` and
 * `url_verification`, and hands everything else to `app.processEvent` with Bolt's own HTTP ack.
 */
class SlackHttpReceiver implements Receiver {
  private app: App | undefined;
  private accepting = false;

  constructor(
    private readonly o: {
      signingSecret: string;
      clock: Clock;
      log: Logger;
      boltLogger: BoltLogger;
      rejected: Counter;
      ackSeconds: Histogram;
    },
  ) {}

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  setAccepting(on: boolean): void {
    this.accepting = on;
  }

  async handle({ req, res, body }: RouteContext): Promise<void> {
    const t0 = performance.now();
    res.once("finish", () => this.o.ackSeconds.observe({}, (performance.now() - t0) / 1000));
    const check = verifySlackSignature({
      signingSecret: this.o.signingSecret,
      rawBody: body,
      timestamp: header(req, "x-slack-request-timestamp"),
      signature: header(req, "x-slack-signature"),
      nowMs: this.o.clock.now().getTime(),
    });
    if (!check.ok) {
      this.o.rejected.inc({ reason: check.reason });
      this.o.log.warn(
        { reason: check.reason, retry: header(req, "x-slack-retry-num") },
        "slack request rejected",
      );
      sendText(res, 401, "unauthorized\n");
      return;
    }
    if (!this.accepting || !this.app) {
      sendText(res, 503, "not ready\n");
      return;
    }
    let payload: Record<string, unknown>;
    try {
      payload = parseSlackBody(body, header(req, "content-type"));
    } catch {
      this.o.rejected.inc({ reason: "malformed" });
      sendText(res, 400, "malformed body\n");
      return;
    }
    if (payload.ssl_check === "1") {
      sendText(res, 200, "");
      return;
    }
    if (payload.type === "url_verification") {
      sendJson(res, 200, { challenge: payload.challenge });
      return;
    }
    const answered = new Promise<void>((resolve) => res.once("close", () => resolve()));
    const ack = new HTTPResponseAck({
      logger: this.o.boltLogger,
      processBeforeResponse: false,
      httpRequest: req,
      httpRequestBody: payload,
      httpResponse: res,
    });
    const retry = header(req, "x-slack-retry-num");
    const event: ReceiverEvent = { body: payload, ack: ack.bind() };
    if (retry !== undefined && /^\d+$/.test(retry)) event.retryNum = Number(retry);
    const reason = header(req, "x-slack-retry-reason");
    if (reason !== undefined) event.retryReason = reason;
    try {
      await this.app.processEvent(event);
      if (ack.storedResponse !== undefined && !res.headersSent) sendJson(res, 200, ack.storedResponse);
    } catch (e) {
      this.o.log.error({ err: e }, "slack event processing failed");
      if (!res.headersSent) ack.ack();
    }
    // Bolt answers from `ack()` (or its own 3 s timeout); the route completes when it has.
    await answered;
  }
}

// @slack/socket-mode is Bolt's dependency; load the copy Bolt uses.
const { SocketModeClient } = createRequire(createRequire(import.meta.url).resolve("@slack/bolt"))(
  "@slack/socket-mode",
) as { SocketModeClient: new (o: SocketModeOptions) => SocketModeClientType };

/**
 * A Bolt `Receiver` on a Socket Mode connection (`apps.connections.open` with the app token, then a
 * WebSocket). Acks are the envelope acknowledgements; retries carry `retry_attempt`.
 */
class SlackSocketReceiver implements Receiver {
  readonly client: SocketModeClientType;
  private app: App | undefined;

  constructor(o: { appToken: string; slackApiUrl?: string; boltLogger: BoltLogger; log: Logger }) {
    this.client = new SocketModeClient({
      appToken: o.appToken,
      logger: o.boltLogger,
      clientOptions: {
        ...(o.slackApiUrl ? { slackApiUrl: o.slackApiUrl } : {}),
        // Reconnect for a long while (Slack recycles connections), but back off.
        retryConfig: { retries: 100, factor: 1.3, maxTimeout: 30_000 },
      },
    });
    this.client.on(
      "slack_event",
      async (args: {
        ack: (response?: unknown) => Promise<void>;
        body: Record<string, unknown>;
        retry_num?: number;
        retry_reason?: string;
      }) => {
        let acked = false;
        const event: ReceiverEvent = {
          body: args.body,
          ack: async (response?: unknown) => {
            if (acked) return;
            acked = true;
            await args.ack(response);
          },
        };
        if (args.retry_num !== undefined) event.retryNum = args.retry_num;
        if (args.retry_reason !== undefined) event.retryReason = args.retry_reason;
        try {
          await this.app?.processEvent(event);
        } catch (e) {
          o.log.error({ err: e }, "slack socket event processing failed");
          await event.ack().catch(() => {});
        }
      },
    );
  }

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {
    await this.client.start();
  }

  async stop(): Promise<void> {
    await this.client.disconnect();
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Parses a Slack request body: JSON (Events API) or form-encoded (commands; `payload=` for interactions). */
export function parseSlackBody(raw: Buffer, contentType: string | undefined): Record<string, unknown> {
  const text = raw.toString("utf8");
  if (contentType?.includes("application/json")) {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
    return v as Record<string, unknown>;
  }
  const form = Object.fromEntries(new URLSearchParams(text));
  if (typeof form.payload === "string") {
    const v = JSON.parse(form.payload) as unknown;
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("payload is not an object");
    return v as Record<string, unknown>;
  }
  return form;
}

/** Bolt's logger interface on top of ours (so Bolt's messages are redacted like everything else). */
class BoltLoggerAdapter implements BoltLogger {
  private level = "info" as LogLevel;
  constructor(private readonly log: Logger) {}
  private msg(parts: unknown[]): string {
    return parts
      .map((p) => (typeof p === "string" ? p : p instanceof Error ? p.message : JSON.stringify(p)))
      .join(" ");
  }
  debug(...m: unknown[]): void {
    this.log.debug({}, this.msg(m));
  }
  info(...m: unknown[]): void {
    this.log.info({}, this.msg(m));
  }
  warn(...m: unknown[]): void {
    this.log.warn({}, this.msg(m));
  }
  error(...m: unknown[]): void {
    this.log.error({}, this.msg(m));
  }
  setLevel(level: LogLevel): void {
    this.level = level;
  }
  getLevel(): LogLevel {
    return this.level;
  }
  setName(): void {}
}
