/**
 * The report scheduler driven by a fake clock: one post per slot, nothing again after a restart
 * inside a slot, a missed slot posted late once with a note, slots that follow the report's time
 * zone through DST changes, and two replicas that post once between them.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { reportDefinition } from "../../../src/app/reports.js";
import type { Message } from "../../../src/core/message.js";
import { messageToPlainText } from "../../../src/core/message.js";
import type { KeyValueRecord } from "../../../src/core/record.js";
import { ReportScheduler } from "../../../src/reports/scheduler.js";
import { FileRecord } from "../../../src/state/file-record.js";
import { MemoryRecord } from "../../../src/state/record.js";
import { type ReportState, reportState } from "../../helpers/report-state.js";

interface Post {
  to: string[];
  key: string;
  message: Message;
}

function scheduler(
  s: ReportState,
  runs: KeyValueRecord,
  posts: Post[],
  opts: {
    isLeader?: () => boolean;
    report?: { schedule: string; timezone?: string; onlyProblems?: boolean };
  } = {},
) {
  const r = opts.report ?? { schedule: "0 9 * * *", timezone: "Europe/Berlin" };
  const def = reportDefinition({
    name: "daily",
    schedule: r.schedule,
    ...(r.timezone ? { timezone: r.timezone } : {}),
    to: ["ops"],
    onlyProblems: r.onlyProblems ?? false,
    staleLockDays: 7,
  });
  return new ReportScheduler([def], {
    build: (d, time) => s.reports.builder.build(d, time),
    post: (to, key, message) => posts.push({ to, key, message }),
    runs,
    clock: s.clock,
    ...(opts.isLeader ? { isLeader: opts.isLeader } : {}),
  });
}

describe("ReportScheduler", () => {
  it("posts once per slot as the clock passes it, in the report's time zone", async () => {
    const s = await reportState();
    const posts: Post[] = [];
    const sch = scheduler(s, new MemoryRecord(), posts);
    s.clock.set("2026-01-05T07:00:00Z");
    expect(await sch.tick("daily")).toBe("baseline"); // first start: no backlog
    s.clock.set("2026-01-05T07:59:59Z");
    expect(await sch.tick("daily")).toBe("done");
    s.clock.set("2026-01-05T08:00:00Z"); // 09:00 in Berlin
    expect(await sch.tick("daily")).toBe("posted");
    s.clock.set("2026-01-05T08:00:40Z"); // node-cron and the catch-up check meet
    expect(await sch.tick("daily")).toBe("done");
    s.clock.set("2026-01-06T08:00:01Z");
    expect(await sch.tick("daily")).toBe("posted");
    expect(posts.map((p) => p.key)).toEqual([
      "report:daily:2026-01-05T08:00:00.000Z",
      "report:daily:2026-01-06T08:00:00.000Z",
    ]);
    expect(posts[0]?.to).toEqual(["ops"]);
    expect(messageToPlainText(posts[0]?.message as Message)).toContain(
      "Period: 2026-01-04 09:00 (Europe/Berlin) – 2026-01-05 09:00 (Europe/Berlin)",
    );
    expect(messageToPlainText(posts[0]?.message as Message)).not.toContain("Posted late");
  });

  it("does not post a slot again after a restart inside it (file run record)", async () => {
    const s = await reportState();
    const file = join(mkdtempSync(join(tmpdir(), "report-runs-")), "report-runs.json");
    const posts: Post[] = [];
    s.clock.set("2026-01-05T07:00:00Z");
    const first = scheduler(s, new FileRecord(file), posts);
    await first.tick("daily");
    s.clock.set("2026-01-05T08:00:00Z");
    expect(await first.tick("daily")).toBe("posted");
    // The process restarts 20 s later: a new scheduler over a new record on the same file.
    s.clock.set("2026-01-05T08:00:20Z");
    const second = scheduler(s, new FileRecord(file), posts);
    expect(await second.tick("daily")).toBe("done");
    expect(posts).toHaveLength(1);
  });

  it("posts a slot missed while the bot was down late, once, saying so", async () => {
    const s = await reportState();
    const runs = new MemoryRecord();
    const posts: Post[] = [];
    s.clock.set("2026-01-05T07:00:00Z");
    const before = scheduler(s, runs, posts);
    await before.tick("daily");
    s.clock.set("2026-01-05T08:00:00Z");
    expect(await before.tick("daily")).toBe("posted");
    // Down from 01-05 noon until 01-07 10:00 UTC: the 01-06 and 01-07 slots passed.
    s.clock.set("2026-01-07T10:00:00Z");
    const after = scheduler(s, runs, posts);
    expect(await after.tick("daily")).toBe("posted-late");
    expect(await after.tick("daily")).toBe("done");
    s.clock.set("2026-01-07T10:00:30Z");
    expect(await after.tick("daily")).toBe("done");
    expect(posts).toHaveLength(2);
    const late = messageToPlainText(posts[1]?.message as Message);
    expect(late).toContain(
      "Posted late: this report was due at 2026-01-07 09:00 (Europe/Berlin), when no bot was running to post it; 1 earlier slot(s) were missed too",
    );
    expect(posts[1]?.key).toBe("report:daily:2026-01-07T08:00:00.000Z");
  });

  it("follows daylight-saving changes of the report's time zone", async () => {
    const s = await reportState();
    const posts: Post[] = [];
    const sch = scheduler(s, new MemoryRecord(), posts);
    s.clock.set("2026-03-27T12:00:00Z");
    await sch.tick("daily");
    // 09:00 in Berlin is 08:00 UTC before the change (CET) and 07:00 UTC after it (CEST).
    for (const at of [
      "2026-03-28T07:59:00Z",
      "2026-03-28T08:00:00Z",
      "2026-03-29T06:59:00Z",
      "2026-03-29T07:00:00Z",
    ]) {
      s.clock.set(at);
      await sch.tick("daily");
    }
    expect(posts.map((p) => p.key)).toEqual([
      "report:daily:2026-03-28T08:00:00.000Z",
      "report:daily:2026-03-29T07:00:00.000Z",
    ]);
  });

  it("posts a 02:30 report once on both DST days: moved to 03:30 in spring, the first 02:30 in autumn", async () => {
    const s = await reportState();
    const posts: Post[] = [];
    const sch = scheduler(s, new MemoryRecord(), posts, {
      report: { schedule: "30 2 * * *", timezone: "Europe/Berlin" },
    });
    s.clock.set("2026-03-28T12:00:00Z");
    await sch.tick("daily");
    // 2026-03-29 has no 02:30 in Berlin (02:00 -> 03:00): the slot is 03:30 CEST = 01:30 UTC.
    for (const at of ["2026-03-29T00:59:00Z", "2026-03-29T01:30:10Z", "2026-03-29T02:30:00Z"]) {
      s.clock.set(at);
      await sch.tick("daily");
    }
    // 2026-10-25 has 02:30 twice (CEST, then CET): one post, at the first.
    s.clock.set("2026-10-24T12:00:00Z");
    await sch.tick("daily"); // posts 10-24 late (the clock jumped): not what this asserts
    for (const at of ["2026-10-25T00:30:05Z", "2026-10-25T01:30:05Z"]) {
      s.clock.set(at);
      await sch.tick("daily");
    }
    const keys = posts.map((p) => p.key);
    expect(keys.filter((k) => k.includes("2026-03-29"))).toEqual(["report:daily:2026-03-29T01:30:00.000Z"]);
    expect(keys.filter((k) => k.includes("2026-10-25"))).toEqual(["report:daily:2026-10-25T00:30:00.000Z"]);
  });

  it("two replicas post once: the leader posts, the follower does not, a failover in the slot does not repeat", async () => {
    const s = await reportState();
    const shared = new MemoryRecord("gitops-bot-reports"); // the ConfigMap both replicas read
    const posts: Post[] = [];
    let leader: "a" | "b" = "a";
    const a = scheduler(s, shared, posts, { isLeader: () => leader === "a" });
    const b = scheduler(s, shared, posts, { isLeader: () => leader === "b" });
    s.clock.set("2026-01-05T07:00:00Z");
    await a.tick("daily");
    s.clock.set("2026-01-05T08:00:00Z");
    expect([await a.tick("daily"), await b.tick("daily")]).toEqual(["posted", "follower"]);
    leader = "b"; // a dies, b takes over inside the slot
    s.clock.set("2026-01-05T08:00:25Z");
    expect(await b.tick("daily")).toBe("done");
    // Both believe they lead (a lease handover): the slot is claimed once.
    const both = [
      scheduler(s, shared, posts, { isLeader: () => true }),
      scheduler(s, shared, posts, { isLeader: () => true }),
    ];
    s.clock.set("2026-01-06T08:00:00Z");
    const outcomes = await Promise.all(both.map((x) => x.tick("daily")));
    expect(outcomes.sort()).toEqual(["duplicate", "posted"]);
    expect(posts.map((p) => p.key)).toEqual([
      "report:daily:2026-01-05T08:00:00.000Z",
      "report:daily:2026-01-06T08:00:00.000Z",
    ]);
  });

  it("onlyProblems: a slot with nothing to report is claimed but not posted", async () => {
    const s = await reportState();
    s.sync.status = { ...s.sync.status, result: "success", errors: [], drift: [] };
    s.images.candidates = {}; // every automated image runs the newest tag
    s.images.status = { status: "ready", reason: "UpToDate", message: "up to date" };
    for (const r of s.helm.releases) r.phase = "Deployed";
    await s.approvals.delete("k7m2q9xa");
    await s.ops.unlock({
      app: "frontend",
      env: "prod",
      actor: { id: "x", name: "x", identity: { name: "x", email: "x@x" } },
    });
    await s.ops.unlock({
      app: "podinfo",
      env: "stg",
      actor: { id: "x", name: "x", identity: { name: "x", email: "x@x" } },
    });
    const posts: Post[] = [];
    const runs = new MemoryRecord();
    const sch = scheduler(s, runs, posts, { report: { schedule: "0 9 * * *", onlyProblems: true } });
    s.clock.set("2026-01-05T07:00:00Z");
    await sch.tick("daily");
    s.clock.set("2026-01-05T09:00:00Z");
    expect(await sch.tick("daily")).toBe("healthy");
    s.sync.status = { ...s.sync.status, result: "failed", message: "the API server refused the apply" };
    s.clock.set("2026-01-06T09:00:00Z");
    expect(await sch.tick("daily")).toBe("posted");
    expect(posts).toHaveLength(1);
    expect(messageToPlainText(posts[0]?.message as Message)).toContain("the last sync of prod-eu failed");
  });
});
