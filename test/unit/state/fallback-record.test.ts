import { describe, expect, it } from "vitest";
import { TransientError, UserError } from "../../../src/core/errors.js";
import { ConfigMapRecord } from "../../../src/kube/configmap-records.js";
import { ClusterOutage, FallbackRecord } from "../../../src/state/fallback-record.js";
import { FakeKubeClient } from "../../helpers/fake-kube-client.js";
import { RecordingLogger } from "../../helpers/recording-logger.js";

function setup(opts: { timeoutMs?: number } = {}) {
  const kube = new FakeKubeClient();
  const primary = new ConfigMapRecord(kube, {
    namespace: "bot",
    name: "gitops-bot-approvals",
    record: "approvals",
  });
  const logger = new RecordingLogger();
  const record = new FallbackRecord(primary, {
    what: "pending approvals",
    logger,
    timeoutMs: opts.timeoutMs ?? 200,
    probeMs: 60_000,
  });
  return { kube, primary, logger, record };
}

const down = () => new TransientError("connect ECONNREFUSED 127.0.0.1:6443");

describe("FallbackRecord: the cluster is never in the way of chat", () => {
  it("reads and writes through to the cluster while it answers", async () => {
    const { record, primary } = setup();
    await record.modify((d) => {
      d.a = "1";
      return true;
    });
    expect(await primary.read()).toEqual({ a: "1" });
    expect(await record.read()).toEqual({ a: "1" });
    expect(record.isDegraded).toBe(false);
  });

  it("serves at once from the last known data when the cluster refuses, and says so once", async () => {
    const { record, kube, logger } = setup();
    await record.modify((d) => {
      d.a = "1";
      return true;
    });
    kube.fault = () => down();
    expect(await record.read()).toEqual({ a: "1" });
    await record.modify((d) => {
      d.b = "2";
      return true;
    });
    expect(await record.read()).toEqual({ a: "1", b: "2" });
    const warnings = logger.records.filter((r) => r.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/pending approvals are kept in this process/);
  });

  it("does not wait longer than its deadline on a cluster that hangs", async () => {
    const { record, kube } = setup({ timeoutMs: 100 });
    kube.get = () => new Promise(() => {}); // an API server that never answers
    const t = Date.now();
    await record.modify((d) => {
      d.x = "1";
      return true;
    });
    // Degraded now: the next calls do not try the cluster at all.
    await record.read();
    await record.modify((d) => {
      d.y = "1";
      return true;
    });
    expect(Date.now() - t).toBeLessThan(1000);
    expect(await record.read()).toEqual({ x: "1", y: "1" });
  });

  it("serves at once when another record of the same cluster already found it unavailable", async () => {
    const kube = new FakeKubeClient();
    kube.get = () => new Promise(() => {}); // an API server that never answers
    const outage = new ClusterOutage();
    const record = (name: string, timeoutMs: number) =>
      new FallbackRecord(new ConfigMapRecord(kube, { namespace: "bot", name, record: name }), {
        what: name,
        timeoutMs,
        probeMs: 60_000,
        outage,
      });
    const approvals = record("approvals", 50);
    // A deadline this test would never outlive: only the shared outage lets it answer.
    const requests = record("requests", 3_600_000);
    await approvals.read();
    expect(approvals.isDegraded).toBe(true);
    await requests.modify((d) => {
      d.id = "1";
      return true;
    });
    expect(await requests.read()).toEqual({ id: "1" });
    expect(requests.isDegraded).toBe(true);
    approvals.close();
    requests.close();
  });

  it("writes what was edited during the outage back when the cluster returns, keeping other replicas' keys", async () => {
    const { record, kube, primary, logger } = setup();
    await record.modify((d) => {
      d.keep = "mine";
      d.gone = "x";
      return true;
    });
    kube.fault = () => down();
    await record.modify((d) => {
      d.new = "during";
      delete d.gone;
      return true;
    });
    kube.fault = undefined;
    // Another replica wrote while we could not see the cluster.
    await primary.modify((d) => {
      d.other = "theirs";
      return true;
    });
    expect(await record.recover()).toBe(true);
    expect(record.isDegraded).toBe(false);
    expect(await primary.read()).toEqual({ keep: "mine", new: "during", other: "theirs" });
    expect(await record.read()).toEqual({ keep: "mine", new: "during", other: "theirs" });
    expect(logger.records.filter((r) => r.level === "info").map((r) => r.msg)).toEqual([
      "the cluster is back: pending approvals are shared again",
    ]);
  });

  it("stays degraded while the cluster is still away", async () => {
    const { record, kube } = setup();
    kube.fault = () => down();
    await record.read();
    expect(await record.recover()).toBe(false);
    expect(record.isDegraded).toBe(true);
    record.close();
  });

  it("passes the caller's own errors through instead of degrading", async () => {
    const { record } = setup();
    await expect(
      record.modify(() => {
        throw new UserError("already approved by you");
      }),
    ).rejects.toThrow("already approved by you");
    expect(record.isDegraded).toBe(false);
  });
});
