/** The shipped example configuration stays valid, and says which variables it needs. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, configSecrets, loadConfig } from "../../../src/config/load.js";

const file = join(import.meta.dirname, "../../../examples/gitops-bot.yaml");
const env = {
  GIT_TOKEN: "ghp_exampletoken000000000000000000000",
  SLACK_SIGNING_SECRET: "signing-secret-example",
  SLACK_BOT_TOKEN: "xoxb-1-example",
  TEAMS_APP_ID: "00000000-0000-0000-0000-000000000001",
  TEAMS_APP_PASSWORD: "teams-password-example",
  TEAMS_TENANT_ID: "00000000-0000-0000-0000-000000000002",
  GIT_WEBHOOK_SECRET: "webhook-secret-example",
  AUDIT_WEBHOOK_SECRET: "audit-secret-example",
  REGISTRY_WEBHOOK_SECRET: "registry-secret-example",
  GHCR_TOKEN: "ghcr-token-example",
};

describe("examples/gitops-bot.yaml", () => {
  it("loads with its variables set: Slack over HTTP, Teams authenticated, prod routed to its own channel", async () => {
    const cfg = await loadConfig(file, env);
    expect(cfg.clusterName).toBe("prod-eu-1");
    expect(cfg.slack?.appToken).toBeUndefined();
    expect(cfg.teams?.appId).toBe(env.TEAMS_APP_ID);
    expect(cfg.authz.protectedEnvs).toEqual(["prod"]);
    expect(cfg.sync.interval).toBe(120_000);
    expect(cfg.notifications.destinations.map((d) => d.name)).toEqual([
      "deploys",
      "prod-alerts",
      "teams-releases",
      "audit",
    ]);
    expect(cfg.notifications.reports.map((r) => r.name)).toEqual(["morning", "problems"]);
    expect(cfg.images).toMatchObject({ interval: 60_000, platform: "linux/amd64" });
    expect(cfg.images.registries.map((r) => r.host)).toEqual(["ghcr.io", "registry.example.com"]);
    // Every secret it references is known to the redactor.
    const secrets = configSecrets(cfg);
    for (const k of [
      "GIT_TOKEN",
      "SLACK_BOT_TOKEN",
      "TEAMS_APP_PASSWORD",
      "AUDIT_WEBHOOK_SECRET",
      "REGISTRY_WEBHOOK_SECRET",
      "GHCR_TOKEN",
    ] as const)
      expect(secrets).toContain(env[k]);
  });

  it("names every variable that is missing, at once", async () => {
    const err = await loadConfig(file, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const text = (err as ConfigError).message;
    for (const v of ["GIT_TOKEN", "SLACK_SIGNING_SECRET", "TEAMS_APP_PASSWORD", "GIT_WEBHOOK_SECRET"])
      expect(text).toContain(v);
    expect(text).not.toContain("SLACK_APP_TOKEN");
  });
});
