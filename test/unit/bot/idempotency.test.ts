import { describe, expect, it } from "vitest";
import { IdempotencyCache } from "../../../src/bot/idempotency.js";
import { MemoryRecord } from "../../../src/state/record.js";

describe("IdempotencyCache", () => {
  it("runs once for concurrent and later duplicates", async () => {
    const c = new IdempotencyCache<number>();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const fn = async () => {
      runs++;
      await gate;
      return 42;
    };
    const first = c.once("k", fn);
    const second = c.once("k", fn);
    release();
    expect(await first).toEqual({ first: true, value: 42 });
    expect(await second).toEqual({ first: false, value: 42 });
    expect(await c.once("k", fn)).toEqual({ first: false, value: 42 });
    expect(runs).toBe(1);
  });
  it("forgets keys after the TTL", async () => {
    let now = 0;
    const c = new IdempotencyCache<number>({ ttlMs: 1000, clock: { now: () => new Date(now) } });
    let runs = 0;
    await c.once("k", async () => ++runs);
    now = 2000;
    expect(await c.once("k", async () => ++runs)).toEqual({ first: true, value: 2 });
  });
  it("a failed first run does not fail the duplicate", async () => {
    const c = new IdempotencyCache<number>();
    await expect(c.once("k", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await c.once("k", async () => 1)).toEqual({ first: false, value: undefined });
  });
  it("is bounded", async () => {
    const c = new IdempotencyCache<number>({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) await c.once(`k${i}`, async () => i);
    expect(c.size).toBeLessThanOrEqual(3);
  });
});

describe("IdempotencyCache with a shared record (issue #11)", () => {
  it("runs a request replayed after a restart or on another replica once", async () => {
    const shared = new MemoryRecord("requests");
    const a = new IdempotencyCache<string>({ shared });
    const b = new IdempotencyCache<string>({ shared }); // another replica, or this one restarted
    let runs = 0;
    const fn = async () => `run ${++runs}`;
    expect(await a.once("slack:cmd:T1", fn)).toEqual({ first: true, value: "run 1" });
    expect(await b.once("slack:cmd:T1", fn)).toEqual({ first: false, value: undefined });
    expect(runs).toBe(1);
    expect(await b.once("slack:cmd:T2", fn)).toEqual({ first: true, value: "run 2" });
  });
});
