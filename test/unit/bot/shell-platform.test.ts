import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { Invocation } from "../../../src/bot/platform.js";
import { ShellPlatform } from "../../../src/bot/platforms/shell/platform.js";
import type { Message } from "../../../src/core/message.js";

const msg = (text: string): Message => ({
  title: [{ kind: "text", text }],
  severity: "info",
  blocks: [],
  fallbackText: text,
});

describe("ShellPlatform", () => {
  it("turns lines into invocations, accepts /gitops, skips blanks and comments, stops at exit", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let out = "";
    output.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const shell = new ShellPlatform({ input, output, user: { id: "shell:test", name: "test" } });
    const seen: Invocation[] = [];
    shell.onInvocation(async (inv, responder) => {
      seen.push(inv);
      // A notification posted during the command prints after the reply.
      shell.notify(msg(`notice for ${inv.text}`));
      await responder.reply(msg(`reply to ${inv.text}`));
    });
    input.end("status\n\n# a comment\n/gitops help promote\nEXIT\nstatus\n");
    await shell.start();
    expect(seen.map((i) => i.text)).toEqual(["status", "help promote"]);
    expect(new Set(seen.map((i) => i.id)).size).toBe(2);
    expect(seen[0]).toMatchObject({ platform: "shell", channel: "shell", user: { id: "shell:test" } });
    expect(out.indexOf("reply to status")).toBeLessThan(out.indexOf("notice for status"));
    expect(out).toContain("gitops> status");
  });
  it("renders without escape codes when not a TTY", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let out = "";
    output.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const shell = new ShellPlatform({ input, output });
    await shell.send("shell", msg("hello \u001b[2J world"));
    expect(out).toContain("hello");
    expect(out).not.toContain("\u001b[2J");
  });
});
