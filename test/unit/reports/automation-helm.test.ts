/**
 * The automation and Helm sections beyond their golden files: what a reader of a prod-only report
 * sees, "all N releases deployed" when Helm is fine (and an `onlyProblems` report then stays
 * quiet), long lists cut with a count and a link, and one line saying a component is off.
 */
import { describe, expect, it } from "vitest";
import { renderSlack } from "../../../src/chat/slack/render.js";
import { CronSchedule } from "../../../src/core/cron.js";
import type { ReportSectionId } from "../../../src/core/report.js";
import type { ReportDefinition } from "../../../src/reports/report.js";
import { ReportScheduler } from "../../../src/reports/scheduler.js";
import { MemoryRecord } from "../../../src/state/record.js";
import { alice, REPORTS_CONFIG, reportState } from "../../helpers/report-state.js";

const NOW = new Date("2026-01-12T08:00:00Z");

function def(sections: ReportSectionId[], envs?: string[]): ReportDefinition {
  return {
    name: "t",
    schedule: CronSchedule.parse("0 1 1 1 *", "Europe/Berlin"),
    sections,
    ...(envs ? { envs } : {}),
    onlyProblems: false,
    staleLockDays: 7,
  };
}

const autoRelease = (s: Awaited<ReturnType<typeof reportState>>, env: string, tag: string) =>
  s.ops.autoRelease({
    updates: [{ app: "podinfo", env, container: "chart-image", tag }],
    actor: { ...alice, id: "automation:image", name: "image-automation" },
  });

describe("automation section", () => {
  it("a prod-only report shows prod's automated images and prod's auto-releases only", async () => {
    const s = await reportState();
    await autoRelease(s, "dev", "dev-e1e2e3e4");
    await autoRelease(s, "prod", "0.4.11");
    const r = await s.reports.builder.build(def(["automation"], ["prod"]), { now: NOW });
    expect(r.text).toContain("prod/podinfo: ghcr.io/stefanprodan/podinfo:0.4.11");
    expect(r.text).toContain(
      "prod/frontend/web: ghcr.io/example/frontend:1.4.2 -> 1.5.0 waits (2 newer): locked by alice",
    );
    expect(r.text).not.toMatch(/^dev\//m);
    expect(r.text).toContain("auto-releases (1):");
    expect(r.text).toContain("prod/podinfo chart-image: 0.4.10 -> 0.4.11 (releases/prod/podinfo.yaml)");
    expect(r.text).not.toContain("dev-e1e2e3e4");
    // Locked and frozen are decisions people made, not problems; prod has neither registry errors nor stalls.
    expect(r.problems).toEqual([]);
  });

  it("says the last cycle failed when nothing else explains it", async () => {
    const s = await reportState();
    s.images.status = {
      status: "failed",
      reason: "ConfigRepoUnavailable",
      message: "cannot commit the auto-release: push rejected",
    };
    const r = await s.reports.builder.build(def(["automation"], ["prod"]), { now: NOW });
    expect(r.problems).toEqual(["image automation failed: cannot commit the auto-release: push rejected"]);
  });
});

describe("helm section", () => {
  it("says all N releases are deployed, and an onlyProblems report stays quiet until one fails", async () => {
    const config = {
      ...REPORTS_CONFIG,
      notifications: {
        ...REPORTS_CONFIG.notifications,
        reports: [
          {
            name: "helm-watch",
            schedule: "0 9 * * *",
            timezone: "Europe/Berlin",
            sections: ["helm"],
            onlyProblems: true,
            to: ["ops"],
          },
        ],
      },
    };
    const s = await reportState(config);
    for (const r of s.helm.releases) r.phase = "Deployed";
    const r = await s.reports.builder.build(def(["helm"]), { now: NOW });
    expect(r.text).toContain("== Helm releases (0) ==\nAll 3 release(s) deployed.");
    expect(r.problems).toEqual([]);

    const posts: string[] = [];
    const scheduler = new ReportScheduler(s.reports.definitions, {
      build: (d, time) => s.reports.builder.build(d, time),
      post: (_to, _key, m) => posts.push(m.fallbackText),
      runs: new MemoryRecord(),
      clock: s.clock,
    });
    s.clock.set("2026-01-11T07:00:00Z");
    await scheduler.tick("helm-watch");
    s.clock.set("2026-01-11T08:00:00Z");
    expect(await scheduler.tick("helm-watch")).toBe("healthy");
    (s.helm.releases[2] as { phase: string }).phase = "Stalled";
    s.clock.set("2026-01-12T08:00:00Z");
    expect(await scheduler.tick("helm-watch")).toBe("posted");
    expect(posts).toEqual(["Sync report: prod-eu (helm-watch): 1 Helm release(s) stalled"]);
  });

  it("cuts a long list in chat with the count of the rest and a link; the text keeps them all", async () => {
    const s = await reportState();
    s.helm.releases = Array.from({ length: 14 }, (_, k) => ({
      key: `dev/svc-${k}`,
      file: `releases/dev/svc-${k}.yaml`,
      release: `svc-${k}`,
      namespace: "dev",
      phase: "Failed",
      message: "install failed",
    }));
    const r = await s.reports.builder.build(def(["helm"]), { now: NOW });
    expect(r.problems).toEqual(["14 Helm release(s) failed"]);
    expect(JSON.stringify(renderSlack(r.message))).toContain(
      "<https://git.example.com/org/config|… and 4 more releases>",
    );
    expect(r.text.match(/^other\/dev\/svc-\d+: failed/gm)).toHaveLength(14);
    // A release of no known env is not shown in a report of some envs only.
    const prod = await s.reports.builder.build(def(["helm"], ["prod"]), { now: NOW });
    expect(prod.text).toContain("No Helm releases in these envs.");
  });
});

describe("without the components", () => {
  it("each section says in one line that it is off and why", async () => {
    const s = await reportState(REPORTS_CONFIG, { withoutReconcilers: true });
    const r = await s.reports.builder.build(def(["automation", "helm"]), { now: NOW });
    expect(r.text).toContain(
      "== Image automation (0) ==\nimage automation is off: images.enabled is false\nstg: frozen",
    );
    expect(r.text).toContain(
      "== Helm releases (0) ==\nHelm is off: no cluster configured, and Helm releases follow the sync\n",
    );
    expect(r.problems).toEqual([]);
  });
});
