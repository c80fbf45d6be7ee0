/**
 * Golden tests for the three renderers over one shared set of IR messages, plus the invariants a
 * user depends on (limits, no pings or markup from user text, buttons carry their command).
 * `UPDATE_GOLDEN=1 npx vitest run test/unit/chat/render.test.ts` rewrites the golden files.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { renderText } from "../../../src/chat/shell/render.js";
import { renderSlack, SLACK_LIMITS, type SlackBlock } from "../../../src/chat/slack/render.js";
import { type CardElement, renderTeams } from "../../../src/chat/teams/render.js";
import type { Block, Span } from "../../../src/core/message.js";
import { goldenMessages } from "../../golden/messages.js";

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), "../../golden");
const update = process.env["UPDATE_GOLDEN"] === "1";

function golden(sub: string, file: string, actual: string): void {
  const path = join(goldenDir, sub, file);
  if (update) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  expect(existsSync(path), `missing golden ${path}; run with UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(readFileSync(path, "utf8"));
}

const renderers = {
  slack: {
    ext: "json",
    render: (m: (typeof goldenMessages)[string]) => JSON.stringify(renderSlack(m), null, 2) + "\n",
  },
  teams: {
    ext: "json",
    render: (m: (typeof goldenMessages)[string]) => JSON.stringify(renderTeams(m), null, 2) + "\n",
  },
  text: { ext: "txt", render: (m: (typeof goldenMessages)[string]) => renderText(m, { color: false }) },
};

describe("golden files", () => {
  for (const [name, msg] of Object.entries(goldenMessages)) {
    for (const [platform, r] of Object.entries(renderers)) {
      it(`${platform}/${name}`, () => golden(platform, `${name}.${r.ext}`, r.render(msg)));
    }
  }

  it("the shared set covers every block kind and span kind", () => {
    const blockKinds = {
      text: 0,
      facts: 0,
      code: 0,
      actions: 0,
      context: 0,
      divider: 0,
      table: 0,
    } satisfies Record<Block["kind"], number>;
    const spanKinds = { text: 0, bold: 0, italic: 0, code: 0, link: 0, mention: 0 } satisfies Record<
      Span["kind"],
      number
    >;
    const spans = (ss: Span[]) => {
      for (const s of ss) spanKinds[s.kind]++;
    };
    for (const m of Object.values(goldenMessages)) {
      if (m.title) spans(m.title);
      for (const blk of m.blocks) {
        blockKinds[blk.kind]++;
        if (blk.kind === "text" || blk.kind === "context") spans(blk.text);
        if (blk.kind === "facts") for (const f of blk.facts) spans(f.value);
        if (blk.kind === "table") for (const r of blk.rows) for (const c of r) spans(c);
      }
    }
    expect(Object.entries(blockKinds).filter(([, n]) => n === 0)).toEqual([]);
    expect(Object.entries(spanKinds).filter(([, n]) => n === 0)).toEqual([]);
  });
});

function allSlackBlocks(msg: (typeof goldenMessages)[string]): SlackBlock[] {
  const r = renderSlack(msg);
  return [...r.blocks, ...(r.attachments ?? []).flatMap((a) => a.blocks)];
}

/** Every mrkdwn string (what Slack parses for pings, links and formatting). */
function slackTexts(blocks: SlackBlock[]): string[] {
  const out: string[] = [];
  for (const blk of blocks) {
    if (blk.type === "section") {
      if (blk.text) out.push(blk.text.text);
      for (const f of blk.fields ?? []) out.push(f.text);
    } else if (blk.type === "context") out.push(...blk.elements.map((e) => e.text));
  }
  return out;
}

describe("renderSlack", () => {
  it("keeps every message within Block Kit limits instead of throwing", () => {
    for (const msg of Object.values(goldenMessages)) {
      const blocks = allSlackBlocks(msg);
      expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
      for (const blk of blocks) {
        if (blk.type === "section") {
          expect(blk.text?.text.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
          expect(blk.fields?.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.fields);
          for (const f of blk.fields ?? []) expect(f.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
        }
        if (blk.type === "actions") {
          expect(blk.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.actionsElements);
          for (const e of blk.elements) {
            expect(e.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.buttonText);
            expect(e.value.length).toBeLessThanOrEqual(SLACK_LIMITS.buttonValue);
          }
        }
      }
    }
  });

  it("never lets user text ping a channel, open a link or inject markup", () => {
    const msg = goldenMessages["hostile"]!;
    const r = renderSlack(msg);
    const all = [r.text, ...slackTexts(allSlackBlocks(msg))].join("\n");
    expect(all).not.toMatch(/<!(channel|here|everyone)/);
    expect(all).not.toContain("<script>");
    expect(all).toContain("&lt;script&gt;");
    // The only `<…>` sequence left is the one real https link, with its `|` and `>` neutralised.
    expect(all.match(/<[^&]/g)).toEqual(["<h"]);
    expect(all).toContain("<https://x.test/?a=1&amp;b=&lt;2&gt;%7C3|a¦b&gt;c>");
    // Plain-text asterisks cannot pair up into bold.
    expect(slackTexts(allSlackBlocks(msg))[1]).not.toMatch(/(^|[^\u200b])\*bold/);
  });

  it("turns spans into mrkdwn and buttons into gitops:<n> actions carrying the command", () => {
    const r = renderSlack(goldenMessages["all-kinds"]!);
    expect(r.attachments?.[0]?.color).toBe("#2eb886");
    const blocks = r.attachments![0]!.blocks;
    const text = slackTexts(blocks).join("\n");
    expect(text).toContain("<@U0123ABC>");
    expect(text).toContain(" and @bob");
    expect(text).toContain("<https://github.com/org/repo/commit/810c2e6f00|commit 810c2e6>");
    expect(text).toContain("*done*");
    expect(text).toContain("_approved_");
    expect(text).toContain("`podinfo:1.2.3`");
    const actions = blocks.find((x) => x.type === "actions");
    expect(
      actions?.type === "actions" && actions.elements.map((e) => [e.action_id, JSON.parse(e.value)]),
    ).toEqual([
      ["gitops:0", { command: "rollback podinfo prod" }],
      ["gitops:1", { command: "lock podinfo prod" }],
      ["gitops:2", { command: "approve 42", value: "approve:42" }],
    ]);
  });

  it("drops a button whose command cannot fit instead of sending one that runs nothing", () => {
    const r = renderSlack({
      severity: "info",
      fallbackText: "x",
      blocks: [
        {
          kind: "actions",
          actions: [
            { label: "Huge", command: "x".repeat(2100) },
            { label: "Ok", command: "lock podinfo prod" },
          ],
        },
      ],
    });
    const actions = r.blocks[0];
    expect(actions?.type === "actions" && actions.elements.map((e) => [e.text.text, e.action_id])).toEqual([
      ["Ok", "gitops:1"],
    ]);
  });

  it("keeps a too-long button value parseable and still runnable", () => {
    const blocks = allSlackBlocks(goldenMessages["long"]!);
    const first = blocks.find((x) => x.type === "actions");
    expect(first?.type === "actions" && JSON.parse(first.elements[0]!.value)).toEqual({
      command: "promote podinfo stg prod",
    });
  });

  it("splits a long table with links over several sections instead of cutting rows off", () => {
    const rows = Array.from({ length: 40 }, (_, n) => [
      [{ kind: "text" as const, text: `app-${n}` }],
      [
        {
          kind: "link" as const,
          text: "commit",
          url: `https://github.com/org/config/commit/${"a".repeat(40)}${n}`,
        },
      ],
    ]);
    const r = renderSlack({
      severity: "info",
      fallbackText: "x",
      blocks: [{ kind: "table", columns: ["App", "Commit"], rows }],
    });
    const texts = slackTexts(r.blocks);
    expect(texts.length).toBeGreaterThan(1);
    for (const t of texts) expect(t.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    const all = texts.join("\n");
    for (let n = 0; n < 40; n++) expect(all).toContain(`app-${n} · <https://github.com/org/config/commit/`);
  });

  it("posts info messages without a colour bar", () => {
    const r = renderSlack(goldenMessages["plain-table"]!);
    expect(r.attachments).toBeUndefined();
    expect(r.blocks.length).toBe(2);
  });
});

function walkCard(el: unknown, visit: (e: CardElement) => void): void {
  if (Array.isArray(el)) for (const x of el) walkCard(x, visit);
  else if (el && typeof el === "object") {
    const o = el as CardElement;
    if (typeof o.type === "string") visit(o);
    for (const v of Object.values(o)) if (typeof v === "object") walkCard(v, visit);
  }
}

describe("renderTeams", () => {
  it("produces an Adaptive Card 1.4 with a severity style and Action.Submit data", () => {
    const card = renderTeams(goldenMessages["all-kinds"]!);
    expect(card.type).toBe("AdaptiveCard");
    expect(card.version).toBe("1.4");
    expect(card.$schema).toBe("http://adaptivecards.io/schemas/adaptive-card.json");
    expect(card.body[0]).toMatchObject({ type: "Container", style: "good" });
    const submits: CardElement[] = [];
    const types = new Set<string>();
    walkCard(card.body, (e) => {
      types.add(e.type);
      if (e.type === "Action.Submit") submits.push(e);
    });
    expect(submits.map((s) => s["data"])).toEqual([
      { gitops: { command: "rollback podinfo prod" } },
      { gitops: { command: "lock podinfo prod" } },
      { gitops: { command: "approve 42", value: "approve:42" } },
    ]);
    expect([...types]).toEqual(
      expect.arrayContaining(["TextBlock", "FactSet", "ColumnSet", "ActionSet", "RichTextBlock"]),
    );
    expect(card.msteams?.entities).toEqual([
      { type: "mention", text: "<at>bob</at>", mentioned: { id: "29:1abcDEF", name: "bob" } },
    ]);
  });

  it("escapes Markdown and HTML in user text", () => {
    const card = renderTeams(goldenMessages["hostile"]!);
    const texts: string[] = [];
    walkCard(card.body, (e) => {
      if (e.type === "TextBlock") texts.push(String(e["text"]));
    });
    const all = texts.join("\n");
    expect(all).not.toMatch(/(^|[^\\])<(script|at|!channel)/);
    expect(all).not.toMatch(/(^|[^\\])\*bold/);
    expect(all).not.toMatch(/(^|[^\\])\]\(javascript:/);
    expect(all).toContain("1\\. not a list\n\n\\- not a bullet");
    // The one real link keeps working, with the characters that would end it encoded.
    expect(all).toContain("(https://x.test/?a=1&b=%3C2%3E|3)");
  });

  it("keeps line breaks (Teams folds a single newline into a space)", () => {
    const card = renderTeams({
      severity: "info",
      fallbackText: "x",
      blocks: [{ kind: "text", text: [{ kind: "text", text: "one\ntwo\n\nthree" }] }],
    });
    const items = (card.body[0] as unknown as { items: { text: string }[] }).items;
    expect(items[0]!.text).toBe("one\n\ntwo\n\nthree");
  });

  it("stays under the Teams payload size", () => {
    const card = renderTeams(goldenMessages["long"]!);
    expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThan(28_000);
  });
});

describe("renderText", () => {
  it("strips terminal control sequences from user text", () => {
    const out = renderText(
      {
        severity: "info",
        fallbackText: "x",
        blocks: [{ kind: "text", text: [{ kind: "text", text: "a\u001b[2Jb\rc" }] }],
      },
      { color: false },
    );
    expect(out).not.toMatch(/[\u001b\r]/);
  });

  it("uses ANSI colours only when asked", () => {
    const msg = goldenMessages["all-kinds"]!;
    expect(renderText(msg, { color: false })).not.toMatch(/\u001b\[/);
    const colored = renderText(msg, { color: true });
    expect(colored).toMatch(/\u001b\[/);
    expect(colored).toContain("rollback podinfo prod");
  });
});
