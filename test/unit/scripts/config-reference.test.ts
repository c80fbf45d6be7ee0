import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { CONFIG_REFERENCE_PATH, renderConfigReference } from "../../../scripts/config-reference.js";
import { configSchema } from "../../../src/config/schema.js";

describe("config reference (docs/configuration.md)", () => {
  it("is up to date with src/config/schema.ts (run `npm run docs:config` when this fails)", async () => {
    const current = await readFile(CONFIG_REFERENCE_PATH, "utf8");
    expect(current).toBe(renderConfigReference(configSchema));
  });

  it("walks nested objects, lists, maps, enums, unions, discriminated unions and defaults generically", () => {
    const schema = z
      .object({
        name: z.string().default("x").describe("A name."),
        section: z
          .object({
            mode: z.enum(["a", "b"]).default("a").describe("Mode | with pipe."),
            limit: z.number().int().min(1).max(5).optional().describe("Limit."),
            nested: z.object({ deep: z.boolean().describe("Deep.") }).describe("Nested."),
            tags: z.array(z.string()).default([]).describe("Tags."),
            items: z.array(z.object({ id: z.string().describe("Id.") })).describe("Items."),
            byName: z.record(z.string(), z.object({ url: z.string().describe("URL.") })).describe("Map."),
            either: z.union([z.number(), z.string()]).describe("Either."),
            targets: z
              .array(
                z.discriminatedUnion("kind", [
                  z.object({ kind: z.literal("slack"), channel: z.string().describe("Channel.") }),
                  z.object({ kind: z.literal("hook"), url: z.string().describe("Hook URL.") }),
                ]),
              )
              .describe("Targets."),
          })
          .describe("A section."),
      })
      .describe("test config");
    const md = renderConfigReference(schema);
    const rows = md.split("\n").filter((l) => l.startsWith("| `"));
    const row = (key: string) => rows.find((r) => r.startsWith(`| \`${key}\` |`));
    expect(row("name")).toBe('| `name` | string | `"x"` | A name. |');
    expect(md).toContain("## `section`\n\nA section.");
    expect(row("section.mode")).toBe('| `section.mode` | `"a"` \\| `"b"` | `"a"` | Mode \\| with pipe. |');
    expect(row("section.limit")).toContain("integer (1–5)");
    expect(row("section.nested")).toContain("required");
    expect(row("section.nested.deep")).toBe("| `section.nested.deep` | boolean | required | Deep. |");
    expect(row("section.tags")).toContain("| list of string | `[]` |");
    expect(row("section.items[].id")).toContain("Id.");
    expect(row("section.byName")).toContain("map of object");
    expect(row("section.byName.<name>.url")).toContain("URL.");
    expect(row("section.either")).toContain("number \\| string");
    expect(row("section.targets[].(kind=slack).channel")).toContain("Channel.");
    expect(row("section.targets[].(kind=hook).url")).toContain("Hook URL.");
  });
});
