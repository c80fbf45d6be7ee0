import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

describe("app/state: image automation elects its leader also when the sync is off (issue #12)", () => {
  let dir: string;
  let kubeconfig: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gitops-bot-state-"));
    kubeconfig = join(dir, "kubeconfig");
    // A kubeconfig is all `locateCluster` needs; nothing connects to this address here.
    await writeFile(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]",
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
        "",
      ].join("\n"),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const withCluster = (extra: Record<string, unknown>) =>
    configSchema.parse({
      repo: { url: "/tmp/none" },
      slack: { botToken: "x", signingSecret: "s" },
      sync: { enabled: false },
      ...extra,
      kube: { kubeconfig, ...((extra.kube as object) ?? {}) },
    });
  const env = { HOME: "/nonexistent-home" };

  it("plans a Lease with a cluster, sync off and image automation on, and says so", () => {
    const plan = clusterPlan(withCluster({}), env);
    expect(plan).toMatchObject({ syncRuns: false, election: true });
    expect(plan.line).toContain("image automation elects its leader with a Lease there");
  });

  it("plans no Lease when leader election or image automation is off, or without a cluster", () => {
    expect(clusterPlan(withCluster({ kube: { leaderElection: { enabled: false } } }), env).election).toBe(
      false,
    );
    expect(clusterPlan(withCluster({ images: { enabled: false } }), env).election).toBe(false);
    expect(clusterPlan({ ...cfg, sync: { ...cfg.sync, enabled: false } }, env).election).toBe(false);
  });

  it("builds the cluster client for the Lease in serve, and none for one-shot commands", async () => {
    const deps = { env, logger: nullLogger, memory: true };
    const served = await buildState(withCluster({}), { ...deps, reconcilers: true });
    expect(served.kube).toBeDefined();
    expect(served).toMatchObject({ syncRuns: false, election: true });
    // Only the Lease is in the cluster: the stores stay where they were with the sync off.
    expect(served.ledger).toBeUndefined();
    const oneShot = await buildState(withCluster({}), deps);
    expect(oneShot.kube).toBeUndefined();
    expect(oneShot.election).toBe(false);
    const noElection = await buildState(withCluster({ kube: { leaderElection: { enabled: false } } }), {
      ...deps,
      reconcilers: true,
    });
    expect(noElection.kube).toBeUndefined();
  });
});
