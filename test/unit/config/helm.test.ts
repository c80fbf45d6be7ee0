import { describe, expect, it } from "vitest";
import { configSchema } from "../../../src/config/schema.js";
import { isConfigRepo } from "../../../src/helm/chart-source.js";

const base = { repo: { url: "https://github.com/acme/config.git" } };

describe("helm config section", () => {
  it("has defaults a user can run with: helm on PATH, 4 at a time, v2 left to Flux when present", () => {
    const cfg = configSchema.parse(base);
    expect(cfg.helm).toMatchObject({ enabled: true, binary: "helm", concurrency: 4, v2: "flux" });
    expect(cfg.helm.timeout).toBeUndefined();
    expect(cfg.repo.aliases).toEqual([]);
  });

  it("reads durations and rejects a bad v2 mode with the allowed values", () => {
    const cfg = configSchema.parse({ ...base, helm: { timeout: "10m", interval: "1m", v2: "always" } });
    expect(cfg.helm).toMatchObject({ timeout: 600_000, interval: 60_000, v2: "always" });
    const bad = configSchema.safeParse({ ...base, helm: { v2: "sometimes" } });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain("flux");
  });

  it("repo.aliases name the config repo in HTTPS and SSH form, with or without .git", () => {
    const cfg = configSchema.parse({
      repo: { ...base.repo, aliases: ["git@github.com:fluxcd/helm-operator-get-started"] },
    });
    const repo = { url: cfg.repo.url, aliases: cfg.repo.aliases };
    expect(isConfigRepo("git@github.com:acme/config", repo)).toBe(true);
    expect(isConfigRepo("ssh://git@github.com/acme/config.git", repo)).toBe(true);
    expect(isConfigRepo("git@github.com:fluxcd/helm-operator-get-started", repo)).toBe(true);
    expect(isConfigRepo("https://github.com/fluxcd/helm-operator-get-started.git", repo)).toBe(true);
    expect(isConfigRepo("git@github.com:other/repo", repo)).toBe(false);
  });
});
