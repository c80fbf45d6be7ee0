/**
 * Microsoft Teams front end (`ChatPlatform`) on botbuilder 4.x `CloudAdapter`, mounted at
 * `POST /api/messages` on our `HttpServer`.
 *
 * Inbound: `@gitops-bot promote …` in a channel or group chat, plain text in a 1:1 chat, and
 * Action.Submit clicks whose data is `{ gitops: { command, value } }`. Every inbound request is
 * authenticated by botbuilder (JWT from the Bot Framework: issuer, audience = app id, signing keys
 * from the OpenID metadata, `serviceUrl` claim) unless no app id is configured, which is for local
 * testing only and logged loudly.
 *
 * The turn only saves the conversation reference, sends a typing indicator and starts the handler;
 * the HTTP answer does not wait for the command (Teams redelivers after 15 s). Replies are proactive
 * messages (`continueConversationAsync`), so they work however long the command takes.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CloudAdapter, type ConfigurationBotFrameworkAuthenticationOptions, TurnContext } from "botbuilder";
import type { ServiceClientCredentialsFactory } from "botframework-connector";
import { KeyedMessages } from "../../../chat/keyed-messages.js";
import { TeamsClient } from "../../../chat/teams/client.js";
import { type AdaptiveCard, renderTeams } from "../../../chat/teams/render.js";
import { TeamsMessages, TeamsResponder } from "../../../chat/teams/replies.js";
import type { Message } from "../../../core/message.js";
import type { MessageRefStore } from "../../../core/message-refs.js";
import { type Clock, type Logger, systemClock } from "../../../core/ports.js";
import { Redactor } from "../../../core/redact.js";
import type { Counter, Histogram } from "../../../http/metrics.js";
import { type HttpServer, type RouteContext, sendText } from "../../../http/server.js";
import { WorkQueue } from "../../../http/work-queue.js";
import type { ChatPlatform, Invocation, InvocationHandler, MessageRef, Responder } from "../../platform.js";
import { PUBLIC_CLOUD, ResponseAdapter, StrictBotFrameworkAuthentication } from "./adapter.js";
import { type ConversationStore, FileConversationStore, toStored } from "./conversation-store.js";
import {
  baseConversationId,
  commandText,
  isLoopbackServiceUrl,
  parseSubmitData,
  teamsInvocationId,
} from "./parse.js";

/** The proactive sender (the chat Teams client), under the name the platform has exported it as. */
export { TeamsClient as TeamsConversationSender } from "../../../chat/teams/client.js";

/** Settings of the Teams front end (the `teams` config section). */
export interface TeamsPlatformOptions {
  /** Microsoft App ID. Without it, requests are not authenticated (testing only). */
  appId?: string;
  appPassword?: string;
  /** Single-tenant bots: the tenant id. */
  tenantId?: string;
  /** OpenID metadata for inbound tokens (default Bot Framework's); tests point it at a local key server. */
  openIdMetadataUrl?: string;
  /** Path mounted on the HTTP server (default `/api/messages`). */
  path?: string;
}

/** Everything the platform talks to, injected. */
export interface TeamsPlatformDeps {
  logger: Logger;
  http: HttpServer;
  store: ConversationStore;
  /** Shares keyed messages (approval requests) with other replicas and across restarts. */
  ledger?: MessageRefStore;
  /** Message renderer (default `renderTeams`). */
  render?: (msg: Message) => AdaptiveCard;
  clock?: Clock;
  redactor?: Redactor;
  /**
   * Outbound credentials (default: app id + password through MSAL). Tests inject a factory whose
   * credentials sign with a fixed token, since MSAL only talks to an https login endpoint.
   */
  credentialsFactory?: ServiceClientCredentialsFactory;
  /** Commands running at once after their turn ended; the rest wait in order (default 8). */
  concurrency?: number;
  /** How long `stop()` waits for running and queued commands (default 10 s). */
  stopGraceMs?: number;
  /** Bound on the member lookup (e-mail for commit authors) before a command runs anyway (default 2 s). */
  lookupTimeoutMs?: number;
}

/**
 * The Teams `ChatPlatform`. Construct with `TeamsPlatform.fromConfig(cfg.teams, { logger, http, store })`,
 * register the engine with `onInvocation`, then `start()` (mounts `/api/messages`).
 */
export class TeamsPlatform implements ChatPlatform {
  readonly name = "teams" as const;
  /** The botbuilder adapter (exposed for tests and advanced use). */
  readonly adapter: CloudAdapter;
  /** Proactive sends by conversation id (the one Teams client), for replies and notifications. */
  readonly sender: TeamsClient;
  private readonly log: Logger;
  private readonly redactor: Redactor;
  /** Outbound cards and keyed messages. */
  private readonly out: TeamsMessages;
  private readonly clock: Clock;
  private readonly path: string;
  private readonly authenticated: boolean;
  private handler: InvocationHandler | undefined;
  private readonly work: WorkQueue;
  /** Member e-mails by user id; `undefined` remembers a failed lookup for 10 minutes. */
  private readonly emails = new Map<string, { at: number; email: string | undefined }>();
  private started = false;
  private mounted = false;
  private readonly invocations: Counter;
  private readonly turnSeconds: Histogram;

  constructor(
    opts: TeamsPlatformOptions,
    private readonly deps: TeamsPlatformDeps,
  ) {
    this.log = deps.logger.child({ component: "teams" });
    this.redactor = (deps.redactor ?? new Redactor()).with([opts.appPassword]);
    this.clock = deps.clock ?? systemClock;
    this.path = opts.path ?? "/api/messages";
    this.work = new WorkQueue({
      concurrency: deps.concurrency ?? 8,
      logger: this.log,
      name: "teams",
      depth: deps.http.metrics.gauge(
        "gitops_work_queue_depth",
        "Commands waiting or running after their ack.",
        ["queue"],
      ),
    });
    this.authenticated = !!opts.appId;

    const config: ConfigurationBotFrameworkAuthenticationOptions = {};
    if (opts.appId) {
      config.MicrosoftAppId = opts.appId;
      config.MicrosoftAppType = opts.tenantId ? "SingleTenant" : "MultiTenant";
      if (opts.appPassword) config.MicrosoftAppPassword = opts.appPassword;
      if (opts.tenantId) config.MicrosoftAppTenantId = opts.tenantId;
      if (opts.openIdMetadataUrl) {
        // Setting any endpoint makes botbuilder's factory build a "parameterized" authentication that
        // uses ONLY the given endpoints (the issuer would be undefined and every token rejected), so the
        // public-cloud values come along. botframework-connector's AuthenticationConstants has them.
        Object.assign(config, PUBLIC_CLOUD, { ToBotFromChannelOpenIdMetadataUrl: opts.openIdMetadataUrl });
      }
    } else {
      // An empty configuration makes botbuilder accept ANY request: only for local testing.
      this.log.warn(
        { path: this.path },
        "TEAMS AUTHENTICATION IS DISABLED (no teams.appId): anyone who can reach /api/messages can run commands. Use this for local testing only.",
      );
    }
    const auth = new StrictBotFrameworkAuthentication(config, deps.credentialsFactory);
    this.adapter = new CloudAdapter(auth);
    this.adapter.onTurnError = async (_ctx, error) => {
      this.log.error({ err: this.redactor.value(error) }, "teams turn failed");
    };
    this.sender = new TeamsClient(this.adapter, opts.appId ?? "", deps.store, this.log);
    this.out = new TeamsMessages(
      this.sender,
      deps.render ?? renderTeams,
      new KeyedMessages("chat:teams", deps.ledger, this.log),
    );
    const metrics = deps.http.metrics;
    this.invocations = metrics.counter(
      "gitops_teams_invocations_total",
      "Teams invocations dispatched, by kind.",
      ["kind"],
    );
    this.turnSeconds = metrics.histogram(
      "gitops_teams_turn_seconds",
      "Time from a Teams activity's arrival to the HTTP answer, by status.",
      ["status"],
    );
  }

  /**
   * Builds the platform from the `teams` config section. Without `deps.store`, conversation
   * references go to a JSON file at `teams.conversationStore` (default: under the OS temp dir).
   */
  static fromConfig(
    cfg: {
      appId?: string | undefined;
      appPassword?: string | undefined;
      tenantId?: string | undefined;
      openIdMetadataUrl?: string | undefined;
      conversationStore?: string | undefined;
    },
    deps: Omit<TeamsPlatformDeps, "store"> & { store?: ConversationStore },
  ): TeamsPlatform {
    const store =
      deps.store ??
      new FileConversationStore(
        cfg.conversationStore ?? join(tmpdir(), "gitops-bot", "teams-conversations.json"),
        deps.logger.child({ component: "teams" }),
      );
    const opts: TeamsPlatformOptions = {};
    if (cfg.appId) opts.appId = cfg.appId;
    if (cfg.appPassword) opts.appPassword = cfg.appPassword;
    if (cfg.tenantId) opts.tenantId = cfg.tenantId;
    if (cfg.openIdMetadataUrl) opts.openIdMetadataUrl = cfg.openIdMetadataUrl;
    return new TeamsPlatform(opts, { ...deps, store });
  }

  onInvocation(handler: InvocationHandler): void {
    this.handler = handler;
  }

  /** Mounts `/api/messages` (idempotent). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (!this.mounted) {
      this.mounted = true;
      this.deps.http.route("POST", this.path, (ctx) => this.handle(ctx));
      this.deps.http.readiness("teams", () => this.started);
    }
    this.log.info({ path: this.path, authenticated: this.authenticated }, "teams platform started");
  }

  /** Stops taking activities (503) and waits for running handlers. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const left = await this.work.drain(this.deps.stopGraceMs ?? 10_000);
    if (left > 0) this.log.warn({ left }, "teams stopped with commands still queued");
  }

  /** Resolves when every command queued so far has finished. */
  idle(): Promise<void> {
    return this.work.idle();
  }

  /** Posts `msg` to a conversation (a channel id starts a thread; `threadId` replies in that thread). */
  send(channel: string, msg: Message, opts: { threadId?: string } = {}): Promise<MessageRef> {
    return this.out.send(channel, msg, opts);
  }

  /** Replaces the card of an earlier message. */
  update(ref: MessageRef, msg: Message): Promise<void> {
    return this.out.update(ref, msg);
  }

  private async handle({ req, res, body }: RouteContext): Promise<void> {
    const t0 = performance.now();
    res.once("finish", () =>
      this.turnSeconds.observe({ status: res.statusCode }, (performance.now() - t0) / 1000),
    );
    if (!this.started) {
      sendText(res, 503, "not ready\n");
      return;
    }
    let activity: unknown;
    try {
      activity = JSON.parse(body.toString("utf8"));
    } catch {
      sendText(res, 400, "malformed activity\n");
      return;
    }
    if (!activity || typeof activity !== "object" || Array.isArray(activity)) {
      sendText(res, 400, "malformed activity\n");
      return;
    }
    const serviceUrl = (activity as { serviceUrl?: unknown }).serviceUrl;
    if (!this.authenticated && typeof serviceUrl === "string" && !isLoopbackServiceUrl(serviceUrl)) {
      // Test mode (no app id): no token vouches for the serviceUrl, so only loopback is talked to.
      this.log.warn({}, "teams test mode: refused an activity whose serviceUrl is not loopback");
      sendText(res, 403, "forbidden: without teams.appId only a loopback serviceUrl is accepted\n");
      return;
    }
    const reply = new ResponseAdapter(res);
    await this.adapter.process(
      { body: activity as Record<string, unknown>, headers: req.headers, method: req.method ?? "POST" },
      reply,
      (ctx) => this.onTurn(ctx),
    );
    reply.finish();
  }

  private async onTurn(ctx: TurnContext): Promise<void> {
    const a = ctx.activity;
    const ref = toStored(TurnContext.getConversationReference(a), this.clock.now());
    if (ref) {
      await this.deps.store
        .put(ref)
        .catch((e: unknown) => this.log.error({ err: e }, "could not store conversation reference"));
    }
    if (a.type !== "message") return;

    const receivedAt = this.clock.now();
    const conversationId = a.conversation.id;
    const user = {
      // aadObjectId is stable across teams and chats; `from.id` is per bot registration.
      id: `teams:${a.from.aadObjectId ?? a.from.id}`,
      name: a.from.name || a.from.id,
    };
    const submit = parseSubmitData(a.value);
    let inv: Invocation;
    if (submit) {
      inv = {
        id: teamsInvocationId(a.id ?? `${conversationId}:${a.timestamp}`),
        platform: "teams",
        text: submit.command.replace(/\s+/g, " ").trim(),
        user,
        channel: baseConversationId(conversationId),
        button: {},
        receivedAt,
      };
      if (submit.value !== undefined) inv.button!.value = submit.value;
      // The card that carried the button is the message this activity replies to.
      if (a.replyToId)
        inv.button!.messageRef = {
          platform: "teams",
          channel: baseConversationId(conversationId),
          id: a.replyToId,
        };
    } else {
      const text = commandText(a);
      if (!text) return;
      inv = {
        id: teamsInvocationId(a.id ?? `${conversationId}:${a.timestamp}`),
        platform: "teams",
        text,
        user,
        channel: baseConversationId(conversationId),
        receivedAt,
      };
    }
    // A typing indicator at once satisfies the "answer within 2 s" store rule. It is sent
    // proactively, not awaited in the turn, so a slow or rate-limited connector cannot delay the
    // HTTP answer past Teams' 15 s (which would make Teams redeliver); the handler waits for it, so
    // the indicator never arrives after the first reply. Failure is harmless.
    const typing = this.sender
      .sendActivity(conversationId, { type: "typing" })
      .then(() => undefined)
      .catch((e: unknown) => this.log.debug({ err: e }, "typing failed"));
    this.spawn(
      submit ? "button" : "text",
      inv,
      new TeamsResponder(this.out, conversationId),
      typing,
      a.from.id,
    );
  }

  /** The user's e-mail (Teams does not send it with activities), cached, bounded by `lookupTimeoutMs`. */
  private async memberEmail(conversationId: string, memberId: string): Promise<string | undefined> {
    const now = Date.now();
    const hit = this.emails.get(memberId);
    if (hit && now - hit.at < (hit.email ? 3_600_000 : 600_000)) return hit.email;
    if (this.emails.size >= 5000) this.emails.delete(this.emails.keys().next().value as string);
    let timer: NodeJS.Timeout | undefined;
    const lookup = this.sender.memberEmail(conversationId, memberId).catch((e: unknown) => {
      this.log.debug({ err: e }, "teams member lookup failed");
      return undefined;
    });
    const email = await Promise.race([
      lookup,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), this.deps.lookupTimeoutMs ?? 2_000);
      }),
    ]).finally(() => clearTimeout(timer));
    this.emails.set(memberId, { at: now, email });
    return email;
  }

  private spawn(
    kind: string,
    inv: Invocation,
    responder: Responder,
    before: Promise<void>,
    memberId: string,
  ): void {
    const handler = this.handler;
    if (!handler) {
      this.log.warn({ kind }, "teams invocation received before a handler was registered; dropped");
      return;
    }
    this.invocations.inc({ kind });
    this.log.info({ id: inv.id, user: inv.user.id, channel: inv.channel, kind }, "teams invocation");
    this.work.push(async () => {
      await before;
      const email = await this.memberEmail(inv.channel, memberId);
      if (email) inv.user.email = email;
      await handler(inv, responder).catch((e: unknown) =>
        this.log.error({ err: this.redactor.value(e), kind }, "teams invocation handler failed"),
      );
    });
  }
}
