import { describe, expect, it } from "vitest";
import { buildState, clusterPlan } from "../../../src/app/state.js";
import { configSchema } from "../../../src/config/schema.js";
import { nullLogger } from "../../../src/core/ports.js";

const cfg = configSchema.parse({ repo: { url: "/tmp/none" }, slack: { botToken: "x", signingSecret: "s" } });

describe("app/state: the cluster is never in the way of chat (issue #11)", () => {
  it("turns the sync off with one line when there is no kubeconfig and no in-cluster config", () => {
    const plan = clusterPlan(cfg, { HOME: "/nonexistent-home" });
    expect(plan.syncRuns).toBe(false);
    expect(plan.line).toMatch(/^sync: off, no cluster: /);
  });

  it("builds no cluster client and keeps state out of the cluster without one", async () => {
    const state = await buildState(cfg, {
      env: { HOME: "/nonexistent-home" },
      logger: nullLogger,
      memory: true,
    });
    expect(state.kube).toBeUndefined();
    expect(state.syncRuns).toBe(false);
    expect(state.ledger).toBeUndefined();
  });
});
