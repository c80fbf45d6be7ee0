import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { teamsCommands, withCommands } from "../../../scripts/teams-manifest.js";
import { commands } from "../../../src/bot/commands/index.js";

describe("Teams manifest command list", () => {
  it("is generated from the registry within Teams' limits", () => {
    const list = teamsCommands();
    expect(list.length).toBeLessThanOrEqual(10);
    expect(list[0]?.title).toBe("help");
    const names = new Set(commands.map((c) => c.name));
    for (const c of list) {
      expect(names.has(c.title)).toBe(true);
      expect(c.title.length).toBeLessThanOrEqual(32);
      expect(c.description.length).toBeLessThanOrEqual(128);
    }
  });
  it("manifest.json is up to date (npx tsx scripts/teams-manifest.ts)", () => {
    const text = readFileSync(resolve(import.meta.dirname, "../../../manifest.json"), "utf8");
    expect(`${JSON.stringify(withCommands(JSON.parse(text)), null, 2)}\n`).toBe(text);
  });
});
