/**
 * A local fake of the Slack Web API and of `response_url`s, for integration tests and the ack
 * benchmark (there is no offline Slack). It records what the bot sent and answers like Slack:
 *
 *   POST /api/<method>      chat.postMessage, chat.update, chat.postEphemeral, auth.test, users.info,
 *                           usergroups.list (anything else: `{ ok: false, error: "unknown_method" }`)
 *   POST /response/<id>     a response_url (use `responseUrl(id)` in payloads)
 *   apps.connections.open   Socket Mode: answers `ws://…/link`, where a WebSocket server says hello;
 *                           `socketSend(envelope)` pushes an envelope, `socketAcks` records the acks
 *
 * Bodies may be form-urlencoded (the WebClient's default, with `blocks`/`attachments` as JSON strings)
 * or JSON; both are decoded into `call.args`, with JSON-string fields parsed.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

/** One recorded request. */
export interface FakeSlackCall {
  /** Web API method (`chat.postMessage`) or `response_url`. */
  method: string;
  /** Decoded arguments; `blocks` and `attachments` are parsed from JSON strings. */
  args: Record<string, unknown>;
  /** The `Authorization` header (Bearer token) for Web API calls. */
  authorization: string | undefined;
  /** For response_url posts: the id in the URL. */
  responseId?: string;
  contentType: string | undefined;
  /** What the fake answered (e.g. `{ ok, channel, ts }` for chat.postMessage). */
  response?: unknown;
}

/** A canned failure for the next call(s) of a method. */
export type FakeSlackFailure =
  | { error: string }
  | { status: 429; retryAfter: number }
  /** A server error (Slack's API answering 500 / 503). */
  | { status: 500 | 503 };

export class FakeSlackApi {
  readonly calls: FakeSlackCall[] = [];
  /** Users known to `users.info`, by id. */
  readonly users = new Map<string, { name: string; real_name?: string; email?: string }>();
  /** Usergroups returned by `usergroups.list`. */
  usergroups: { id: string; handle: string; users: string[] }[] = [];
  /** Artificial latency per Web API call (ms). */
  latencyMs = 0;
  private readonly failures = new Map<string, FakeSlackFailure[]>();
  private readonly server: Server;
  private seq = 0;
  private waiters: (() => void)[] = [];
  /** Socket Mode acknowledgements the app sent (`{ envelope_id, payload }`). */
  readonly socketAcks: { envelope_id: string; payload?: unknown }[] = [];
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();

  constructor(readonly identity = { userId: "UBOT", botId: "BBOT", teamId: "T1" }) {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({ status, body, headers }) => {
          res.writeHead(status, { "content-type": "application/json", ...headers });
          res.end(JSON.stringify(body));
        },
        (e: Error) => {
          res.writeHead(500);
          res.end(String(e.message));
        },
      );
    });
    this.wss = new WebSocketServer({ server: this.server, path: "/link" });
    this.wss.on("connection", (ws) => {
      this.sockets.add(ws);
      ws.on("close", () => this.sockets.delete(ws));
      ws.on("message", (data) => {
        this.socketAcks.push(JSON.parse(String(data)) as { envelope_id: string; payload?: unknown });
        for (const w of this.waiters.splice(0)) w();
      });
      ws.send(
        JSON.stringify({
          type: "hello",
          num_connections: 1,
          debug_info: { approximate_connection_time: 3600 },
        }),
      );
    });
  }

  /** Open Socket Mode connections. */
  get socketCount(): number {
    return this.sockets.size;
  }

  /** Pushes an envelope (`{ envelope_id, type, payload, … }`) to every connected Socket Mode client. */
  socketSend(envelope: Record<string, unknown>): void {
    for (const ws of this.sockets) ws.send(JSON.stringify(envelope));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  /** The value for `slack.apiUrl`. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** A response_url that records posts under `id`. */
  responseUrl(id: string): string {
    return `${this.url}/response/${encodeURIComponent(id)}`;
  }

  /** Makes the next call(s) of `method` fail (queued, one failure per call). */
  fail(method: string, ...failures: FakeSlackFailure[]): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), ...failures]);
  }

  /** Recorded calls of one method (`chat.postMessage`, `response_url`, …). */
  callsOf(method: string): FakeSlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves once `pred` holds over the recorded calls (polling on every new call), or rejects after `timeoutMs`. */
  async waitFor(pred: (calls: FakeSlackCall[]) => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.calls)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `fake slack: condition not met; calls: ${JSON.stringify(this.calls.map((c) => c.method))}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private async handle(
    req: IncomingMessage,
  ): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const contentType = req.headers["content-type"];
    const args = decode(raw, contentType);
    const url = new URL(req.url ?? "/", this.url);
    const resp = /^\/response\/([^/]+)$/.exec(url.pathname);
    const api = /^\/api\/([A-Za-z.]+)$/.exec(url.pathname);
    const method = resp ? "response_url" : api ? (api[1] as string) : `unknown:${url.pathname}`;
    const call: FakeSlackCall = { method, args, authorization: req.headers.authorization, contentType };
    if (resp) call.responseId = decodeURIComponent(resp[1] as string);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const failure = this.failures.get(method)?.shift();
    this.calls.push(call);
    for (const w of this.waiters.splice(0)) w();
    if (failure && "status" in failure && failure.status !== 429) {
      return { status: failure.status, body: { ok: false, error: "internal_error" } };
    }
    if (failure && "status" in failure) {
      return {
        status: 429,
        body: { ok: false, error: "ratelimited" },
        headers: { "retry-after": String(failure.retryAfter) },
      };
    }
    if (failure) return { status: 200, body: { ok: false, error: failure.error } };
    call.response = this.answer(method, args);
    return { status: 200, body: call.response };
  }

  private answer(method: string, args: Record<string, unknown>): unknown {
    const ts = () => `1700000000.${String(++this.seq).padStart(6, "0")}`;
    switch (method) {
      case "response_url":
        return { ok: true };
      case "apps.connections.open":
        return { ok: true, url: `${this.url.replace(/^http/, "ws")}/link` };
      case "auth.test":
        return {
          ok: true,
          user_id: this.identity.userId,
          bot_id: this.identity.botId,
          team_id: this.identity.teamId,
        };
      case "chat.postMessage": {
        const t = ts();
        return { ok: true, channel: args.channel, ts: t, message: { ts: t, text: args.text } };
      }
      case "chat.update":
        return { ok: true, channel: args.channel, ts: args.ts };
      case "chat.postEphemeral":
        return { ok: true, message_ts: ts() };
      case "users.info": {
        const u = this.users.get(String(args.user));
        if (!u) return { ok: false, error: "user_not_found" };
        return {
          ok: true,
          user: {
            id: args.user,
            name: u.name,
            real_name: u.real_name,
            profile: { display_name: u.name, ...(u.email ? { email: u.email } : {}) },
          },
        };
      }
      case "usergroups.list":
        return { ok: true, usergroups: this.usergroups };
      default:
        return { ok: false, error: "unknown_method" };
    }
  }
}

function decode(raw: string, contentType: string | undefined): Record<string, unknown> {
  let obj: Record<string, unknown> = {};
  if (raw === "") return obj;
  if (contentType?.includes("application/json")) obj = JSON.parse(raw) as Record<string, unknown>;
  else obj = Object.fromEntries(new URLSearchParams(raw));
  for (const k of ["blocks", "attachments", "metadata"]) {
    const v = obj[k];
    if (typeof v === "string") {
      try {
        obj[k] = JSON.parse(v);
      } catch {
        // leave as is: the test will see the raw string
      }
    }
  }
  return obj;
}

/** Options for `postSignedSlack`. */
export interface SignedPostOptions {
  signingSecret: string;
  /** Request timestamp in seconds (default now). */
  timestamp?: number;
  /** Override the signature (e.g. a forged one); `null` omits the header. */
  signature?: string | null;
  /** `null` omits the timestamp header. */
  omitTimestamp?: boolean;
  headers?: Record<string, string>;
}

/**
 * POSTs a Slack request the way Slack does: `form` bodies are form-urlencoded (slash commands, or
 * `{ payload: JSON }` for interactions); `json` bodies are Events API envelopes. Signs the exact bytes.
 */
export async function postSignedSlack(
  url: string,
  body: { form: Record<string, string> } | { json: unknown },
  o: SignedPostOptions,
): Promise<{ status: number; text: string; ms: number }> {
  const { createHmac } = await import("node:crypto");
  const raw = "form" in body ? new URLSearchParams(body.form).toString() : JSON.stringify(body.json);
  const ts = String(o.timestamp ?? Math.floor(Date.now() / 1000));
  const sig = `v0=${createHmac("sha256", o.signingSecret).update(`v0:${ts}:${raw}`).digest("hex")}`;
  const headers: Record<string, string> = {
    "content-type": "form" in body ? "application/x-www-form-urlencoded" : "application/json",
    ...o.headers,
  };
  if (!o.omitTimestamp) headers["x-slack-request-timestamp"] = ts;
  if (o.signature !== null) headers["x-slack-signature"] = o.signature ?? sig;
  const t0 = performance.now();
  const res = await fetch(url, { method: "POST", headers, body: raw });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - t0 };
}
