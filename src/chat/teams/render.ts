/**
 * Teams renderer: Message IR -> Adaptive Card 1.4 (pure, no I/O). 1.4 renders on every Teams
 * client (desktop, web, mobile).
 *
 * Guarantees: plain text is Markdown-escaped so user text cannot format or link; mentions become
 * `<at>` entities Teams resolves; the card stays below Teams' ~28 KB activity limit by dropping
 * trailing elements (with a note) instead of failing.
 * https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-format
 */
import {
  type Action,
  type Block,
  type Message,
  mergeSpans,
  type RichText,
  type Severity,
  type Span,
} from "../../core/message.js";

/** Limits we enforce. Teams rejects activities above ~28 KB; we leave room for the envelope. */
export const TEAMS_LIMITS = {
  cardBytes: 24_000,
  textBlock: 5000,
  /** Teams shows at most 6 actions in an ActionSet on most clients. */
  actions: 6,
  tableRows: 50,
} as const;

/** A loosely typed Adaptive Card element (the schema is large; we emit a known subset). */
export interface CardElement {
  type: string;
  [key: string]: unknown;
}

export interface AdaptiveCard {
  type: "AdaptiveCard";
  $schema: "http://adaptivecards.io/schemas/adaptive-card.json";
  version: "1.4";
  body: CardElement[];
  msteams?: { width?: "Full"; entities?: TeamsMentionEntity[] };
  /** Plain-text fallback (shown by hosts that cannot render the card, and in notifications). */
  fallbackText?: string;
}

export interface TeamsMentionEntity {
  type: "mention";
  text: string;
  mentioned: { id: string; name: string };
}

/** What Action.Submit sends back in `activity.value`; the Teams platform parses it. */
export interface TeamsSubmitData {
  gitops: { command: string; value?: string };
}

/** Container style per severity (Adaptive Card container styles). */
export const TEAMS_STYLES: Record<Severity, "accent" | "good" | "warning" | "attention"> = {
  info: "accent",
  success: "good",
  warning: "warning",
  error: "attention",
};

const ELLIPSIS = "…";

/**
 * Backslash-escapes what Teams' Markdown subset interprets (bold, italic, links, lists: CommonMark
 * escapes). `<` is escaped so user text cannot open an `<at>` mention; other characters (backticks,
 * `#`, `>`) have no meaning in cards and stay as they are so text copies cleanly.
 */
export function escapeTeamsMarkdown(s: string): string {
  return s
    .replace(/[\\*_[\]<]/g, "\\$&")
    .replace(/^(\s*)([#+-])/gm, "$1\\$2")
    .replace(/^(\s*\d+)\./gm, "$1\\.");
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + ELLIPSIS;
}

function wrap(text: string, delim: string): string {
  // Markdown emphasis must hug non-space text: keep edge spaces outside the delimiters.
  const m = /^(\s*)(.*?)(\s*)$/s.exec(text);
  const [lead, body, trail] = m ? [m[1] ?? "", m[2] ?? "", m[3] ?? ""] : ["", text, ""];
  if (body === "") return text;
  return `${lead}${delim}${escapeTeamsMarkdown(body)}${delim}${trail}`;
}

const TEAMS_USER_ID =
  /^(29:[A-Za-z0-9_-]+|8:orgid:[0-9a-f-]{36}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
const SAFE_URL = /^(https?:\/\/|mailto:)/i;

class Ctx {
  entities: TeamsMentionEntity[] = [];
  span(span: Span): string {
    switch (span.kind) {
      case "text":
        return escapeTeamsMarkdown(span.text);
      case "bold":
        return wrap(span.text, "**");
      case "italic":
        return wrap(span.text, "_");
      case "code":
        // Cards have no inline code: literal backticks mark it, the content is escaped like text.
        return "`" + escapeTeamsMarkdown(span.text) + "`";
      case "link": {
        if (!SAFE_URL.test(span.url)) return escapeTeamsMarkdown(span.text);
        const url = span.url.replace(/[()<>\s]/g, (c) => encodeURIComponent(c));
        return `[${escapeTeamsMarkdown(span.text || span.url)}](${url})`;
      }
      case "mention": {
        const name = (span.name ?? span.userId).replace(/[<>]/g, "");
        const id = span.userId.replace(/^teams:/, "");
        // Only a Teams user id (`29:…` or an AAD object id) can be mentioned; Teams rejects the
        // whole activity for a bad entity. Another platform's id (`slack:U1`) shows as a name.
        if (!TEAMS_USER_ID.test(id)) return escapeTeamsMarkdown(`@${name}`);
        const text = `<at>${name}</at>`;
        if (!this.entities.some((e) => e.mentioned.id === id)) {
          this.entities.push({ type: "mention", text, mentioned: { id, name } });
        }
        return text;
      }
      default: {
        const never: never = span;
        throw new Error(`unhandled span ${JSON.stringify(never)}`);
      }
    }
  }
  /** Rich text as TextBlock Markdown. A single newline would be folded into a space by Teams: doubled. */
  rich(text: RichText, limit: number = TEAMS_LIMITS.textBlock): string {
    return this.richRaw(text, limit).replace(/(?<!\n)\n(?!\n)/g, "\n\n");
  }

  private richRaw(text: RichText, limit: number): string {
    let out = "";
    for (const s of mergeSpans(text)) {
      const piece = this.span(s);
      if (out.length + piece.length > limit) {
        // Cut on a span boundary only: a half span could leave an unbalanced `**` or `[`.
        if (s.kind === "text") out += fitText(s.text, limit - out.length - ELLIPSIS.length);
        return out + ELLIPSIS;
      }
      out += piece;
    }
    return out;
  }
}

/** Longest escaped prefix of `text` that fits in `room` chars. */
function fitText(text: string, room: number): string {
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (escapeTeamsMarkdown(text.slice(0, mid)).length <= room) lo = mid;
    else hi = mid - 1;
  }
  return escapeTeamsMarkdown(text.slice(0, lo));
}

function textBlock(text: string, extra: Record<string, unknown> = {}): CardElement {
  return { type: "TextBlock", text, wrap: true, ...extra };
}

function submit(a: Action): CardElement {
  const data: TeamsSubmitData = { gitops: { command: a.command } };
  if (a.value !== undefined) data.gitops.value = a.value;
  const el: CardElement = { type: "Action.Submit", title: clip(a.label, 75), data };
  if (a.style === "primary") el["style"] = "positive";
  if (a.style === "danger") el["style"] = "destructive";
  return el;
}

function plainCell(text: RichText, ctx: Ctx): string {
  return ctx.rich(text, 1000);
}

function renderBlock(block: Block, ctx: Ctx): CardElement[] {
  switch (block.kind) {
    case "text":
      return [textBlock(ctx.rich(block.text))];
    case "facts":
      return [
        {
          type: "FactSet",
          facts: block.facts.map((f) => ({
            title: escapeTeamsMarkdown(clip(f.label, 200)),
            value: ctx.rich(f.value, 2000),
          })),
        },
      ];
    case "code":
      // A RichTextBlock TextRun is never parsed as Markdown, so code (error output) shows verbatim
      // without escapes; fenced blocks are not supported in cards.
      return [
        {
          type: "RichTextBlock",
          inlines: [
            {
              type: "TextRun",
              text: clip(block.text, TEAMS_LIMITS.textBlock),
              fontType: "Monospace",
              size: "Small",
            },
          ],
        },
      ];
    case "actions": {
      if (block.actions.length === 0) return [];
      const shown = block.actions.slice(0, TEAMS_LIMITS.actions).map(submit);
      return [{ type: "ActionSet", actions: shown }];
    }
    case "context":
      return [textBlock(ctx.rich(block.text), { isSubtle: true, size: "Small" })];
    case "divider":
      // Adaptive Cards have no divider element: an empty container with a separator line.
      return [{ type: "Container", separator: true, spacing: "Medium", items: [] }];
    case "table": {
      const row = (cells: string[], header: boolean): CardElement => ({
        type: "ColumnSet",
        columns: block.columns.map((_, i) => ({
          type: "Column",
          width: "stretch",
          items: [textBlock(cells[i] ?? "", header ? { weight: "Bolder" } : {})],
        })),
      });
      const rows = block.rows.slice(0, TEAMS_LIMITS.tableRows).map((r) =>
        row(
          r.map((c) => plainCell(c, ctx)),
          false,
        ),
      );
      const out = [row(block.columns.map(escapeTeamsMarkdown), true), ...rows];
      if (block.rows.length > TEAMS_LIMITS.tableRows) {
        out.push(
          textBlock(`${ELLIPSIS} ${block.rows.length - TEAMS_LIMITS.tableRows} more row(s)`, {
            isSubtle: true,
          }),
        );
      }
      return out;
    }
    default: {
      const never: never = block;
      throw new Error(`unhandled block ${JSON.stringify(never)}`);
    }
  }
}

/** Renders a Message as an Adaptive Card 1.4 (wrap in an attachment `application/vnd.microsoft.card.adaptive`). */
export function renderTeams(msg: Message): AdaptiveCard {
  const ctx = new Ctx();
  const items: CardElement[] = [];
  if (msg.title && msg.title.length > 0) {
    items.push(textBlock(ctx.rich(msg.title, 500), { weight: "Bolder", size: "Medium" }));
  }
  for (const block of msg.blocks) items.push(...renderBlock(block, ctx));
  const card: AdaptiveCard = {
    type: "AdaptiveCard",
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    version: "1.4",
    body: [{ type: "Container", style: TEAMS_STYLES[msg.severity], bleed: true, items }],
    msteams: { width: "Full" },
    fallbackText: clip(msg.fallbackText, 1000),
  };
  if (ctx.entities.length > 0) card.msteams = { width: "Full", entities: ctx.entities };
  // Size guard: drop trailing elements until the card fits, then say so.
  let dropped = 0;
  while (Buffer.byteLength(JSON.stringify(card)) > TEAMS_LIMITS.cardBytes && items.length > 1) {
    items.pop();
    dropped++;
  }
  if (dropped > 0)
    items.push(textBlock(`${ELLIPSIS} ${dropped} more element(s) not shown`, { isSubtle: true }));
  return card;
}
