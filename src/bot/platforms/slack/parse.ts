/**
 * Slack wire-format helpers (pure, no I/O): request signature verification, command text
 * normalisation, button values and invocation ids. `platform.ts` does the transport.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Slack rejects requests older than this; so do we (replay protection). */
export const SLACK_MAX_SKEW_SECONDS = 5 * 60;

export type SignatureResult =
  | { ok: true }
  | { ok: false; reason: "missing-headers" | "bad-timestamp" | "stale-timestamp" | "bad-signature" };

/**
 * Verifies `X-Slack-Signature` = `v0=hex(HMAC-SHA256(secret, "v0:" + ts + ":" + rawBody))` and that
 * `X-Slack-Request-Timestamp` is within 5 minutes of `nowMs` (either direction). Compares in
 * constant time. https://api.slack.com/authentication/verifying-requests-from-slack
 */
export function verifySlackSignature(args: {
  signingSecret: string;
  rawBody: Buffer | string;
  timestamp: string | undefined;
  signature: string | undefined;
  nowMs: number;
}): SignatureResult {
  const { timestamp, signature } = args;
  if (!timestamp || !signature) return { ok: false, reason: "missing-headers" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "bad-timestamp" };
  const ts = Number(timestamp);
  if (Math.abs(args.nowMs / 1000 - ts) > SLACK_MAX_SKEW_SECONDS)
    return { ok: false, reason: "stale-timestamp" };
  const expected = slackSignature(args.signingSecret, timestamp, args.rawBody);
  const a = Buffer.from(expected);
  const b = Buffer.from(signature);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, reason: "bad-signature" };
  return { ok: true };
}

/** Computes the `v0=` signature of a request body (also used by tests and the benchmark to sign). */
export function slackSignature(
  signingSecret: string,
  timestamp: string | number,
  rawBody: Buffer | string,
): string {
  const hmac = createHmac("sha256", signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(rawBody);
  return `v0=${hmac.digest("hex")}`;
}

/** Decodes the three HTML entities Slack escapes in message text. */
export function decodeSlackEntities(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/**
 * Turns what the user typed into command text: strips a leading mention of the bot (`<@U123>` or
 * `<@U123|name>`), rewrites Slack's link/mention markup to its visible form (`<http://x|x>` -> `http://x`,
 * `<#C1|deploys>` -> `#deploys`, `<@U1>` -> `@U1`), decodes entities and collapses whitespace
 * (Slack clients insert non-breaking spaces), keeping a line break as one `\n`.
 */
export function normaliseCommandText(raw: string, botUserId?: string): string {
  let s = raw.replace(/[\u00a0\u2000-\u200b\u3000]/g, " ").trim();
  // Only the leading mention is the address; later mentions are arguments (e.g. `approve @bob`).
  const lead = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>\s*/.exec(s);
  if (lead && (botUserId === undefined || lead[1] === botUserId)) s = s.slice(lead[0].length);
  s = s.replace(/<([^<>]+)>/g, (_m, inner: string) => {
    const [target = "", label] = inner.split("|", 2);
    if (target.startsWith("@")) return label ? `@${label}` : target;
    if (target.startsWith("#")) return label ? `#${label}` : target;
    if (target.startsWith("!")) return label ?? target;
    // A URL: keep the URL, not the label, because commands take URLs literally.
    return target;
  });
  // Line breaks survive (as one `\n`) so that the engine's one-line check refuses pasted
  // multi-line text, as on the other front ends; other whitespace runs become one space.
  return decodeSlackEntities(s)
    .replace(/\s+/g, (ws) => (/[\r\n]/.test(ws) ? "\n" : " "))
    .trim();
}

/** What a gitops button carries in its `value` (see `renderSlack`). */
export interface ButtonValue {
  command: string;
  value?: string;
}

/**
 * Parses a button's `value`: JSON `{ "command": "...", "value": "..." }`. Returns undefined when
 * the value is not ours (another app's button, or a tampered payload).
 */
export function parseButtonValue(raw: string | undefined): ButtonValue | undefined {
  if (!raw) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object") return undefined;
  const { command, value } = v as Record<string, unknown>;
  if (typeof command !== "string") return undefined;
  if (value !== undefined && typeof value !== "string") return undefined;
  return value === undefined ? { command } : { command, value };
}

/** Invocation id of a slash command: its `trigger_id` (unique per invocation, stable on a retry). */
export function slashCommandId(triggerId: string): string {
  return `slack:cmd:${triggerId}`;
}

/** Invocation id of an Events API event: its `event_id` (the same on every retry, `X-Slack-Retry-Num`). */
export function eventId(eventIdValue: string): string {
  return `slack:evt:${eventIdValue}`;
}

/**
 * Invocation id of a button click: message ts + user + action_ts. A redelivery has the same id; two
 * clicks of the same button by the same user share the prefix up to the last `:` (see `buttonClickPrefix`),
 * which lets the engine treat a double click as one.
 */
export function buttonClickId(args: {
  messageTs: string;
  userId: string;
  actionId: string;
  actionTs: string;
}): string {
  return `${buttonClickPrefix(args)}:${args.actionTs}`;
}

/** The part of a button click id shared by every click of that button on that message by that user. */
export function buttonClickPrefix(args: { messageTs: string; userId: string; actionId: string }): string {
  return `slack:btn:${args.messageTs}:${args.userId}:${args.actionId}`;
}
