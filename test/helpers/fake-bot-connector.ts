/**
 * A local fake of the Bot Framework as Teams uses it, for integration tests (there is no offline
 * Teams). One loopback server plays three parts:
 *
 *   - the Bot Connector (`serviceUrl`): records `POST /v3/conversations/:id/activities[/:replyTo]`
 *     and `PUT /v3/conversations/:id/activities/:activityId`, answering `{ id }`, and answers
 *     `GET /v3/conversations/:id/members/:memberId` from `members`;
 *   - the OpenID metadata + JWKS that botbuilder reads to validate inbound tokens
 *     (`openIdMetadataUrl` -> `jwks_uri`), serving the public half of a local RSA key;
 *   - a token signer (`signToken`) that makes tokens like the Bot Framework's
 *     (`iss: https://api.botframework.com`, `aud: <app id>`, `serviceurl` claim), or forged ones.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One activity the bot sent to the connector. */
export interface ConnectorCall {
  method: "POST" | "PUT";
  conversationId: string;
  /** POST .../activities/:id is a reply to :id; PUT .../activities/:id updates :id. */
  activityId?: string;
  activity: Record<string, unknown>;
  authorization: string | undefined;
}

/** The issuer the Bot Framework puts into tokens for bots (botbuilder's default expectation). */
export const BOT_FRAMEWORK_ISSUER = "https://api.botframework.com";

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

export class FakeBotConnector {
  readonly calls: ConnectorCall[] = [];
  /** Fail the next N connector calls with this status (e.g. 503). */
  failNext: { status: number; count: number } | undefined;
  readonly keyId = "test-key-1";
  /** Members `GET …/members/:id` knows, by member id (`29:…`). */
  readonly members = new Map<
    string,
    { name: string; email?: string; userPrincipalName?: string; aadObjectId?: string }
  >();
  private readonly privateKey: KeyObject;
  private readonly publicJwk: Record<string, unknown>;
  private readonly server: Server;
  private seq = 0;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.privateKey = privateKey;
    this.publicJwk = {
      ...(publicKey.export({ format: "jwk" }) as Record<string, unknown>),
      kid: this.keyId,
      use: "sig",
      alg: "RS256",
      // Bot Framework keys carry endorsements: the channels a key may sign for.
      endorsements: ["msteams", "emulator", "webchat"],
    };
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body }) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The `serviceUrl` to put into activities. */
  get serviceUrl(): string {
    return `${this.url}/`;
  }

  /** The value for `teams.openIdMetadataUrl`. */
  get openIdMetadataUrl(): string {
    return `${this.url}/openid/.well-known/openidconfiguration`;
  }

  /** Activities the bot sent into one conversation (any thread of it when `base` is true). */
  activitiesIn(conversationId: string, base = false): ConnectorCall[] {
    return this.calls.filter((c) =>
      base
        ? c.conversationId.split(";messageid=")[0] === conversationId
        : c.conversationId === conversationId,
    );
  }

  /** Messages (not typing indicators) the bot sent. */
  get messages(): ConnectorCall[] {
    return this.calls.filter((c) => c.activity.type === "message");
  }

  /**
   * Signs a Bot Framework-style token. `key: "forged"` signs with a fresh key under the same `kid`.
   * `expiresInSec` may be negative (expired).
   */
  signToken(o: {
    audience: string;
    serviceUrl: string;
    issuer?: string;
    expiresInSec?: number;
    key?: "real" | "forged";
    extra?: Record<string, unknown>;
  }): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: "RS256", typ: "JWT", kid: this.keyId };
    const exp = now + (o.expiresInSec ?? 3600);
    const payload = {
      iss: o.issuer ?? BOT_FRAMEWORK_ISSUER,
      aud: o.audience,
      serviceurl: o.serviceUrl,
      nbf: Math.min(now - 60, exp - 60),
      iat: Math.min(now - 60, exp - 60),
      exp,
      ...o.extra,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const key =
      o.key === "forged"
        ? createPrivateKey(
            generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
              format: "pem",
              type: "pkcs8",
            }),
          )
        : this.privateKey;
    return `${input}.${b64url(sign("RSA-SHA256", Buffer.from(input), key))}`;
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", this.url);
    if (req.method === "GET" && url.pathname === "/openid/.well-known/openidconfiguration") {
      return {
        status: 200,
        body: {
          issuer: BOT_FRAMEWORK_ISSUER,
          authorization_endpoint: `${this.url}/auth`,
          jwks_uri: `${this.url}/openid/keys`,
          id_token_signing_alg_values_supported: ["RS256"],
          token_endpoint_auth_methods_supported: ["private_key_jwt"],
        },
      };
    }
    if (req.method === "GET" && url.pathname === "/openid/keys")
      return { status: 200, body: { keys: [this.publicJwk] } };
    const member = /^\/v3\/conversations\/([^/]+)\/members\/([^/]+)$/.exec(url.pathname);
    if (member && req.method === "GET") {
      const id = decodeURIComponent(member[2] as string);
      const m = this.members.get(id);
      return m
        ? { status: 200, body: { id, ...m } }
        : { status: 404, body: { error: { code: "MemberNotFoundInConversation", message: "not found" } } };
    }
    const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(url.pathname);
    if (m && (req.method === "POST" || req.method === "PUT")) {
      const call: ConnectorCall = {
        method: req.method,
        conversationId: decodeURIComponent(m[1] as string),
        activity: JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>,
        authorization: req.headers.authorization,
      };
      if (m[2]) call.activityId = decodeURIComponent(m[2]);
      this.calls.push(call);
      if (this.failNext && this.failNext.count > 0) {
        this.failNext.count--;
        return {
          status: this.failNext.status,
          body: { error: { code: "ServiceError", message: "injected failure" } },
        };
      }
      return {
        status: req.method === "PUT" ? 200 : 201,
        body: { id: call.activityId && req.method === "PUT" ? call.activityId : `act-${++this.seq}` },
      };
    }
    return { status: 404, body: { error: { code: "NotFound", message: `${req.method} ${url.pathname}` } } };
  }
}

/** A Teams message activity as the channel sends it (override fields as needed). */
export function teamsMessage(o: {
  serviceUrl: string;
  id: string;
  text?: string;
  value?: unknown;
  conversationId?: string;
  conversationType?: "personal" | "channel" | "groupChat";
  botId?: string;
  replyToId?: string;
  mentionBot?: boolean;
}): Record<string, unknown> {
  const botId = o.botId ?? "28:bot-app-id";
  const botName = "gitops-bot";
  const activity: Record<string, unknown> = {
    type: "message",
    id: o.id,
    timestamp: new Date().toISOString(),
    serviceUrl: o.serviceUrl,
    channelId: "msteams",
    from: { id: "29:user-1", name: "Alice Example", aadObjectId: "aad-alice" },
    conversation: {
      id: o.conversationId ?? "a:personal-chat-1",
      conversationType: o.conversationType ?? "personal",
      tenantId: "tenant-1",
      ...(o.conversationType === "channel" ? { isGroup: true } : {}),
    },
    recipient: { id: botId, name: botName },
    channelData: { tenant: { id: "tenant-1" } },
    locale: "en-US",
  };
  if (o.replyToId) activity.replyToId = o.replyToId;
  if (o.value !== undefined) activity.value = o.value;
  if (o.text !== undefined) {
    activity.text = o.mentionBot ? `<at>${botName}</at> ${o.text}` : o.text;
    activity.textFormat = "plain";
    if (o.mentionBot) {
      activity.entities = [
        { type: "mention", text: `<at>${botName}</at>`, mentioned: { id: botId, name: botName } },
      ];
    }
  }
  return activity;
}
