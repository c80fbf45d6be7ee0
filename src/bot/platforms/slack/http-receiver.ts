/**
 * Slack over HTTP: the Bolt `Receiver` mounted on our `HttpServer` (`POST /slack/events`), and
 * the body parser for Slack's request formats.
 */
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import {
  type App,
  type Logger as BoltLogger,
  HTTPResponseAck,
  type Receiver,
  type ReceiverEvent,
} from "@slack/bolt";
import type { Clock, Logger } from "../../../core/ports.js";
import type { Counter, Histogram } from "../../../http/metrics.js";
import { type RouteContext, sendJson, sendText } from "../../../http/server.js";
import { verifySlackSignature } from "./parse.js";

/**
 * A Bolt `Receiver` fed by our `HttpServer`: verifies `X-Slack-Signature` on the raw body (401, and
 * nothing else happens, when it is missing, wrong or older than 5 minutes), answers `ssl_check` and
 * `url_verification`, and hands everything else to `app.processEvent` with Bolt's own HTTP ack.
 */
export class SlackHttpReceiver implements Receiver {
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
