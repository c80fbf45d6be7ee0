/**
 * Shell renderer: Message IR -> terminal text (pure). With `color`, picocolors styles are used;
 * without, the output is plain ASCII-friendly text (for pipes, logs and golden files).
 *
 * Guarantees: control characters in user text (ANSI escapes, carriage returns) are replaced, so a
 * commit subject or error text cannot rewrite the terminal.
 */
import pc from "picocolors";
import type { Action, Block, Message, RichText, Severity, Span } from "../../core/message.js";

export interface TextRenderOptions {
  color: boolean;
}

type Style = (s: string) => string;

interface Styles {
  bold: Style;
  italic: Style;
  code: Style;
  link: Style;
  dim: Style;
  severity: Record<Severity, Style>;
}

const id: Style = (s) => s;
const PLAIN: Styles = {
  bold: id,
  italic: id,
  code: id,
  link: id,
  dim: id,
  severity: { info: id, success: id, warning: id, error: id },
};
// Forced on: the caller decided (`color: true`), picocolors' own TTY detection must not override it.
const c = pc.createColors(true);
const COLOR: Styles = {
  bold: c.bold,
  italic: c.italic,
  code: c.cyan,
  link: c.underline,
  dim: c.dim,
  severity: { info: c.blue, success: c.green, warning: c.yellow, error: c.red },
};

const MARKS: Record<Severity, string> = { info: "i", success: "✓", warning: "!", error: "✗" };

/** Replaces C0/C1 control characters except newline and tab (terminal injection guard). */
export function sanitizeTerminal(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "�");
}

function span(s: Span, st: Styles): string {
  switch (s.kind) {
    case "text":
      return sanitizeTerminal(s.text);
    case "bold":
      return st.bold(sanitizeTerminal(s.text));
    case "italic":
      return st.italic(sanitizeTerminal(s.text));
    case "code":
      return st.code(`\`${sanitizeTerminal(s.text)}\``);
    case "link":
      return s.text === s.url || s.text === ""
        ? st.link(sanitizeTerminal(s.url))
        : `${sanitizeTerminal(s.text)} ${st.dim(`<${sanitizeTerminal(s.url)}>`)}`;
    case "mention":
      return st.bold(`@${sanitizeTerminal(s.name ?? s.userId)}`);
    default: {
      const never: never = s;
      throw new Error(`unhandled span ${JSON.stringify(never)}`);
    }
  }
}

function rich(text: RichText, st: Styles): string {
  return text.map((s) => span(s, st)).join("");
}

/** Visible width of text with any ANSI styling removed. */
function width(s: string): number {
  return [...s.replace(/\u001b\[[0-9;]*m/g, "")].length;
}

function padEnd(s: string, n: number): string {
  return s + " ".repeat(Math.max(0, n - width(s)));
}

function indent(s: string, by: string): string {
  return s
    .split("\n")
    .map((l) => by + l)
    .join("\n");
}

function action(a: Action, st: Styles): string {
  const label = sanitizeTerminal(a.label);
  const styled =
    a.style === "danger"
      ? st.severity.error(`[${label}]`)
      : a.style === "primary"
        ? st.bold(`[${label}]`)
        : `[${label}]`;
  return `${styled} ${st.dim(`→ ${sanitizeTerminal(a.command)}`)}`;
}

function block(b: Block, st: Styles): string {
  switch (b.kind) {
    case "text":
      return rich(b.text, st);
    case "facts": {
      const w = Math.max(0, ...b.facts.map((f) => width(sanitizeTerminal(f.label))));
      return b.facts
        .map((f) => `${st.dim(padEnd(sanitizeTerminal(f.label) + ":", w + 1))} ${rich(f.value, st)}`)
        .join("\n");
    }
    case "code":
      return indent(sanitizeTerminal(b.text), "    ");
    case "actions":
      return b.actions.map((a) => action(a, st)).join("\n");
    case "context":
      return st.dim(rich(b.text, st));
    case "divider":
      return st.dim("─".repeat(40));
    case "table": {
      const rows = [b.columns.map(sanitizeTerminal), ...b.rows.map((r) => r.map((c) => rich(c, st)))];
      const widths = b.columns.map((_, i) => Math.max(...rows.map((r) => width(r[i] ?? ""))));
      const line = (r: string[]) =>
        widths
          .map((w, i) => padEnd(r[i] ?? "", w))
          .join("  ")
          .trimEnd();
      const [head, ...body] = rows;
      return [st.bold(line(head ?? [])), ...body.map(line)].join("\n");
    }
    default: {
      const never: never = b;
      throw new Error(`unhandled block ${JSON.stringify(never)}`);
    }
  }
}

/** Renders a Message for a terminal: a severity mark and title, then blocks separated by blank lines. */
export function renderText(msg: Message, opts: TextRenderOptions): string {
  const st = opts.color ? COLOR : PLAIN;
  const parts: string[] = [];
  const mark = st.severity[msg.severity](MARKS[msg.severity]);
  if (msg.title && msg.title.length > 0) parts.push(st.bold(rich(msg.title, st)));
  for (const b of msg.blocks) {
    const s = block(b, st);
    if (s !== "") parts.push(s);
  }
  // Without title or blocks the fallback text is all there is; otherwise it would repeat them.
  if (parts.length === 0) parts.push(sanitizeTerminal(msg.fallbackText));
  return `${mark} ${parts.join("\n\n")}\n`;
}
