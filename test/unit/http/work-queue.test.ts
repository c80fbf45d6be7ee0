import { describe, expect, it } from "vitest";
import { nullLogger } from "../../../src/core/ports.js";
import { MetricsRegistry } from "../../../src/http/metrics.js";
import { WorkQueue } from "../../../src/http/work-queue.js";

const tick = (ms = 0) => new Promise<void>((r) => setTimeout(r, ms));

describe("WorkQueue", () => {
  it("runs jobs in order, never more than the limit at once, and survives failures", async () => {
    const q = new WorkQueue({ concurrency: 2, logger: nullLogger, busyThreshold: 1 });
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    for (let i = 0; i < 6; i++) {
      q.push(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await tick(5);
        running--;
        if (i === 2) throw new Error("boom");
      });
    }
    expect(q.size).toBe(6);
    await q.idle();
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(q.size).toBe(0);
  });

  it("starts jobs only after the current turn (the ack is written first)", async () => {
    const q = new WorkQueue({ logger: nullLogger });
    let ran = false;
    q.push(async () => {
      ran = true;
    });
    expect(ran).toBe(false);
    await q.idle();
    expect(ran).toBe(true);
  });

  it("refuses jobs beyond maxQueued", async () => {
    const q = new WorkQueue({ concurrency: 1, maxQueued: 2, logger: nullLogger, busyThreshold: 1 });
    const job = () => tick(5);
    expect([q.push(job), q.push(job), q.push(job), q.push(job)]).toEqual([true, true, true, false]);
    await q.idle();
  });

  it("runs one job at a time while the event loop is busy, more when it is idle", async () => {
    const q = new WorkQueue({ concurrency: 4, logger: nullLogger, sampleMs: 20, calmSamples: 2 });
    let running = 0;
    let peakBusy = 0;
    let peakIdle = 0;
    // CPU-bound jobs: spin 30 ms synchronously, twice.
    for (let i = 0; i < 6; i++) {
      q.push(async () => {
        running++;
        peakBusy = Math.max(peakBusy, running);
        for (let k = 0; k < 2; k++) {
          const end = Date.now() + 30;
          while (Date.now() < end) {}
          await tick(1);
        }
        running--;
      });
    }
    await q.idle();
    // I/O-bound jobs: mostly waiting.
    for (let i = 0; i < 12; i++) {
      q.push(async () => {
        running++;
        peakIdle = Math.max(peakIdle, running);
        await tick(100);
        running--;
      });
    }
    await q.idle();
    expect(peakBusy).toBe(1);
    expect(peakIdle).toBeGreaterThan(1);
  });

  it("reports its depth on a gauge", async () => {
    const metrics = new MetricsRegistry();
    const q = new WorkQueue({
      logger: nullLogger,
      name: "slack",
      depth: metrics.gauge("gitops_work_queue_depth", "d", ["queue"]),
    });
    q.push(() => tick(5));
    expect(await metrics.render()).toContain('gitops_work_queue_depth{queue="slack"} 1');
    await q.idle();
    expect(await metrics.render()).toContain('gitops_work_queue_depth{queue="slack"} 0');
  });
});
