/**
 * The first check of any command text, on every front end: a length cap, control, invisible and
 * bidi characters, Slack link markup, and lookalike letters mixed into Latin words. Every rejection
 * is a `UserError` that says which character, where, and why. Pure; used by `bot/parse.ts`.
 */
import { UserError } from "./errors.js";
import { printable } from "./names.js";

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}

/** Longest command text we accept (a 10 kB paste is a mistake or an attack). */
export const MAX_INPUT_LENGTH = 1000;

// Characters that render as nothing (or reorder text) and so let a pasted command differ from
// what the user sees: zero-width spaces/joiners, bidi overrides and isolates, BOM, soft hyphen,
// Hangul fillers. https://www.unicode.org/reports/tr36/ (Unicode security considerations)
const INVISIBLE_RANGES: [number, number][] = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x061c, 0x061c],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180e],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x2064],
  [0x2066, 0x206f],
  [0x3164, 0x3164],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
];
// Built from ranges: a literal class with combining marks trips up linters and readers alike.
const INVISIBLE = new RegExp(
  `[${INVISIBLE_RANGES.map(([a, z]) => (a === z ? `\\u${hex4(a)}` : `\\u${hex4(a)}-\\u${hex4(z)}`)).join("")}]`,
  "u",
);
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/u;
// Slack rewrites links, mentions and channels into `<http://x|x>`, `<@U123>`, `<#C1|name>`, `<!here>`.
const SLACK_MARKUP = /<[^<>\s]*(?:\|[^<>]*)?>/u;

/** Cyrillic, Greek and full-width letters that look like Latin ones (the usual spoofing set). */
const HOMOGLYPHS: Record<string, string> = {
  "\u0430": "a",
  "\u0435": "e",
  "\u043e": "o",
  "\u0440": "p",
  "\u0441": "c",
  "\u0443": "y",
  "\u0445": "x",
  "\u0456": "i",
  "\u0458": "j",
  "\u0455": "s",
  "\u04bb": "h",
  "\u0501": "d",
  "\u051b": "q",
  "\u051d": "w",
  "\u0410": "A",
  "\u0412": "B",
  "\u0415": "E",
  "\u041a": "K",
  "\u041c": "M",
  "\u041d": "H",
  "\u041e": "O",
  "\u0420": "P",
  "\u0421": "C",
  "\u0422": "T",
  "\u0425": "X",
  "\u0406": "I",
  "\u0408": "J",
  "\u03bf": "o",
  "\u03b1": "a",
  "\u03bd": "v",
  "\u03c1": "p",
  "\u03c4": "t",
  "\u03b9": "i",
  "\u03ba": "k",
  "\u0391": "A",
  "\u0392": "B",
  "\u0395": "E",
  "\u0396": "Z",
  "\u0397": "H",
  "\u0399": "I",
  "\u039a": "K",
  "\u039c": "M",
  "\u039d": "N",
  "\u039f": "O",
  "\u03a1": "P",
  "\u03a4": "T",
  "\u03a7": "X",
  "\u03a5": "Y",
  "\u0131": "i",
  "\u2010": "-",
  "\u2011": "-",
  "\u2012": "-",
  "\u2013": "-",
  "\u2212": "-",
  "\u2044": "/",
};

function codePoint(c: string): string {
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Describes a suspicious character for an error message: `"а" (U+0430, looks like "a")`. */
export function describeChar(c: string): string {
  const like =
    HOMOGLYPHS[c] ?? (/[\uff01-\uff5e]/u.test(c) ? String.fromCharCode(c.charCodeAt(0) - 0xfee0) : undefined);
  const shown = INVISIBLE.test(c) || CONTROL.test(c) ? "" : `"${c}" `;
  return `${shown}(${codePoint(c)}${like ? `, looks like "${like}"` : ""})`;
}

function isLookalike(c: string): boolean {
  return c in HOMOGLYPHS || /[\uff01-\uff5e]/u.test(c);
}

/**
 * Checks raw command text and throws a `UserError` for anything that should not be in a command:
 * over-long input, control characters, invisible characters, Slack link markup, and lookalike
 * letters mixed into a Latin word (`prоd` with a Cyrillic `о`).
 */
export function checkText(text: string): void {
  if (text.length > MAX_INPUT_LENGTH) {
    throw new UserError(
      `the command is too long (${text.length} characters; the limit is ${MAX_INPUT_LENGTH})`,
      {
        code: "too-long",
        hint: "Commands are short: a verb, an app, environments and maybe a tag. Type `help` for the list.",
      },
    );
  }
  const ctl = CONTROL.exec(text);
  if (ctl) {
    const nl = ctl[0] === "\n" || ctl[0] === "\r";
    throw new UserError(
      nl
        ? "the command spans several lines; a command is one line"
        : `the command contains a control character ${describeChar(ctl[0])} at position ${ctl.index + 1}`,
      { code: "bad-char", hint: "Retype the command on one line instead of pasting it." },
    );
  }
  const inv = INVISIBLE.exec(text);
  if (inv) {
    throw new UserError(
      `the command contains an invisible character ${describeChar(inv[0])} at position ${inv.index + 1}`,
      { code: "bad-char", hint: "It probably came with a copy-and-paste: retype the command by hand." },
    );
  }
  const markup = SLACK_MARKUP.exec(text);
  if (markup) {
    throw new UserError(`the command contains link markup ${printable(markup[0])}`, {
      code: "link-markup",
      hint: "The chat client turned part of the command into a link or mention. Wrap the names in `backticks` or retype them.",
    });
  }
  // A word that mixes Latin letters with lookalikes is a spoof; a word written wholly in another
  // script (a lock reason in Russian, say) is fine.
  for (const word of text.split(/\s+/u)) {
    if (!/[A-Za-z0-9]/u.test(word)) continue;
    for (const c of word) {
      if (isLookalike(c)) {
        throw new UserError(`"${printable(word)}" contains the character ${describeChar(c)}`, {
          code: "homoglyph",
          hint: "Retype the word with plain Latin letters.",
        });
      }
    }
  }
}
