/** Teams wire-format helpers (pure; kept next to the Teams integration tests they support). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  baseConversationId,
  commandText,
  normaliseTeamsText,
  parseSubmitData,
  threadConversationId,
  threadOf,
} from "../../../src/bot/platforms/teams/parse.js";

describe("Teams command text", () => {
  it("removes the bot mention by entity, HTML and entities", () => {
    const activity = {
      type: "message",
      text: "<at>Gitops Bot</at> promote&nbsp;podinfo <at>Bob</at>",
      recipient: { id: "28:bot", name: "Gitops Bot" },
      entities: [
        { type: "mention", text: "<at>Gitops Bot</at>", mentioned: { id: "28:bot", name: "Gitops Bot" } },
        { type: "mention", text: "<at>Bob</at>", mentioned: { id: "29:bob", name: "Bob" } },
      ],
    };
    expect(commandText(activity)).toBe("promote podinfo @Bob");
    expect(activity.text).toContain("<at>Gitops Bot</at>"); // the activity is not modified
    expect(normaliseTeamsText("<p>/gitops status &amp; more</p>")).toBe("status & more");
    expect(normaliseTeamsText("gitops-bot help")).toBe("help");
  });

  it("never throws and yields trimmed single-spaced text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 80 }), (s) => {
        const out = normaliseTeamsText(s);
        expect(out).toBe(out.trim());
        expect(out).not.toMatch(/\s\s/);
      }),
    );
  });
});

describe("parseSubmitData", () => {
  it("accepts only { gitops: { command, value? } }", () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), (command, value) => {
        const data = { gitops: value === undefined ? { command } : { command, value } };
        expect(parseSubmitData(data)).toEqual(data.gitops);
      }),
    );
    fc.assert(fc.property(fc.anything(), (v) => void parseSubmitData(v)));
    expect(parseSubmitData({ gitops: { command: 3 } })).toBeUndefined();
    expect(parseSubmitData({ other: {} })).toBeUndefined();
  });
});

describe("conversation ids", () => {
  it("split and join the thread part", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^19:[a-z0-9]{1,10}@thread\.tacv2$/),
        fc.stringMatching(/^[0-9]{1,13}$/),
        (base, thread) => {
          const id = threadConversationId(base, thread);
          expect(baseConversationId(id)).toBe(base);
          expect(threadOf(id)).toBe(thread);
          expect(threadConversationId(id, thread)).toBe(id);
        },
      ),
    );
    expect(baseConversationId("a:chat")).toBe("a:chat");
    expect(threadOf("a:chat")).toBeUndefined();
  });
});
