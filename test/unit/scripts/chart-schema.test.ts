import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CHART_DIR, renderValuesSchema, withValuesTable } from "../../../scripts/chart-schema.js";
import { parseConfig } from "../../../src/config/load.js";

const read = (p: string) => readFileSync(join(CHART_DIR, p), "utf8");
const schema = JSON.parse(read("values.schema.json")) as {
  properties: Record<string, { description?: string; properties?: Record<string, unknown> }>;
};
const ciFiles = readdirSync(join(CHART_DIR, "ci")).filter((f) => f.endsWith("-values.yaml"));

describe("the chart's values.schema.json", () => {
  it("is up to date with src/config/schema.ts and scripts/chart-schema.ts (run `npm run chart:schema`)", () => {
    expect(read("values.schema.json")).toBe(renderValuesSchema());
    expect(read("README.md")).toBe(
      withValuesTable(read("README.md"), renderValuesSchema(), read("values.yaml")),
    );
  });

  it("types and describes every top-level key of values.yaml (and no key values.yaml lacks)", () => {
    const values = parse(read("values.yaml")) as Record<string, unknown>;
    for (const key of Object.keys(values)) {
      expect(schema.properties[key], `values.yaml key ${key}`).toBeDefined();
      expect(schema.properties[key]?.description, `description of ${key}`).toBeTruthy();
    }
    const extra = Object.keys(schema.properties).filter((k) => !(k in values) && k !== "global");
    expect(extra).toEqual([]);
  });

  it("takes `config` from the bot's configuration schema, with ${ENV_VAR} allowed where a number goes", () => {
    const config = schema.properties["config"] as {
      additionalProperties: boolean;
      properties: Record<string, { properties: Record<string, { anyOf?: { pattern?: string }[] }> }>;
    };
    expect(config.additionalProperties).toBe(false);
    expect(Object.keys(config.properties)).toEqual(
      expect.arrayContaining(["repo", "slack", "teams", "sync"]),
    );
    const port = config.properties["http"]?.properties["port"];
    expect(port?.anyOf?.some((a) => a.pattern?.includes("\\$\\{"))).toBe(true);
  });

  it("the config of values.yaml and of every ci/*-values.yaml passes the bot's own validation", () => {
    expect(ciFiles.length).toBeGreaterThanOrEqual(3);
    const env = new Proxy({} as Record<string, string>, { get: (_t, k) => `value-of-${String(k)}` });
    const base = (parse(read("values.yaml")) as { config: Record<string, unknown> }).config;
    for (const file of ["values.yaml", ...ciFiles.map((f) => `ci/${f}`)]) {
      const values = (parse(read(file)) ?? {}) as { config?: Record<string, unknown> };
      const cfg = parseConfig({ ...base, ...values.config }, env, file);
      expect(cfg.repo.url, file).toMatch(/^https:/);
    }
  });
});
