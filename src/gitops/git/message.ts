/**
 * Commit messages the bot writes and reads back: subject, optional body, and a final paragraph of
 * git trailers (`Key: value`, the format of `git interpret-trailers`). History and rollback read
 * the trailers back, so `parseCommitMessage(formatCommitMessage(m))` returns `m` (modulo the
 * normalisation documented on `formatCommitMessage`).
 */

import type { Identity } from "../config-repo.js";

/** Parsed commit message. `trailers` keep their order; keys may repeat. */
export interface CommitMessage {
  subject: string;
  body: string;
  trailers: [string, string][];
}

/** Trailer keys: what git accepts as a token (letters, digits, '-'), starting with a letter or digit. */
const TRAILER_KEY = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
const TRAILER_LINE = /^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]*(.*)$/;

/** Collapses whitespace runs containing line breaks or control chars into one space, trims. */
function oneLine(s: string): string {
  return s
    .replace(/[\u0000-\u001f\u007f]+/g, " ")
    .replace(/ {2,}/g, " ")
    .trim();
}

/**
 * Builds a commit message. Guarantees: the subject is one line; the body never ends with a block
 * that could be mistaken for trailers (a trailing `Key: value` paragraph in the body is separated
 * by the trailer block anyway, since trailers are always the last paragraph); trailer values are
 * one line. Throws on a trailer key that git would not accept.
 */
export function formatCommitMessage(m: {
  subject: string;
  body?: string;
  trailers?: [string, string][];
}): string {
  const subject = oneLine(m.subject) || "(no subject)";
  const body = (m.body ?? "")
    .replace(/\r\n?/g, "\n")
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "")
    .trim();
  const trailers = (m.trailers ?? []).map(([k, v]): [string, string] => {
    if (!TRAILER_KEY.test(k)) throw new Error(`invalid commit trailer key ${JSON.stringify(k)}`);
    return [k, oneLine(v)];
  });
  let out = subject;
  if (body) out += `\n\n${body}`;
  if (trailers.length > 0) out += `\n\n${trailers.map(([k, v]) => `${k}: ${v}`).join("\n")}`;
  return `${out}\n`;
}

/**
 * Parses a raw commit message (as stored by git) into subject, body and trailers. The trailer
 * block is the last paragraph when every line in it is `Key: value` or an indented continuation
 * line (folded values are unfolded with one space), and it is not the subject paragraph.
 */
export function parseCommitMessage(raw: string): CommitMessage {
  const text = raw.replace(/\r\n?/g, "\n").replace(/\n+$/, "");
  const paragraphs = text.split(/\n[ \t]*\n/);
  const subject = (paragraphs.shift() ?? "").replace(/\n/g, " ").trim();
  let trailers: [string, string][] = [];
  const last = paragraphs.at(-1);
  if (last !== undefined) {
    const parsed = parseTrailerBlock(last);
    if (parsed) {
      trailers = parsed;
      paragraphs.pop();
    }
  }
  return { subject, body: paragraphs.join("\n\n").trim(), trailers };
}

function parseTrailerBlock(block: string): [string, string][] | undefined {
  const out: [string, string][] = [];
  for (const line of block.split("\n")) {
    const m = TRAILER_LINE.exec(line);
    if (m) {
      out.push([m[1] as string, (m[2] as string).trim()]);
    } else if (/^[ \t]+\S/.test(line) && out.length > 0) {
      const prev = out[out.length - 1] as [string, string];
      prev[1] = `${prev[1]} ${line.trim()}`.trim();
    } else {
      return undefined;
    }
  }
  return out.length > 0 ? out : undefined;
}

/** `<`, `>` and line breaks would corrupt the commit header; git would strip them silently. */
export function sanitizeIdentity(who: Identity): Identity {
  const clean = (s: string) =>
    String(s ?? "")
      .replace(/[<>\u0000-\u001f\u007f]/g, "")
      .trim();
  return {
    name: clean(who.name) || "unknown",
    email: clean(who.email).replace(/\s+/g, "") || "unknown@localhost",
  };
}
