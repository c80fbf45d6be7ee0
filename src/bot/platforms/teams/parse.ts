/**
 * Teams wire-format helpers (pure): command text from a message activity, Action.Submit data,
 * conversation ids and invocation ids. `platform.ts` does the transport.
 */
import type { Activity } from "botbuilder";
import { TurnContext } from "botbuilder";

/** What our Adaptive Card buttons send back in `activity.value` (see `renderTeams`). */
export interface SubmitData {
  command: string;
  value?: string;
}

const ENTITIES: Record<string, string> = {
  "&nbsp;": " ",
  "&amp;": "&",
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&#39;": "'",
  "&apos;": "'",
};

/** Decodes the HTML entities Teams puts into message text. `&amp;` last so `&amp;lt;` stays `&lt;`. */
export function decodeTeamsEntities(s: string): string {
  return s
    .replace(/&(nbsp|lt|gt|quot|apos|#39);/g, (m) => ENTITIES[m] ?? m)
    .replace(/&#(\d{1,6});/g, (_m, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, "&");
}

/**
 * Normalises typed text into command text: drops `<at>…</at>` mentions at the start (the bot's, which
 * `removeRecipientMention` normally removed already), any HTML tags Teams adds (`<p>`, `<span>`),
 * entities, a leading `/gitops` a Slack user may type out of habit, and collapses whitespace.
 */
export function normaliseTeamsText(text: string): string {
  let s = text.replace(/^(\s*<at[^>]*>[^<]*<\/at>\s*)+/i, "");
  s = s.replace(/<at[^>]*>([^<]*)<\/at>/gi, "@$1");
  s = s.replace(/<\/?[a-z][^>]*>/gi, " ");
  s = decodeTeamsEntities(s).replace(/[\u00a0\u2000-\u200b\u3000]/g, " ");
  s = s.replace(/\s+/g, " ").trim();
  return s.replace(/^\/?gitops(-bot)?\b\s*/i, "");
}

/**
 * The command text of a message activity: the bot's mention removed with
 * `TurnContext.removeRecipientMention` (which matches the mention entity, so a renamed bot still
 * works), then normalised. Does not modify the activity.
 */
export function commandText(activity: Partial<Activity>): string {
  const copy = { ...activity } as Activity;
  const removed = activity.recipient ? TurnContext.removeRecipientMention(copy) : undefined;
  return normaliseTeamsText(removed ?? activity.text ?? "");
}

/** Parses Action.Submit data `{ gitops: { command, value } }`; undefined for anything else. */
export function parseSubmitData(value: unknown): SubmitData | undefined {
  if (!value || typeof value !== "object") return undefined;
  const g = (value as { gitops?: unknown }).gitops;
  if (!g || typeof g !== "object") return undefined;
  const { command, value: v } = g as Record<string, unknown>;
  if (typeof command !== "string") return undefined;
  if (v !== undefined && typeof v !== "string") return undefined;
  return v === undefined ? { command } : { command, value: v };
}

// Conversation ids are outbound knowledge too (src/chat/teams/); re-exported for the inbound side.
export { baseConversationId, threadConversationId, threadOf } from "../../../chat/teams/conversations.js";

/** The invocation id of an activity: its id, unique per activity and the same on a redelivery. */
export function teamsInvocationId(activityId: string): string {
  return `teams:${activityId}`;
}

/**
 * Whether a `serviceUrl` points at this machine (`localhost`, 127.0.0.0/8, `::1`). Without an app
 * id nothing vouches for the serviceUrl an activity names, so test mode only talks to loopback:
 * otherwise anyone could make the bot send requests anywhere (a cloud metadata address, say).
 */
export function isLoopbackServiceUrl(serviceUrl: string): boolean {
  let host: string;
  try {
    host = new URL(serviceUrl).hostname;
  } catch {
    return false;
  }
  return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}
