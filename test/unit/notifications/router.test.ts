/**
 * NotificationRouter with in-process fake providers and a virtual clock: routing, one message per
 * release updated in place, details threaded, coalescing, rate limits, Retry-After, retries with
 * backoff, isolation between destinations, and "logged once, counted, never retried forever".
 */
import { describe, expect, it } from "vitest";
import type { GitopsEvent } from "../../../src/core/events.js";
import { messageToPlainText } from "../../../src/core/message.js";
import { Redactor } from "../../../src/core/redact.js";
import { MetricsRegistry } from "../../../src/http/metrics.js";
import { InMemoryLedger, RecordMessageLedger } from "../../../src/notifications/ledger.js";
import { registerNotificationMetrics } from "../../../src/notifications/metrics.js";
import {
  type Delivery,
  DeliveryError,
  type NotificationProvider,
  type RateWindow,
} from "../../../src/notifications/notifier.js";
import { NotificationRouter, type RouterOptions, type Timer } from "../../../src/notifications/router.js";
import { MemoryRecord } from "../../../src/state/record.js";
import * as ev from "../../golden/events.js";
import { RecordingLogger } from "../../helpers/recording-logger.js";

/** Virtual time: `sleep` advances the clock instead of waiting. */
class FakeTimer implements Timer {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    this.t += Math.max(1, ms);
    return new Promise((r) => setImmediate(r));
  }
}

class RecordingProvider implements NotificationProvider {
  readonly sent: (Delivery & { at: number })[] = [];
  calls = 0;
  /** Scripted failures, consumed one per call. */
  failures: (DeliveryError | undefined)[] = [];
  canUpdate = true;
  canThread = true;
  constructor(
    readonly name: string,
    private readonly timer: Timer,
    readonly rateLimits: RateWindow[] = [{ limit: 1, windowMs: 1000 }],
  ) {}
  async deliver(d: Delivery): Promise<void> {
    this.calls++;
    const f = this.failures.shift();
    if (f) throw f;
    this.sent.push({ ...d, at: this.timer.now() });
  }
}

function setup(names: string[] = ["a"], extra: Partial<RouterOptions> = {}) {
  const timer = new FakeTimer();
  const providers = names.map((n) => new RecordingProvider(n, timer));
  const logger = new RecordingLogger();
  const router = new NotificationRouter({
    destinations: providers.map((provider) => ({ provider, format: "rich" as const })),
    redactor: new Redactor(),
    logger,
    timer,
    repoUrl: "https://github.com/org/config",
    envOrder: ["dev", "stg", "prod"],
    ...extra,
  });
  return { timer, providers, logger, router, p: providers[0]! };
}

const text = (d: Delivery) => messageToPlainText(d.message);

describe("NotificationRouter", () => {
  it("makes an automated release, its sync and its Helm result one message, updated in place", async () => {
    const { router, p } = setup();
    router.emit(ev.autoRelease);
    await router.idle();
    router.emit(ev.autoSync);
    router.emit(ev.autoHelm);
    await router.idle();
    expect(p.sent.map((d) => d.key)).toEqual([`release:${ev.SHA_AUTO}`, `release:${ev.SHA_AUTO}`]);
    // The second delivery coalesced sync + Helm and shows the final state.
    expect(p.sent[1]!.events.map((e) => e.id)).toEqual(["ev-auto-sync", "ev-auto-helm"]);
    expect(text(p.sent[1]!)).toContain("Helm deployed (revision 12)");
    expect(router.metrics().total).toMatchObject({ sent: 2, coalesced: 1 });
  });

  it("does not post empty syncs", async () => {
    const { router, p } = setup();
    router.emit(ev.emptySync);
    await router.idle();
    expect(p.sent).toEqual([]);
    expect(router.metrics()).toMatchObject({ events: 1, skipped: 1 });
  });

  it("posts details as replies in the release's thread, after the root", async () => {
    const { router, p } = setup();
    router.emit(ev.promote);
    router.emit(ev.promoteHelmFailed);
    await router.idle();
    expect(p.sent.map((d) => [d.key, d.threadKey])).toEqual([
      [`release:${ev.SHA_PROMOTE}`, undefined],
      [`release:${ev.SHA_PROMOTE}:helm-error`, `release:${ev.SHA_PROMOTE}`],
    ]);
    expect(p.sent[0]!.message.severity).toBe("error");
    expect(text(p.sent[1]!)).toContain("UPGRADE FAILED: timed out waiting for the condition");
  });

  it("routes by env, kind and severity; with no routes everything goes everywhere", async () => {
    const { router, providers } = setup(["all", "prod-errors", "dev"], {
      routes: [
        { match: {}, to: ["all"] },
        { match: { env: ["prod"], severity: ["error"] }, to: ["prod-errors"] },
        { match: { env: ["d*"], kind: ["auto-release", "sync", "helm"] }, to: ["dev"] },
      ],
    });
    for (const e of [ev.autoRelease, ev.promote, ev.promoteHelmFailed, ev.policyCommit]) router.emit(e);
    await router.idle();
    const [all, prodErrors, dev] = providers.map((p) => [...new Set(p.sent.map((d) => d.key))].sort());
    expect(all).toEqual(
      [
        `release:${ev.SHA_AUTO}`,
        `release:${ev.SHA_PROMOTE}`,
        `release:${ev.SHA_POLICY}`,
        `release:${ev.SHA_PROMOTE}:helm-error`,
      ].sort(),
    );
    expect(prodErrors).toEqual([`release:${ev.SHA_PROMOTE}`, `release:${ev.SHA_PROMOTE}:helm-error`]);
    expect(dev).toEqual([`release:${ev.SHA_AUTO}`]);

    const { router: r2, providers: ps } = setup(["x", "y"]);
    r2.emit(ev.manualSync);
    await r2.idle();
    expect(ps.map((p) => p.sent.length)).toEqual([1, 1]);
  });

  it("keeps a release's message current in a destination its later events would not be routed to", async () => {
    const { router, providers } = setup(["errors"], {
      routes: [{ match: { severity: ["error"] }, to: ["errors"] }],
    });
    const [p] = providers as [RecordingProvider];
    router.emit(ev.promote); // info: not routed
    await router.idle();
    expect(p.sent).toEqual([]);
    router.emit(ev.promoteHelmFailed); // error: posted
    await router.idle();
    router.emit(ev.promoteRolledBack); // warning: not routed, but that message must not keep saying "failed"
    await router.idle();
    const roots = p.sent.filter((d) => d.key === `release:${ev.SHA_PROMOTE}`);
    expect(roots).toHaveLength(2);
    expect(text(roots[1]!)).toContain("Helm rolled-back (revision 9)");
    expect(roots[1]!.message.severity).toBe("warning");
  });

  it("routes by the cluster an event comes from (one config shared by several clusters)", async () => {
    const { router, providers } = setup(["eu", "us"], {
      routes: [
        { match: { cluster: ["prod-eu*"] }, to: ["eu"] },
        { match: { cluster: ["prod-us"] }, to: ["us"] },
      ],
    });
    router.emit({ ...ev.autoRelease, cluster: "prod-eu-1" });
    router.emit({ ...ev.promote, cluster: "prod-us" });
    await router.idle();
    const [eu, us] = providers.map((p) => [...new Set(p.sent.map((d) => d.key))]);
    expect(eu).toEqual([`release:${ev.SHA_AUTO}`]);
    expect(us).toEqual([`release:${ev.SHA_PROMOTE}`]);
  });

  it("routes by namespace of the synced objects", async () => {
    const { router, providers } = setup(["default-ns", "other"], {
      routes: [
        { match: { namespace: ["default"] }, to: ["default-ns"] },
        { match: { namespace: ["kube-system"] }, to: ["other"] },
      ],
    });
    router.emit(ev.manualSync);
    await router.idle();
    expect(providers.map((p) => p.sent.length)).toEqual([1, 0]);
  });

  it("keeps to the destination's rate limit and coalesces a burst", async () => {
    const { router, p } = setup(["a"], { digestAfter: 100 });
    // 40 events for 4 releases arrive at once.
    for (let n = 0; n < 10; n++) {
      for (const corr of ["a1", "b2", "c3", "d4"]) {
        router.emit({
          ...ev.autoHelm,
          id: `${corr}-${n}`,
          correlationId: corr,
          app: `app-${corr}`,
          revision: n,
        });
      }
    }
    await router.idle();
    const gaps = p.sent.slice(1).map((d, i) => d.at - p.sent[i]!.at);
    expect(gaps.every((g) => g >= 1000)).toBe(true);
    expect(p.sent.length).toBeLessThanOrEqual(8);
    // Every release's last message shows its last revision: no final state lost.
    for (const corr of ["a1", "b2", "c3", "d4"]) {
      const last = p.sent.filter((d) => d.key === `release:${corr}`).at(-1)!;
      expect(text(last)).toContain("revision 9");
    }
  });

  it("groups a burst of new releases into digests updated in place, with failures in one reply", async () => {
    const { router, p } = setup();
    const apps = Array.from({ length: 20 }, (_, n) => `app-${String(n).padStart(2, "0")}`);
    for (const app of apps)
      router.emit({ ...ev.autoRelease, id: `${app}-a`, correlationId: `c-${app}`, app });
    await router.idle();
    for (const app of apps) {
      const failed = app === "app-07";
      router.emit({
        ...ev.autoHelm,
        id: `${app}-h`,
        correlationId: `c-${app}`,
        app,
        phase: failed ? "failed" : "deployed",
        error: failed ? "UPGRADE FAILED: app-07 broke" : undefined,
      });
    }
    await router.idle();
    const keys = p.sent.map((d) => d.key);
    // 20 new releases at once: two digests (15 + 5) instead of 20 messages at 1/s.
    expect(keys.slice(0, 2)).toEqual(["digest:1", "digest:2"]);
    expect(new Set(keys)).toEqual(new Set(["digest:1", "digest:2", "digest:1:details"]));
    expect(p.sent.length).toBeLessThanOrEqual(7);
    const lastOf = (key: string) => text(p.sent.filter((d) => d.key === key).at(-1)!);
    expect(lastOf("digest:1")).toContain("15 releases in cluster eu-1: 1 failed");
    expect(lastOf("digest:1")).toContain(
      "app-07 | dev | dev-abc1234 → dev-def5678 | Helm failed (revision 12)",
    );
    expect(lastOf("digest:2")).toContain(
      "app-19 | dev | dev-abc1234 → dev-def5678 | Helm deployed (revision 12)",
    );
    expect(lastOf("digest:2")).toContain("5 releases in cluster eu-1");
    const details = p.sent.find((d) => d.key === "digest:1:details")!;
    expect(details.threadKey).toBe("digest:1");
    expect(text(details)).toContain("UPGRADE FAILED: app-07 broke");
  });

  it("waits for Retry-After on 429 and then delivers", async () => {
    const { router, p, timer } = setup();
    p.failures = [new DeliveryError("HTTP 429", "rate-limited", 30_000)];
    const start = timer.now();
    router.emit(ev.manualSync);
    await router.idle();
    expect(p.calls).toBe(2);
    expect(p.sent[0]!.at - start).toBeGreaterThanOrEqual(30_000);
    expect(router.metrics().total).toMatchObject({ rateLimited: 1, sent: 1, undeliverable: 0 });
  });

  it("retries 5xx with growing backoff, then gives up: logged once and counted, never retried forever", async () => {
    const { router, p, logger, timer } = setup(["a"], { maxAttempts: 4, backoffMs: 1000 });
    const at: number[] = [];
    const orig = p.deliver.bind(p);
    p.deliver = (d) => {
      at.push(timer.now());
      return orig(d);
    };
    p.failures = Array.from({ length: 10 }, () => new DeliveryError("HTTP 503", "transient"));
    router.emit(ev.manualSync);
    await router.idle();
    expect(p.calls).toBe(4);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(1000);
    expect(gaps[1]).toBeGreaterThanOrEqual(2000);
    expect(gaps[2]).toBeGreaterThanOrEqual(4000);
    expect(router.metrics().total).toMatchObject({ undeliverable: 1, retries: 3, sent: 0 });
    expect(logger.records.filter((l) => l.level === "warn")).toHaveLength(1);
    // A later event is a new message and is delivered normally.
    p.failures = [];
    router.emit(ev.promote);
    await router.idle();
    expect(p.sent.map((d) => d.key)).toEqual([`release:${ev.SHA_PROMOTE}`]);
  });

  it("drops a permanent failure at once", async () => {
    const { router, p } = setup();
    p.failures = [new DeliveryError("chat.postMessage: channel_not_found", "permanent")];
    router.emit(ev.manualSync);
    await router.idle();
    expect(p.calls).toBe(1);
    expect(router.metrics().total.undeliverable).toBe(1);
  });

  it("never lets a failing destination delay another", async () => {
    const { router, providers } = setup(["broken", "fine"], { maxAttempts: 6 });
    const [broken, fine] = providers as [RecordingProvider, RecordingProvider];
    broken.failures = Array.from({ length: 100 }, () => new DeliveryError("HTTP 503", "transient"));
    const before = new FakeTimer().t;
    router.emit(ev.manualSync);
    router.emit(ev.promote);
    await router.idle();
    expect(fine.sent).toHaveLength(2);
    // `fine` sent at the pace of its own rate limit (1/s), not the other's backoff (1+2+4+8+16 s).
    expect(fine.sent[1]!.at - before).toBeLessThan(5000);
    expect(router.metrics().destinations["broken"]).toMatchObject({ undeliverable: 2, sent: 0 });
  });

  it("does not lose a change that arrives while the message is being sent", async () => {
    const { router, p } = setup();
    let release!: () => void;
    const orig = p.deliver.bind(p);
    let first = true;
    p.deliver = async (d) => {
      if (first) {
        first = false;
        await new Promise<void>((r) => {
          release = r;
        });
      }
      return orig(d);
    };
    router.emit(ev.promote);
    await new Promise((r) => setImmediate(r));
    router.emit(ev.promoteHelmFailed);
    release();
    await router.idle();
    const roots = p.sent.filter((d) => d.key === `release:${ev.SHA_PROMOTE}`);
    expect(roots).toHaveLength(2);
    expect(text(roots[1]!)).toContain("Helm failed");
  });

  it("emit never throws, even for malformed events", () => {
    const { router } = setup();
    expect(() => router.emit({ kind: "sync" } as unknown as GitopsEvent)).not.toThrow();
    expect(() => router.emit(null as unknown as GitopsEvent)).not.toThrow();
  });

  it("redacts secrets in messages and events before they reach a provider", async () => {
    const secret = "s3cr3t-registry-password";
    const { router, p } = setup(["a"], { redactor: new Redactor([secret]) });
    router.emit({
      ...ev.syncWithErrors,
      objects: [
        {
          id: "default:secret/db",
          file: "db.yaml",
          action: "failed",
          error: `pull https://user:${secret}@registry.test/v2/ failed; Authorization: Bearer abcdefghijklmnop`,
        },
      ],
    });
    await router.idle();
    const all = JSON.stringify(p.sent);
    expect(p.sent.length).toBeGreaterThan(0);
    expect(all).not.toContain(secret);
    expect(all).not.toContain("abcdefghijklmnop");
  });

  it.each([
    ["in memory", () => new InMemoryLedger()],
    [
      "in a record (the cluster's ConfigMap)",
      () => new RecordMessageLedger(new MemoryRecord("notifications")),
    ],
  ])(
    "hands what a destination down at shutdown did not take to the next replica, which delivers it (ledger %s, issue #11)",
    async (_, makeLedger) => {
      const ledger = makeLedger();
      const first = setup(["a"], { ledger });
      first.p.failures = Array.from({ length: 100 }, () => new DeliveryError("HTTP 503", "transient"));
      first.router.emit(ev.promote);
      await first.router.stop(500);
      expect(first.p.sent).toHaveLength(0);
      expect(first.logger.records.map((r) => r.msg)).toContain(
        "notifications still queued at shutdown were handed over to the next replica that starts",
      );

      const next = setup(["a"], { ledger });
      await next.router.resume();
      await next.router.idle();
      expect(next.p.sent.map((d) => d.key)).toEqual([`release:${ev.SHA_PROMOTE}`]);
      expect(text(next.p.sent[0]!)).toContain(`committed ${ev.SHA_PROMOTE.slice(0, 7)}`);
      // Taken once: a third replica starting later posts nothing again.
      const third = setup(["a"], { ledger });
      await third.router.resume();
      await third.router.idle();
      expect(third.p.sent).toHaveLength(0);
    },
  );

  it("post() resolves once delivered", async () => {
    const { router, p } = setup();
    await router.post(ev.manualSync);
    expect(p.sent).toHaveLength(1);
  });

  it("stop() drops what is still queued after the timeout and accepts no more events", async () => {
    const { router, p } = setup();
    p.failures = Array.from({ length: 100 }, () => new DeliveryError("HTTP 503", "transient"));
    router.emit(ev.manualSync);
    await router.stop(500);
    router.emit(ev.promote);
    await router.idle();
    expect(p.sent).toHaveLength(0);
  });
});

describe("NotificationRouter on post-only destinations (issue #11)", () => {
  it("posts a commit at once when no reconciler will report on it", async () => {
    const { router, p, timer } = setup(["a"], { holdForSync: false });
    p.canUpdate = false;
    const start = timer.now();
    await router.post(ev.promote);
    expect(p.sent.map((d) => d.key)).toEqual([`release:${ev.SHA_PROMOTE}`]);
    expect(p.sent[0]?.at).toBe(start);
  });

  it("does not say a commit waits for a sync when no reconciler will report on it", async () => {
    for (const canUpdate of [false, true]) {
      const { router, p } = setup(["a"], { holdForSync: false });
      p.canUpdate = canUpdate;
      await router.post(ev.promote);
      expect(text(p.sent[0]!)).toContain(`committed ${ev.SHA_PROMOTE.slice(0, 7)}`);
      expect(text(p.sent[0]!)).not.toContain("waiting for sync");
    }
    const { router, p } = setup(["a"]);
    await router.post(ev.promote);
    expect(text(p.sent[0]!)).toContain("waiting for sync");
  });

  it("still holds a commit for its sync when a reconciler reports on it", async () => {
    const { router, p, timer } = setup(["a"], { settleMs: 60_000 });
    p.canUpdate = false;
    const start = timer.now();
    await router.post(ev.promote);
    expect(p.sent[0]?.at).toBeGreaterThanOrEqual(start + 60_000);
  });

  it("delivers a commit held for its sync at shutdown instead of dropping it", async () => {
    // Sleeps as long as the hold never end by themselves (a sync that never comes); shorter ones
    // pass in virtual time, so stop()'s own timeout would fire first if the commit stayed held.
    const timer = new (class extends FakeTimer {
      override sleep(ms: number, signal?: AbortSignal): Promise<void> {
        if (ms < 30_000) return super.sleep(ms);
        return new Promise((r) => signal?.addEventListener("abort", () => r(), { once: true }));
      }
    })();
    const p = new RecordingProvider("hook", timer);
    p.canUpdate = false;
    const logger = new RecordingLogger();
    const router = new NotificationRouter({
      destinations: [{ provider: p, format: "rich" }],
      redactor: new Redactor(),
      logger,
      timer,
      settleMs: 60_000,
    });
    router.emit(ev.promote);
    await new Promise((r) => setImmediate(r));
    await router.stop(5000);
    expect(p.sent.map((d) => d.key)).toEqual([`release:${ev.SHA_PROMOTE}`]);
    expect(JSON.stringify(logger.records)).not.toContain("dropped");
  });
});

describe("notification metrics", () => {
  it("exposes per-destination counters in Prometheus text", async () => {
    const { router, providers } = setup(["ops", "audit"]);
    const registry = new MetricsRegistry();
    registerNotificationMetrics(registry, router);
    providers[1]!.failures = [new DeliveryError("HTTP 404", "permanent")];
    router.emit(ev.manualSync);
    router.emit(ev.emptySync);
    await router.idle();
    const text = await registry.render();
    expect(text).toContain("gitops_notification_events_total 2\n");
    expect(text).toContain("gitops_notification_events_skipped_total 1\n");
    expect(text).toContain('gitops_notification_sent_total{destination="ops"} 1\n');
    expect(text).toContain('gitops_notification_undeliverable_total{destination="audit"} 1\n');
    expect(text).toContain("# TYPE gitops_notification_rate_limited_total counter");
  });
});
