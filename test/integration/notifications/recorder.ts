/**
 * A local HTTP server that records every request (a stand-in for Slack's Web API, incoming
 * webhooks, Teams Workflows URLs and webhook receivers; there is no offline Slack or Teams) and
 * answers with a scripted responder. Also the validators for what a platform would reject.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type Responder = (req: Recorded, n: number) => Reply;

export class Recorder {
  readonly requests: Recorded[] = [];
  private server: Server | undefined;
  url = "";

  constructor(public responder: Responder = () => ({ status: 200, body: { ok: true } })) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const rec: Recorded = {
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
        };
        this.requests.push(rec);
        const r = this.responder(rec, this.requests.length);
        res.writeHead(r.status ?? 200, { "content-type": "application/json", ...r.headers });
        res.end(typeof r.body === "string" ? r.body : JSON.stringify(r.body ?? { ok: true }));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  json(i: number): Record<string, unknown> {
    return JSON.parse(this.requests[i]?.body ?? "null") as Record<string, unknown>;
  }
}

/** A Slack Web API fake: `chat.postMessage` gets a new ts, `chat.update` echoes it. */
export function slackApi(): Responder {
  let ts = 1000;
  return (req) => {
    const body = JSON.parse(req.body || "{}") as Record<string, unknown>;
    if (req.path.endsWith("/chat.update"))
      return { body: { ok: true, channel: body["channel"], ts: body["ts"] } };
    ts++;
    return { body: { ok: true, channel: body["channel"], ts: `${ts}.000100` } };
  };
}

/** Problems Slack would reject a chat.postMessage / chat.update body for (Block Kit limits). */
export function slackProblems(payload: Record<string, unknown>): string[] {
  const out: string[] = [];
  const attachments = (payload["attachments"] as { blocks?: unknown[]; color?: string }[] | undefined) ?? [];
  const blocks = [
    ...((payload["blocks"] as unknown[]) ?? []),
    ...attachments.flatMap((a) => a.blocks ?? []),
  ] as Record<string, unknown>[];
  if (typeof payload["text"] !== "string") out.push("no text fallback");
  if (blocks.length > 50) out.push(`${blocks.length} blocks`);
  const known = new Set(["section", "context", "actions", "divider", "header"]);
  const ids = new Set<string>();
  for (const blk of blocks) {
    if (!known.has(String(blk["type"]))) out.push(`unknown block ${String(blk["type"])}`);
    const text = blk["text"] as { type: string; text: string } | undefined;
    if (text && text.text.length > 3000) out.push("section text > 3000");
    if (text && !["mrkdwn", "plain_text"].includes(text.type)) out.push("bad text type");
    const fields = (blk["fields"] as { text: string }[] | undefined) ?? [];
    if (fields.length > 10) out.push("> 10 fields");
    for (const f of fields) if (f.text.length > 2000) out.push("field > 2000");
    if (blk["type"] === "section" && !text && fields.length === 0) out.push("empty section");
    for (const el of (blk["elements"] as Record<string, unknown>[] | undefined) ?? []) {
      if (blk["type"] !== "actions") continue;
      const t = el["text"] as { text: string };
      if (t.text.length > 75) out.push("button text > 75");
      if (String(el["value"]).length > 2000) out.push("button value > 2000");
      const id = String(el["action_id"]);
      if (ids.has(id)) out.push(`duplicate action_id ${id}`);
      ids.add(id);
    }
  }
  return out;
}

/** Problems a Teams client would have with an Adaptive Card (the schema fields we rely on). */
export function adaptiveCardProblems(card: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (card["type"] !== "AdaptiveCard") out.push("type");
  if (card["version"] !== "1.4") out.push("version");
  if (card["$schema"] !== "http://adaptivecards.io/schemas/adaptive-card.json") out.push("$schema");
  if (!Array.isArray(card["body"])) out.push("body");
  const elements = new Set([
    "TextBlock",
    "FactSet",
    "Container",
    "ColumnSet",
    "Column",
    "ActionSet",
    "RichTextBlock",
    "TextRun",
    "Action.Submit",
  ]);
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const y of x) walk(y);
      return;
    }
    if (!x || typeof x !== "object") return;
    const o = x as Record<string, unknown>;
    if (typeof o["type"] === "string" && o !== card) {
      if (!elements.has(o["type"])) out.push(`unknown element ${o["type"]}`);
      if (o["type"] === "TextBlock" && typeof o["text"] !== "string") out.push("TextBlock without text");
      if (o["type"] === "Action.Submit") {
        const data = o["data"] as { gitops?: { command?: unknown } } | undefined;
        if (typeof data?.gitops?.command !== "string") out.push("Action.Submit without gitops.command");
      }
      if (
        o["type"] === "Container" &&
        o["style"] !== undefined &&
        !["default", "emphasis", "good", "attention", "warning", "accent"].includes(String(o["style"]))
      )
        out.push("bad style");
    }
    for (const v of Object.values(o)) if (typeof v === "object") walk(v);
  };
  walk(card["body"]);
  if (Buffer.byteLength(JSON.stringify(card)) > 28_000) out.push("card > 28 KB");
  return out;
}
