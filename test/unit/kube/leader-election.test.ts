import { afterEach, describe, expect, it } from "vitest";
import { TransientError } from "../../../src/core/errors.js";
import { LeaderElector, runWhileLeading } from "../../../src/kube/leader-election.js";
import { FakeKubeClient } from "../../helpers/fake-kube-client.js";

const opts = {
  namespace: "gitops-bot-system",
  leaseDurationMs: 1000,
  renewDeadlineMs: 600,
  retryPeriodMs: 100,
};
const electors: LeaderElector[] = [];
afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
});

function candidate(kube: FakeKubeClient, identity: string, log: string[]) {
  const e = new LeaderElector(kube, { ...opts, identity });
  electors.push(e);
  let signal: AbortSignal | undefined;
  e.run({
    onStartedLeading: (s) => {
      signal = s;
      log.push(`${identity} started`);
    },
    onStoppedLeading: () => log.push(`${identity} stopped`),
  });
  return { e, signal: () => signal };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("LeaderElector", () => {
  it("one of two candidates leads; the other waits while the lease is renewed", async () => {
    const kube = new FakeKubeClient();
    const log: string[] = [];
    const a = candidate(kube, "a", log);
    await until(() => a.e.isLeader());
    const b = candidate(kube, "b", log);
    await new Promise((r) => setTimeout(r, 1500)); // longer than the lease: a keeps renewing
    expect(b.e.isLeader()).toBe(false);
    expect(b.e.leader()).toBe("a");
    expect(log).toEqual(["a started"]);
    const lease = kube.peek({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: "gitops-bot-system",
      name: "gitops-bot-leader",
    });
    expect(lease?.spec).toMatchObject({ holderIdentity: "a", leaseDurationSeconds: 1 });
  });

  it("a leader that stops releases the lease and the other takes over at once", async () => {
    const kube = new FakeKubeClient();
    const log: string[] = [];
    const a = candidate(kube, "a", log);
    await until(() => a.e.isLeader());
    const b = candidate(kube, "b", log);
    await new Promise((r) => setTimeout(r, 200));
    const stoppedAt = Date.now();
    await a.e.stop();
    await until(() => b.e.isLeader());
    expect(Date.now() - stoppedAt).toBeLessThan(800); // no need to wait out the lease
    expect(a.signal()?.aborted).toBe(true);
    expect(log).toEqual(["a started", "a stopped", "b started"]);
  });

  it("a leader that cannot renew stops (aborts its signal) before anybody can take the lease", async () => {
    const kube = new FakeKubeClient();
    const log: string[] = [];
    const times: Record<string, number> = {};
    let partitioned = false;
    // A wrapper client for "a" that fails while partitioned; "b" talks to the same store directly.
    const aKube = new Proxy(kube, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          if (partitioned) return Promise.reject(new TransientError("connect ECONNREFUSED"));
          return v.apply(target, args);
        };
      },
    });
    const a2 = new LeaderElector(aKube, { ...opts, identity: "a" });
    electors.push(a2);
    a2.run({
      onStartedLeading: () => log.push("a started"),
      onStoppedLeading: () => {
        times.aStopped = Date.now();
        log.push("a stopped");
      },
    });
    await until(() => a2.isLeader());
    const b = new LeaderElector(kube, { ...opts, identity: "b" });
    electors.push(b);
    b.run({
      onStartedLeading: () => {
        times.bStarted = Date.now();
        log.push("b started");
      },
    });
    await new Promise((r) => setTimeout(r, 300));
    partitioned = true;
    await until(() => b.isLeader(), 5000);
    expect(log).toEqual(["a started", "a stopped", "b started"]);
    expect(times.aStopped).toBeLessThan(times.bStarted as number);
    expect(a2.isLeader()).toBe(false);
  });

  it("refuses a renew deadline that is not shorter than the lease", () => {
    expect(() => new LeaderElector(new FakeKubeClient(), { ...opts, renewDeadlineMs: 1000 })).toThrow(
      /shorter/,
    );
  });
});

describe("runWhileLeading", () => {
  it("runs participants only while leading, and pauses them then releases the lease on shutdown", async () => {
    const kube = new FakeKubeClient();
    const log: string[] = [];
    const p = {
      lead: (s?: AbortSignal) => {
        log.push(s ? "lead(signal)" : "lead()");
        s?.addEventListener("abort", () => log.push("aborted"));
      },
      pause: () => log.push("pause"),
    };
    const e = new LeaderElector(kube, { ...opts, identity: "a" });
    const stop = runWhileLeading(e, [p]);
    await until(() => e.isLeader());
    expect(log).toEqual(["lead(signal)"]);
    await stop();
    expect(log).toEqual(["lead(signal)", "pause", "aborted", "pause"]);
    const lease = kube.peek({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: "gitops-bot-system",
      name: "gitops-bot-leader",
    });
    expect(lease?.spec).toMatchObject({ holderIdentity: "" });

    const log2: string[] = [];
    const stop2 = runWhileLeading(undefined, [
      { lead: () => log2.push("lead"), pause: () => log2.push("pause") },
    ]);
    expect(log2).toEqual(["lead"]);
    await stop2();
    expect(log2).toEqual(["lead", "pause"]);
  });

  it("at shutdown waits for a participant's running work (a helm upgrade) before the lease is released", async () => {
    const kube = new FakeKubeClient();
    const e = new LeaderElector(kube, { ...opts, identity: "a" });
    let finish: () => void = () => {};
    const log: string[] = [];
    const stop = runWhileLeading(e, [
      {
        lead: () => {},
        pause: () => log.push("pause"),
        drain: () =>
          new Promise<void>((r) => {
            finish = () => {
              log.push("upgrade finished");
              r();
            };
          }),
      },
    ]);
    await until(() => e.isLeader());
    const stopped = stop().then(() => log.push("lease released"));
    await until(() => log.includes("pause"));
    expect(e.isLeader()).toBe(true); // still holding the lease while helm runs
    finish();
    await stopped;
    // (the elector pauses again when it stops leading: pausing twice is harmless)
    expect(log.filter((l) => l !== "pause")).toEqual(["upgrade finished", "lease released"]);
    expect(log[0]).toBe("pause");
  });
});
