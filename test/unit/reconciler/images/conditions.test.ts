import { describe, expect, it } from "vitest";
import { imagesPlan } from "../../../../src/app/reconcilers.js";
import { configSchema } from "../../../../src/config/schema.js";
import type { ImageDecision } from "../../../../src/images/plan.js";
import { imageFindings, recordedCondition } from "../../../../src/reconciler/images/conditions.js";
import { ImageStateStore, imageCodec } from "../../../../src/reconciler/images/state.js";
import { MemoryRecord } from "../../../../src/state/record.js";

const base = { container: "app", image: "r.io/t/app", current: "dev-1", filter: "glob:dev-*" };
const wait = (env: string, app: string, reason: string, message: string, repository = "r.io/t/app") =>
  ({
    ...base,
    env,
    app,
    file: `releases/${env}/${app}.yaml`,
    repository,
    action: "wait",
    reason,
    message,
  }) as ImageDecision;

describe("image automation conditions", () => {
  it("groups a failing repository once with every workload that uses it; stalled containers one each", () => {
    const f = imageFindings(
      [
        wait("dev", "web", "registry-error", "r.io/t/app: the registry did not answer"),
        wait("stg", "web", "registry-error", "r.io/t/app: the registry did not answer"),
        wait("dev", "api", "invalid-filter", "dev/api container app (releases/dev/api.yaml): bad"),
        wait("dev", "ok", "newest", "dev-1 is the newest"),
        wait("dev", "lk", "locked", "locked by dave"),
      ],
      [
        { file: "releases/dev/api.yaml", message: "bad" },
        { file: "releases/dev/broken.yaml", message: "not YAML" },
      ],
    );
    expect(f.registry).toEqual([
      "r.io/t/app|r.io/t/app: the registry did not answer (used by dev/web container app (releases/dev/web.yaml), stg/web container app (releases/stg/web.yaml))",
    ]);
    expect(f.stalled).toEqual(["dev/api/app|dev/api container app (releases/dev/api.yaml): bad"]);
    // The invalid filter's file is told once, as the stalled container, not again as a file problem.
    expect(f.problems).toEqual(["releases/dev/broken.yaml|not YAML"]);
  });

  it("the status record round-trips, writes only when it changed, and restores the condition", async () => {
    const record = new MemoryRecord();
    const store = new ImageStateStore(record);
    await store.load();
    const state = {
      status: "failed" as const,
      reason: "RegistryUnavailable",
      message: "m",
      findings: { registry: ["x|y"] },
    };
    expect(await store.save(state)).toBe(true);
    expect(await store.save({ ...state })).toBe(false);
    expect(imageCodec.decode(await record.read())).toEqual(state);
    const again = new ImageStateStore(record);
    expect(recordedCondition(await again.load())).toEqual({
      status: "failed",
      reason: "RegistryUnavailable",
      message: "m",
      findings: { registry: ["x|y"] },
    });
    expect(recordedCondition({})).toBeUndefined();
  });

  it("says in one line whether image automation runs and where", () => {
    const cfg = (images: unknown, kube: unknown = {}) =>
      configSchema.parse({ repo: { url: "x" }, images, kube });
    expect(imagesPlan(cfg({ enabled: false }), false)).toEqual({
      runs: false,
      line: "image automation: off (images.enabled: false)",
    });
    expect(imagesPlan(cfg({}), false).line).toMatch(/on, every 60s, without a cluster/);
    expect(imagesPlan(cfg({}), true).line).toMatch(/on the leader only/);
    expect(imagesPlan(cfg({}, { leaderElection: { enabled: false } }), true).line).toMatch(
      /leader election is off/,
    );
    expect(imagesPlan(cfg({ webhookSecret: "s3cret-hook" }), false).line).toContain("POST /hooks/registry");
  });
});
