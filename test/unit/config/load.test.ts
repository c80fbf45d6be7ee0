// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the config syntax under test is literally ${VAR}
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, configSecrets, loadConfig, parseConfig } from "../../../src/config/load.js";
import { Redactor } from "../../../src/core/redact.js";

describe("config loading", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "load-test-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reports every problem at once, each with its dotted path", () => {
    const err = (() => {
      try {
        parseConfig(
          { repo: { branch: 3, pushRetries: 99, backend: "svn" }, http: { port: -1 } },
          {},
          "test.yaml",
        );
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    const paths = problems.map((p) => p.path).sort();
    expect(paths).toEqual(["http.port", "repo.backend", "repo.branch", "repo.pushRetries", "repo.url"]);
    expect((err as ConfigError).message).toContain("test.yaml");
    expect((err as ConfigError).message).toContain("repo.url");
    expect((err as ConfigError).hint).toMatch(/gitops-bot check/);
  });

  it("interpolates ${ENV} and ${ENV:-default} after parsing, and reports unset variables with their path", async () => {
    const file = join(dir, "ok.yaml");
    await writeFile(
      file,
      [
        "repo:",
        "  url: https://git.example.com/${ORG}/config.git",
        "  branch: ${BRANCH:-main}",
        "  auth:",
        "    token: ${TOKEN}",
        "clusterName: ${CLUSTER:-dev}",
      ].join("\n"),
    );
    // A value containing YAML syntax stays a plain string.
    const cfg = await loadConfig(file, { ORG: "acme", TOKEN: "tok: [x]\n- y", CLUSTER: "" });
    expect(cfg.repo.url).toBe("https://git.example.com/acme/config.git");
    expect(cfg.repo.branch).toBe("main");
    expect(cfg.repo.auth.token).toBe("tok: [x]\n- y");
    expect(cfg.clusterName).toBe("dev");
    expect(configSecrets(cfg)).toContain("tok: [x]\n- y");

    const err = await loadConfig(file, { TOKEN: "t" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toContainEqual({
      path: "repo.url",
      message: "environment variable ORG is not set",
    });
    const empty = await loadConfig(file, { ORG: "", TOKEN: "t" }).catch((e: unknown) => e);
    expect((empty as ConfigError).problems).toContainEqual({
      path: "repo.url",
      message: "environment variable ORG is empty",
    });
  });

  it("spells list positions the same way in interpolation and validation problems", () => {
    const err = (() => {
      try {
        parseConfig({ repo: { url: "x" }, authz: { rules: [{ envs: "${NOPE}" }, { envs: [3] }] } }, {});
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    const paths = err?.problems.map((p) => p.path) ?? [];
    expect(paths).toContain("authz.rules[0].envs");
    expect(paths.some((p) => p.startsWith("authz.rules[1].envs"))).toBe(true);
  });

  it("reports unreadable files and invalid YAML clearly", async () => {
    await expect(loadConfig(join(dir, "missing.yaml"), {})).rejects.toMatchObject({ code: "no-config" });
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "repo: [unclosed\n");
    await expect(loadConfig(bad, {})).rejects.toMatchObject({ code: "bad-config" });
    const fromEnv = await loadConfig(undefined, { GITOPS_BOT_CONFIG: join(dir, "missing2.yaml") }).catch(
      (e: Error) => e,
    );
    expect((fromEnv as Error).message).toContain("missing2.yaml");
  });

  it("images: defaults without a section; registries' secrets and the webhook secret are redacted", () => {
    const none = parseConfig({ repo: { url: "x" } }, {});
    expect(none.images).toMatchObject({ interval: 60_000, platform: "linux/amd64", registries: [] });
    expect(none.images.enabled).toBeUndefined();
    const cfg = parseConfig(
      {
        repo: { url: "x" },
        images: {
          enabled: false,
          interval: "30s",
          webhookSecret: "hook-canary-1234",
          registries: [
            { host: "ghcr.io", auth: { username: "u", password: "pw-canary-1234", token: "tk-canary-1234" } },
          ],
        },
      },
      {},
    );
    expect(cfg.images.interval).toBe(30_000);
    expect(cfg.images.registries[0]).toMatchObject({ host: "ghcr.io", insecure: false, maxConcurrency: 4 });
    const secrets = configSecrets(cfg);
    for (const s of ["hook-canary-1234", "pw-canary-1234", "tk-canary-1234"]) expect(secrets).toContain(s);
    const printed = JSON.stringify(new Redactor(secrets).value(cfg));
    expect(printed).not.toMatch(/canary/);
    expect(() => parseConfig({ repo: { url: "x" }, images: { platform: "amd64" } }, {})).toThrow(
      /images.platform.*os\/architecture/s,
    );
    expect(() =>
      parseConfig({ repo: { url: "x" }, images: { registries: [{ host: "https://ghcr.io/x" }] } }, {}),
    ).toThrow(/images.registries\[0\].host/);
  });
});
