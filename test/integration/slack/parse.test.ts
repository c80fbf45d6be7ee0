/** Slack wire-format helpers (pure; kept next to the Slack integration tests they support). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buttonClickId,
  buttonClickPrefix,
  normaliseCommandText,
  parseButtonValue,
  slackSignature,
  verifySlackSignature,
} from "../../../src/bot/platforms/slack/parse.js";

const NOW = 1_700_000_000_000;

describe("verifySlackSignature", () => {
  it("accepts what it signed and rejects any change to body, timestamp or secret", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: -299, max: 299 }),
        fc.nat(),
        (bytes, skew, flip) => {
          const body = Buffer.from(bytes);
          const ts = String(Math.floor(NOW / 1000) + skew);
          const signature = slackSignature("secret", ts, body);
          expect(
            verifySlackSignature({
              signingSecret: "secret",
              rawBody: body,
              timestamp: ts,
              signature,
              nowMs: NOW,
            }),
          ).toEqual({
            ok: true,
          });
          expect(
            verifySlackSignature({
              signingSecret: "other",
              rawBody: body,
              timestamp: ts,
              signature,
              nowMs: NOW,
            }).ok,
          ).toBe(false);
          if (body.length > 0) {
            const changed = Buffer.from(body);
            const i = flip % changed.length;
            changed[i] = (changed[i] as number) ^ 1;
            expect(
              verifySlackSignature({
                signingSecret: "secret",
                rawBody: changed,
                timestamp: ts,
                signature,
                nowMs: NOW,
              }),
            ).toEqual({
              ok: false,
              reason: "bad-signature",
            });
          }
        },
      ),
    );
  });

  it("rejects timestamps more than 5 minutes away and malformed headers", () => {
    fc.assert(
      fc.property(fc.integer({ min: 301, max: 10_000_000 }), fc.boolean(), (skew, future) => {
        const ts = String(Math.floor(NOW / 1000) + (future ? skew : -skew));
        const signature = slackSignature("s", ts, "x");
        expect(
          verifySlackSignature({ signingSecret: "s", rawBody: "x", timestamp: ts, signature, nowMs: NOW }),
        ).toEqual({
          ok: false,
          reason: "stale-timestamp",
        });
      }),
    );
    const sig = slackSignature("s", "1", "x");
    expect(
      verifySlackSignature({ signingSecret: "s", rawBody: "x", timestamp: "1e9", signature: sig, nowMs: NOW })
        .ok,
    ).toBe(false);
    expect(
      verifySlackSignature({
        signingSecret: "s",
        rawBody: "x",
        timestamp: undefined,
        signature: sig,
        nowMs: NOW,
      }),
    ).toEqual({
      ok: false,
      reason: "missing-headers",
    });
  });
});

describe("normaliseCommandText", () => {
  it("keeps the line breaks of pasted multi-line text, so the one-line check can refuse it", () => {
    expect(normaliseCommandText("status\nrelease podinfo prod evil")).toBe(
      "status\nrelease podinfo prod evil",
    );
    expect(normaliseCommandText("status \r\n\n  release x")).toBe("status\nrelease x");
  });

  it("strips the bot mention and Slack markup, and is idempotent on plain text", () => {
    expect(normaliseCommandText("<@UBOT|gitops-bot>  promote\u00a0podinfo  stg prod", "UBOT")).toBe(
      "promote podinfo stg prod",
    );
    expect(normaliseCommandText("<@UOTHER> promote", "UBOT")).toBe("@UOTHER promote");
    expect(normaliseCommandText("approve <@U2|bob> <https://x.example/a?b=1&amp;c=2|link> &lt;tag&gt;")).toBe(
      "approve @bob https://x.example/a?b=1&c=2 <tag>",
    );
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 80 }), (s) => {
        const once = normaliseCommandText(s);
        expect(once).toBe(once.trim());
        expect(once).not.toMatch(/\s\s/);
        if (!/[<>&]/.test(s)) expect(normaliseCommandText(once)).toBe(once);
      }),
    );
  });
});

describe("parseButtonValue", () => {
  it("round-trips what the renderer writes and never throws on other values", () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), (command, value) => {
        const raw = JSON.stringify(value === undefined ? { command } : { command, value });
        expect(parseButtonValue(raw)).toEqual(value === undefined ? { command } : { command, value });
      }),
    );
    fc.assert(fc.property(fc.string(), (s) => void parseButtonValue(s)));
    expect(parseButtonValue('{"command":1}')).toBeUndefined();
    expect(parseButtonValue('{"command":"x","value":{}}')).toBeUndefined();
    expect(parseButtonValue("[]")).toBeUndefined();
  });
});

describe("button click ids", () => {
  it("share a prefix for one button, message and user", () => {
    const a = { messageTs: "1.1", userId: "U1", actionId: "gitops:0" };
    expect(buttonClickId({ ...a, actionTs: "2.2" }).startsWith(`${buttonClickPrefix(a)}:`)).toBe(true);
    expect(buttonClickId({ ...a, actionTs: "2.2" })).not.toBe(buttonClickId({ ...a, actionTs: "2.3" }));
  });
});
