/**
 * Posts each scheduled report exactly once per slot (issue #14).
 *
 * - node-cron fires `tick` at each slot (in the report's time zone, `noOverlap`); a check every
 *   `checkEveryMs` (and one at start) calls it too, so a slot this replica was not leader for, a
 *   slot missed while the bot was down, or a DST-shifted slot node-cron does not fire, is caught.
 * - `tick` decides from the clock it is given (`Clock`: a fake one in tests): the due slot is the
 *   latest one at or before now (`CronSchedule`, computed here, not by node-cron's own clock).
 * - Only the leader posts. Before posting it claims the slot in the run record (a `KeyValueRecord`:
 *   a ConfigMap shared by every replica, else a file) with a compare-and-set on the slot, so a
 *   restart or failover within the same slot, or a second replica, never posts it again.
 * - A slot that is more than `lateAfterMs` old when claimed (the bot was down) is posted once, late,
 *   with a note saying so and how many earlier slots were missed; the first start of a report only
 *   records when it started, so a new report never posts a backlog.
 */
import nodeCron, { type ScheduledTask } from "node-cron";
import type { Message } from "../core/message.js";
import { type Clock, type Logger, nullLogger, systemClock } from "../core/ports.js";
import type { KeyValueRecord } from "../core/record.js";
import type { BuiltReport } from "../core/report.js";
import type { BuildTime, ReportDefinition } from "./report.js";

/** A report with a schedule and destinations. */
export type ScheduledReport = ReportDefinition & {
  schedule: NonNullable<ReportDefinition["schedule"]>;
  to: string[];
};

export interface SchedulerDeps {
  build(def: ReportDefinition, time: BuildTime): Promise<BuiltReport>;
  /** Queues a message for destinations (`NotificationRouter.postMessage`). */
  post(to: string[], key: string, message: Message): void;
  /** Which slots were posted: shared by every replica (chosen in `app/state.ts`). */
  runs: KeyValueRecord;
  /** Only the leader posts (default: always). */
  isLeader?: () => boolean;
  clock?: Clock;
  logger?: Logger;
  /** A slot older than this when it is posted is "late" (default 2 min). */
  lateAfterMs?: number;
  /** How often the catch-up check runs (default 30 s). */
  checkEveryMs?: number;
}

export type TickOutcome =
  | "posted"
  | "posted-late"
  | "healthy"
  | "follower"
  | "done"
  | "baseline"
  | "duplicate"
  | "no-slot";

/** What the run record keeps per report. */
interface RunEntry {
  /** When this report was first seen (no slot before it is due). */
  since?: string;
  /** The last slot claimed (posted). */
  slot?: string;
  postedAt?: string;
}

const readEntry = (d: Record<string, string>, name: string): RunEntry => {
  try {
    return d[name] ? (JSON.parse(d[name]) as RunEntry) : {};
  } catch {
    return {};
  }
};

export class ReportScheduler {
  private readonly tasks: ScheduledTask[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(
    private readonly reports: ScheduledReport[],
    private readonly deps: SchedulerDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.logger = (deps.logger ?? nullLogger).child({ component: "reports" });
  }

  /** Schedules every report with node-cron, starts the catch-up check and runs it once now. */
  start(): void {
    for (const r of this.reports) {
      const task = nodeCron.schedule(r.schedule.expression, () => this.tick(r.name), {
        timezone: r.schedule.timezone,
        name: `report-${r.name}`,
        noOverlap: true,
      });
      this.tasks.push(task);
      const next = r.schedule.next(this.clock.now());
      this.logger.info(
        { report: r.name, next: next ? r.schedule.format(next) : undefined },
        "sync report scheduled",
      );
    }
    this.timer = setInterval(() => void this.tickAll(), this.deps.checkEveryMs ?? 30_000);
    this.timer.unref();
    void this.tickAll();
  }

  stop(): void {
    for (const t of this.tasks.splice(0)) void t.destroy();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs `tick` for every report; never throws. */
  async tickAll(): Promise<Record<string, TickOutcome | "error">> {
    const out: Record<string, TickOutcome | "error"> = {};
    for (const r of this.reports) out[r.name] = await this.tick(r.name);
    return out;
  }

  /**
   * Posts report `name` if its latest slot (as of the clock's now) is due and nobody posted it yet.
   * Calls for one report run one after the other (node-cron and the check may meet); never throws.
   */
  tick(name: string): Promise<TickOutcome | "error"> {
    const prev = this.chains.get(name) ?? Promise.resolve();
    const run = prev.then(() =>
      this.tickOnce(name).catch((err: unknown) => {
        this.logger.error({ err, report: name }, "sync report failed");
        return "error" as const;
      }),
    );
    this.chains.set(name, run);
    return run;
  }

  /**
   * Builds and posts report `name` now, outside its schedule (an operator's "post it now"; tests):
   * leader only, `onlyProblems` honoured, the run record untouched.
   */
  async run(name: string): Promise<"posted" | "healthy" | "follower"> {
    const r = this.reports.find((x) => x.name === name);
    if (!r) throw new Error(`no report named ${name}`);
    if (this.deps.isLeader && !this.deps.isLeader()) return "follower";
    const now = this.clock.now();
    const report = await this.deps.build(r, { now });
    if (r.onlyProblems && report.problems.length === 0) return "healthy";
    this.deps.post(r.to, `report:${r.name}:now:${now.toISOString()}`, report.message);
    return "posted";
  }

  private async tickOnce(name: string): Promise<TickOutcome> {
    const r = this.reports.find((x) => x.name === name);
    if (!r) throw new Error(`no report named ${name}`);
    if (this.deps.isLeader && !this.deps.isLeader()) return "follower";
    const now = this.clock.now();
    const slot = r.schedule.previous(now);
    const entry = readEntry(await this.deps.runs.read(), name);
    const baseline = entry.slot ?? entry.since;
    if (!baseline) {
      await this.deps.runs.modify((d) => {
        if (d[name]) return false;
        d[name] = JSON.stringify({ since: now.toISOString() } satisfies RunEntry);
        return true;
      });
      return "baseline";
    }
    if (!slot) return "no-slot";
    if (slot.getTime() <= Date.parse(baseline)) return "done";
    const claimed = await this.deps.runs.modify((d) => {
      const cur = readEntry(d, name);
      if (cur.slot && Date.parse(cur.slot) >= slot.getTime()) return false;
      d[name] = JSON.stringify({
        ...cur,
        slot: slot.toISOString(),
        postedAt: now.toISOString(),
      } satisfies RunEntry);
      return true;
    });
    if (!claimed) return "duplicate";
    const late = now.getTime() - slot.getTime() > (this.deps.lateAfterMs ?? 120_000);
    const missed = r.schedule.countBetween(new Date(baseline), slot);
    const note = late
      ? `this report was due at ${r.schedule.format(slot)}, when no bot was running to post it${
          missed > 0 ? `; ${missed} earlier slot(s) were missed too and are not posted` : ""
        }.`
      : undefined;
    const report = await this.deps.build(r, { now, slot, ...(note ? { note } : {}) });
    if (r.onlyProblems && report.problems.length === 0) return "healthy";
    this.deps.post(r.to, `report:${r.name}:${slot.toISOString()}`, report.message);
    this.logger.info({ report: r.name, slot: slot.toISOString(), late }, "sync report posted");
    return late ? "posted-late" : "posted";
  }
}
