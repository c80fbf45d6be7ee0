/**
 * The platform-neutral message IR (DESIGN.md "Core abstractions"). Every reply and every
 * notification is a `Message`; each platform has one pure renderer that switches exhaustively
 * over `Block["kind"]` and `Span["kind"]`, so adding a kind breaks the build until all render it.
 *
 * Rich text is structured, never Slack mrkdwn or Markdown strings: renderers escape plain text.
 */

/** One run of inline text. */
export type Span =
  | { kind: "text"; text: string }
  | { kind: "bold"; text: string }
  | { kind: "italic"; text: string }
  | { kind: "code"; text: string }
  | { kind: "link"; text: string; url: string }
  | { kind: "mention"; userId: string; name?: string };

/** Inline rich text: a list of spans. */
export type RichText = Span[];

export type Severity = "info" | "success" | "warning" | "error";

/** A button. Clicking it runs `command` (a command line such as `rollback podinfo prod`) through
 * the same pipeline as typed text: parse -> validate -> authorize -> confirm/approve -> run. */
export interface Action {
  label: string;
  /** Command text to run when clicked; the pipeline re-checks permissions at click time. */
  command: string;
  style?: "primary" | "danger" | "default";
  /** Opaque value the pipeline uses for approvals/confirmations (e.g. `approve:<id>`). */
  value?: string;
}

export type Block =
  | { kind: "text"; text: RichText }
  | { kind: "facts"; facts: { label: string; value: RichText }[] }
  | { kind: "code"; text: string; language?: string }
  | { kind: "actions"; actions: Action[] }
  | { kind: "context"; text: RichText }
  | { kind: "divider" }
  | { kind: "table"; columns: string[]; rows: RichText[][] };

export interface Message {
  title?: RichText;
  severity: Severity;
  blocks: Block[];
  /** Plain-text summary for notifications, screen readers and platforms that show no blocks. */
  fallbackText: string;
  /** `actor`: only the invoking user sees it (Slack ephemeral); `channel`: everyone. */
  visibility?: "channel" | "actor";
  /** Messages with the same key edit the earlier message (or thread under it). */
  updateKey?: string;
  /** Post as a reply in the thread of the message with this key instead of a new message. */
  threadKey?: string;
}

/** Helpers to build rich text without string formatting. */
export const t = (text: string): Span => ({ kind: "text", text });
export const b = (text: string): Span => ({ kind: "bold", text });
export const i = (text: string): Span => ({ kind: "italic", text });
export const code = (text: string): Span => ({ kind: "code", text });
export const link = (text: string, url: string): Span => ({ kind: "link", text, url });
export const mention = (userId: string, name?: string): Span =>
  name === undefined ? { kind: "mention", userId } : { kind: "mention", userId, name };

/** Plain text of rich text (no markup), for fallbacks, logs and tests. */
export function plain(text: RichText): string {
  return text.map(spanText).join("");
}

function spanText(s: Span): string {
  switch (s.kind) {
    case "text":
    case "bold":
    case "italic":
    case "code":
    case "link":
      return s.text;
    case "mention":
      return `@${s.name ?? s.userId}`;
  }
}

/** Plain text of a whole message, block by block, for the shell front end's fallback and tests. */
export function messageToPlainText(msg: Message): string {
  const lines: string[] = [];
  if (msg.title) lines.push(plain(msg.title));
  for (const block of msg.blocks) {
    switch (block.kind) {
      case "text":
      case "context":
        lines.push(plain(block.text));
        break;
      case "facts":
        for (const f of block.facts) lines.push(`${f.label}: ${plain(f.value)}`);
        break;
      case "code":
        lines.push(block.text);
        break;
      case "actions":
        lines.push(block.actions.map((a) => `[${a.label}]`).join(" "));
        break;
      case "divider":
        lines.push("---");
        break;
      case "table":
        lines.push(block.columns.join(" | "));
        for (const r of block.rows) lines.push(r.map(plain).join(" | "));
        break;
    }
  }
  return lines.join("\n");
}

/** Merges adjacent spans of the same textual kind, so that renderers never emit `*a**b*` (which
 * Slack and Markdown would not render as bold). */
export function mergeSpans(text: RichText): RichText {
  const out: Span[] = [];
  for (const s of text) {
    const prev = out[out.length - 1];
    if (
      prev &&
      prev.kind === s.kind &&
      (s.kind === "text" || s.kind === "bold" || s.kind === "italic" || s.kind === "code")
    ) {
      out[out.length - 1] = { kind: s.kind, text: (prev as { text: string }).text + s.text };
    } else out.push(s);
  }
  return out;
}
