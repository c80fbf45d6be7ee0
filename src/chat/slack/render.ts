/**
 * Slack renderer: Message IR -> Block Kit + mrkdwn (pure, no I/O).
 *
 * Guarantees: user text can never format, ping or link by accident (`& < >` are escaped, so
 * `<!channel>` stays text; formatting characters in plain text are defused); output always fits
 * Slack's limits (it truncates instead of throwing, because Slack rejects the whole message with
 * `invalid_blocks` when one limit is exceeded).
 * https://api.slack.com/reference/surfaces/formatting#escaping
 */
import {
  type Action,
  type Block,
  type Message,
  mergeSpans,
  plain,
  type RichText,
  type Severity,
  type Span,
} from "../../core/message.js";

/** Block Kit limits we enforce (https://api.slack.com/reference/block-kit/blocks). */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  /** Top-level `text` (notification text); Slack truncates above 40k, we stay far below. */
  text: 3000,
} as const;

export interface SlackText {
  type: "mrkdwn" | "plain_text";
  text: string;
  emoji?: boolean;
  verbatim?: boolean;
}

export interface SlackButton {
  type: "button";
  text: SlackText;
  action_id: string;
  value: string;
  style?: "primary" | "danger";
}

/** The subset of Block Kit blocks this renderer emits. */
export type SlackBlock =
  | { type: "section"; text?: SlackText; fields?: SlackText[] }
  | { type: "context"; elements: SlackText[] }
  | { type: "actions"; elements: SlackButton[] }
  | { type: "divider" };

export interface SlackAttachment {
  color: string;
  fallback: string;
  blocks: SlackBlock[];
}

export interface SlackRendered {
  /** Notification / fallback text (mrkdwn-escaped). */
  text: string;
  blocks: SlackBlock[];
  /** Present when the severity has a colour: then the blocks are inside the attachment. */
  attachments?: SlackAttachment[];
}

/** Colour bar per severity. `info` has no bar (plain replies stay uncluttered and never collapse). */
export const SLACK_COLORS: Record<Severity, string | undefined> = {
  info: undefined,
  success: "#2eb886",
  warning: "#daa038",
  error: "#a30200",
};

/** Payload of a button's `value`: what the interaction handler parses back. */
export interface SlackButtonValue {
  command: string;
  value?: string;
}

const ELLIPSIS = "…";

/** Escapes the three characters Slack treats as control sequences. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Escapes plain text and defuses mrkdwn formatting characters: Slack has no escape for
 * `* _ ~ \``, so a zero-width space is put before them where they could open or close formatting.
 * `_` inside a word (snake_case) cannot format and is left alone, so names copy-paste intact.
 */
function escapePlain(s: string): string {
  return escapeMrkdwn(s)
    .replace(/[*~`]/g, "\u200b$&")
    .replace(/(^|[^A-Za-z0-9])_|_(?=[^A-Za-z0-9]|$)/g, (m) => m.replace("_", "\u200b_"));
}

function wrapFormatted(text: string, delim: string, replacement: string): string {
  // Slack only formats when the delimiter touches non-space text: keep edge spaces outside.
  const m = /^(\s*)(.*?)(\s*)$/s.exec(text);
  const [lead, body, trail] = m ? [m[1] ?? "", m[2] ?? "", m[3] ?? ""] : ["", text, ""];
  if (body === "") return escapeMrkdwn(text);
  // Code shows its content literally (only the delimiter needs replacing); bold and italic are
  // defused like plain text so user text cannot nest formatting inside them.
  const safe =
    delim === "`"
      ? escapeMrkdwn(body.split(delim).join(replacement))
      : escapePlain(body.split(delim).join(replacement));
  return `${escapeMrkdwn(lead)}${delim}${safe}${delim}${escapeMrkdwn(trail)}`;
}

const SAFE_URL = /^(https?:\/\/|mailto:)/i;
const SLACK_USER_ID = /^[UWB][A-Z0-9]{2,}$/;

/** One span as mrkdwn. Exhaustive over `Span["kind"]`. */
export function spanToMrkdwn(span: Span): string {
  switch (span.kind) {
    case "text":
      return escapePlain(span.text);
    case "bold":
      return wrapFormatted(span.text, "*", "\u2217");
    case "italic":
      return wrapFormatted(span.text, "_", "\uff3f");
    case "code":
      // Slack has no escape for a backtick inside inline code: a look-alike keeps it readable.
      return wrapFormatted(span.text, "`", "ˋ");
    case "link": {
      // Only real links: a `javascript:` or relative URL is shown as text, never made clickable.
      if (!SAFE_URL.test(span.url)) return escapePlain(span.text);
      const url = escapeMrkdwn(span.url).replace(/\|/g, "%7C");
      const text = escapeMrkdwn(span.text).replace(/\|/g, "¦");
      return text === "" ? `<${url}>` : `<${url}|${text}>`;
    }
    case "mention": {
      const id = span.userId.replace(/^slack:/, "");
      // Only a real Slack id pings; another platform's id (`teams:…`) or junk is shown as a name.
      if (SLACK_USER_ID.test(id)) return `<@${id}>`;
      return escapePlain(`@${span.name ?? span.userId}`);
    }
    default: {
      const never: never = span;
      throw new Error(`unhandled span ${JSON.stringify(never)}`);
    }
  }
}

/** Rich text as mrkdwn, cut at span boundaries (or inside a text span) to fit `limit` chars. */
export function richToMrkdwn(text: RichText, limit: number = Number.POSITIVE_INFINITY): string {
  let out = "";
  for (const span of mergeSpans(text)) {
    const piece = spanToMrkdwn(span);
    if (out.length + piece.length <= limit) {
      out += piece;
      continue;
    }
    const room = limit - out.length - ELLIPSIS.length;
    if (
      room > 0 &&
      (span.kind === "text" || span.kind === "bold" || span.kind === "italic" || span.kind === "code")
    ) {
      out += spanToMrkdwn({ ...span, text: fitText(span, room) });
    }
    return out + ELLIPSIS;
  }
  return out;
}

/** Longest prefix of a textual span's text whose rendering fits in `room` chars. */
function fitText(span: Extract<Span, { text: string }>, room: number): string {
  let lo = 0;
  let hi = span.text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (spanToMrkdwn({ ...span, text: span.text.slice(0, mid) } as Span).length <= room) lo = mid;
    else hi = mid - 1;
  }
  return span.text.slice(0, lo);
}

/** Cuts already-rendered mrkdwn without splitting an `&amp;` entity or a `<…>` link. */
function cutMrkdwn(s: string, limit: number): string {
  if (s.length <= limit) return s;
  let cut = s.slice(0, limit - ELLIPSIS.length);
  cut = cut.replace(/&[a-z]*$/, "").replace(/<[^>]*$/, "");
  return cut + ELLIPSIS;
}

function mrkdwn(text: string): SlackText {
  return { type: "mrkdwn", text };
}

function codeBlock(text: string, limit: number): string {
  // A triple backtick inside would close the block early: break it with zero-width spaces.
  const body = escapeMrkdwn(text).replace(/```/g, "`\u200b`\u200b`");
  const room = limit - 8;
  const cut = body.length > room ? cutMrkdwn(body, room) : body;
  return "```\n" + cut + "\n```";
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + ELLIPSIS;
}

/** A button, or undefined when even its bare command does not fit in a value (it could not work). */
function button(action: Action, n: number): SlackButton | undefined {
  const payload: SlackButtonValue = { command: action.command };
  if (action.value !== undefined) payload.value = action.value;
  let value = JSON.stringify(payload);
  // A truncated JSON value would be unparseable: drop the optional part instead.
  if (value.length > SLACK_LIMITS.buttonValue) value = JSON.stringify({ command: action.command });
  if (value.length > SLACK_LIMITS.buttonValue) return undefined;
  const btn: SlackButton = {
    type: "button",
    text: { type: "plain_text", text: clip(action.label, SLACK_LIMITS.buttonText) || "?", emoji: true },
    action_id: `gitops:${n}`,
    value,
  };
  if (action.style === "primary" || action.style === "danger") btn.style = action.style;
  return btn;
}

function pad(s: string, n: number): string {
  return s + " ".repeat(Math.max(0, n - [...s].length));
}

/** A table becomes an aligned code block; if cells hold links or mentions it becomes mrkdwn lines so they stay clickable. */
function table(block: Extract<Block, { kind: "table" }>): SlackBlock[] {
  const rich = block.rows.some((r) =>
    r.some((cell) => cell.some((s) => s.kind === "link" || s.kind === "mention")),
  );
  if (rich) {
    const header = block.columns.map((c) => wrapFormatted(c, "*", "\u2217")).join(" · ");
    const lines = block.rows.map((r) => r.map((cell) => richToMrkdwn(cell)).join(" · "));
    // Several sections rather than one cut section: every row stays visible (up to the block limit).
    const out: SlackBlock[] = [];
    let chunk = header;
    for (const line of lines) {
      const row = cutMrkdwn(line, SLACK_LIMITS.sectionText);
      if (chunk.length + 1 + row.length > SLACK_LIMITS.sectionText) {
        out.push({ type: "section", text: mrkdwn(chunk) });
        chunk = row;
      } else chunk = `${chunk}\n${row}`;
    }
    out.push({ type: "section", text: mrkdwn(chunk) });
    return out;
  }
  const rows = [block.columns, ...block.rows.map((r) => r.map(plain))];
  const widths = block.columns.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? "")].length)));
  const lines = rows.map((r) =>
    widths
      .map((w, i) => pad(r[i] ?? "", w))
      .join("  ")
      .trimEnd(),
  );
  return [{ type: "section", text: mrkdwn(codeBlock(lines.join("\n"), SLACK_LIMITS.sectionText)) }];
}

function renderBlock(block: Block, counter: { n: number }): SlackBlock[] {
  switch (block.kind) {
    case "text":
      return [{ type: "section", text: mrkdwn(richToMrkdwn(block.text, SLACK_LIMITS.sectionText)) }];
    case "facts": {
      const out: SlackBlock[] = [];
      for (let i = 0; i < block.facts.length; i += SLACK_LIMITS.fields) {
        const fields = block.facts.slice(i, i + SLACK_LIMITS.fields).map((f) => {
          const label = wrapFormatted(f.label, "*", "\u2217");
          return mrkdwn(label + "\n" + richToMrkdwn(f.value, SLACK_LIMITS.fieldText - label.length - 1));
        });
        out.push({ type: "section", fields });
      }
      return out;
    }
    case "code":
      return [{ type: "section", text: mrkdwn(codeBlock(block.text, SLACK_LIMITS.sectionText)) }];
    case "actions": {
      const buttons = block.actions.map((a) => button(a, counter.n++)).filter((x) => x !== undefined);
      const out: SlackBlock[] = [];
      for (let i = 0; i < buttons.length; i += SLACK_LIMITS.actionsElements) {
        out.push({ type: "actions", elements: buttons.slice(i, i + SLACK_LIMITS.actionsElements) });
      }
      return out;
    }
    case "context":
      return [{ type: "context", elements: [mrkdwn(richToMrkdwn(block.text, SLACK_LIMITS.sectionText))] }];
    case "divider":
      return [{ type: "divider" }];
    case "table":
      return table(block);
    default: {
      const never: never = block;
      throw new Error(`unhandled block ${JSON.stringify(never)}`);
    }
  }
}

/** Renders a Message for `chat.postMessage` / `chat.update` / `response_url`. */
export function renderSlack(msg: Message): SlackRendered {
  const counter = { n: 0 };
  let blocks: SlackBlock[] = [];
  if (msg.title && msg.title.length > 0) {
    // A section (not a `header` block): headers are plain text only and the title may hold a link.
    const title = mergeSpans(
      msg.title.map((s) => (s.kind === "text" ? ({ kind: "bold", text: s.text } as Span) : s)),
    );
    blocks.push({ type: "section", text: mrkdwn(richToMrkdwn(title, SLACK_LIMITS.sectionText)) });
  }
  for (const block of msg.blocks) blocks.push(...renderBlock(block, counter));
  if (blocks.length > SLACK_LIMITS.blocks) {
    const dropped = blocks.length - (SLACK_LIMITS.blocks - 1);
    blocks = blocks.slice(0, SLACK_LIMITS.blocks - 1);
    blocks.push({ type: "context", elements: [mrkdwn(`${ELLIPSIS} ${dropped} more block(s) not shown`)] });
  }
  const text = cutMrkdwn(escapeMrkdwn(msg.fallbackText), SLACK_LIMITS.text);
  const color = SLACK_COLORS[msg.severity];
  if (color === undefined) return { text, blocks };
  return { text, blocks: [], attachments: [{ color, fallback: text, blocks }] };
}
