/**
 * Cron slots computed from a clock we control (issue #14). node-cron fires the scheduled reports in
 * production, but it reads the real clock; the report scheduler needs to ask "which slot is due at
 * this instant?" for any instant (a fake clock in tests, "what did we miss while down?" after a
 * restart). So the expression is parsed by node-cron itself (`validateDetailed`, `parse`: same
 * syntax, same errors, same field lists) and the slots are walked here, in the schedule's IANA time
 * zone, with node-cron's day semantics (day-of-month AND day-of-week, `L`, `L-n`, `nW`, `nL`, `n#k`).
 *
 * Daylight-saving time: a local time that occurs twice (autumn) is one slot, the first occurrence;
 * a local time that does not exist (spring) moves forward by the gap (02:30 -> 03:30), like
 * Temporal's "compatible" disambiguation, so a report is never silently skipped on that day.
 */
import { parse as cronParse, validateDetailed } from "node-cron";

type DayToken = number | string;

/** The calendar fields of an instant in a time zone. */
interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const NICKNAMES = new Set(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]);
const MAX_DAYS = 366 * 30;
const DAY_MS = 86_400_000;

const wallMs = (l: LocalTime) => Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);

/** Why `timezone` is not an IANA time zone this runtime knows, or undefined. */
export function timezoneProblem(timezone: string): string | undefined {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return undefined;
  } catch {
    return `unknown time zone ${JSON.stringify(timezone)}; use an IANA name such as Europe/Berlin or UTC`;
  }
}

/** A parsed cron expression in a time zone: computes slots for any instant. */
export class CronSchedule {
  private readonly seconds: number[];
  private readonly minutes: number[];
  private readonly hours: number[];
  private readonly months: Set<number>;
  private readonly doms: DayToken[];
  private readonly dows: DayToken[];
  private readonly fmt: Intl.DateTimeFormat;

  private constructor(
    readonly expression: string,
    readonly timezone: string,
  ) {
    const f = cronParse(expression);
    const asc = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);
    this.seconds = asc(f.second);
    this.minutes = asc(f.minute);
    this.hours = asc(f.hour);
    this.months = new Set(f.month);
    this.doms = f.dayOfMonth;
    this.dows = f.dayOfWeek;
    this.fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  }

  /**
   * Parses `expression` (5 fields, 6 with seconds first, or `@daily` and friends) in `timezone`
   * (default UTC). Throws an `Error` whose message names the field and what is wrong with it.
   */
  static parse(expression: string, timezone = "UTC"): CronSchedule {
    const expr = expression.trim();
    const zone = timezoneProblem(timezone);
    if (zone) throw new Error(zone);
    if (expr.startsWith("@") && !NICKNAMES.has(expr))
      throw new Error(`unknown nickname ${expr}; use one of ${[...NICKNAMES].join(", ")}`);
    const v = validateDetailed(expr);
    if (!v.valid) {
      const why = v.errors.map((e) =>
        e.field === "expression"
          ? e.message
          : `${e.field} field: ${e.message.replace(/ a invalid/, " an invalid")}`,
      );
      throw new Error(why.join("; ") || "not a cron expression");
    }
    const s = new CronSchedule(expr, timezone);
    if (s.next(new Date(0)) === undefined) throw new Error("it never fires");
    return s;
  }

  /** The first slot strictly after `after`, or undefined when none comes within 30 years. */
  next(after: Date): Date | undefined {
    return this.find(after, 1);
  }

  /** The latest slot at or before `at`, or undefined when none came within 30 years. */
  previous(at: Date): Date | undefined {
    return this.find(at, -1);
  }

  /**
   * Walks local days from the day of `at` (forwards or backwards) and returns the nearest slot
   * after (`dir` 1, strictly) or at/before (`dir` -1) `at`. Wall times are visited in order; the
   * zone's offsets around the day bound how far an instant can be from its wall time, so the walk
   * stops as soon as no later wall time can give a nearer instant (a DST change reorders a few).
   */
  private find(at: Date, dir: 1 | -1): Date | undefined {
    const t0 = at.getTime();
    let d = this.local(at);
    for (let i = 0; i < MAX_DAYS; i++, d = addDays(d, dir)) {
      if (!this.dayMatches(d)) continue;
      const noon = wallMs({ ...d, hour: 12, minute: 0, second: 0 });
      const offs = [this.offset(noon - 2 * DAY_MS), this.offset(noon + 2 * DAY_MS)];
      const lo = Math.min(...offs);
      const hi = Math.max(...offs);
      let best: number | undefined;
      for (const l of this.wallTimes(d, dir)) {
        const w = wallMs(l);
        // Instants of wall time w lie in [w - hi, w - lo].
        if (dir === 1 ? w - lo <= t0 : w - hi > t0) continue;
        if (best !== undefined && (dir === 1 ? w - hi > best : w - lo < best)) break;
        const t = lo === hi ? w - lo : this.toInstant(l);
        const ok = dir === 1 ? t > t0 : t <= t0;
        if (ok && (best === undefined || (dir === 1 ? t < best : t > best))) best = t;
      }
      if (best !== undefined) return new Date(best);
    }
    return undefined;
  }

  /** The slot times of local day `d`, in wall-clock order (`dir` -1: latest first). */
  private *wallTimes(d: LocalTime, dir: 1 | -1): Generator<LocalTime> {
    const order = (xs: number[]) => (dir === 1 ? xs : [...xs].reverse());
    for (const hour of order(this.hours))
      for (const minute of order(this.minutes))
        for (const second of order(this.seconds)) yield { ...d, hour, minute, second };
  }

  /** How many slots lie strictly between `from` and `to` (counted up to `cap`). */
  countBetween(from: Date, to: Date, cap = 1000): number {
    let n = 0;
    for (let s = this.next(from); s && s.getTime() < to.getTime() && n < cap; s = this.next(s)) n++;
    return n;
  }

  /** `2026-03-30 09:00 (Europe/Berlin)`: an instant as the schedule's wall clock shows it. */
  format(at: Date): string {
    const l = this.local(at);
    const p = (n: number) => String(n).padStart(2, "0");
    const secs = this.seconds.length === 1 && this.seconds[0] === 0 ? "" : `:${p(l.second)}`;
    return `${l.year}-${p(l.month)}-${p(l.day)} ${p(l.hour)}:${p(l.minute)}${secs} (${this.timezone})`;
  }

  private local(at: Date): LocalTime {
    const parts: Record<string, number> = {};
    for (const p of this.fmt.formatToParts(at)) if (p.type !== "literal") parts[p.type] = Number(p.value);
    return {
      year: parts["year"] ?? 0,
      month: parts["month"] ?? 0,
      day: parts["day"] ?? 0,
      hour: (parts["hour"] ?? 0) % 24,
      minute: parts["minute"] ?? 0,
      second: parts["second"] ?? 0,
    };
  }

  /** The instant of a wall-clock time: the first of two (autumn), shifted by the gap (spring). */
  private toInstant(l: LocalTime): number {
    const wall = wallMs(l);
    const before = this.offset(wall - 86_400_000);
    const after = this.offset(wall + 86_400_000);
    const candidates = [wall - before, wall - after].filter((t) => this.offset(t) === wall - t);
    if (candidates.length > 0) return Math.min(...candidates);
    return wall - before; // in the gap: the offset before the change moves it forward by the gap
  }

  /** The zone's UTC offset (ms) at instant `t`. */
  private offset(t: number): number {
    return wallMs(this.local(new Date(t))) - Math.floor(t / 1000) * 1000;
  }

  private dayMatches(d: LocalTime): boolean {
    if (!this.months.has(d.month)) return false;
    const weekday = new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay();
    return (
      this.doms.some((v) => domMatches(v, d.year, d.month, d.day)) &&
      this.dows.some((v) => dowMatches(v, d.year, d.month, d.day, weekday))
    );
  }
}

function addDays(d: LocalTime, n: number): LocalTime {
  const x = new Date(Date.UTC(d.year, d.month - 1, d.day + n));
  return { ...d, year: x.getUTCFullYear(), month: x.getUTCMonth() + 1, day: x.getUTCDate() };
}

const lastDay = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

function nearestWeekday(y: number, m: number, target: number): number {
  const last = lastDay(y, m);
  if (target < 1 || target > last) return -1;
  const wd = new Date(Date.UTC(y, m - 1, target)).getUTCDay();
  if (wd === 6) return target === 1 ? target + 2 : target - 1;
  if (wd === 0) return target === last ? target - 2 : target + 1;
  return target;
}

/** node-cron's day-of-month tokens: a number, `L`, `L-n`, `nW`, `LW`. */
function domMatches(v: DayToken, y: number, m: number, day: number): boolean {
  if (typeof v === "number") return v === day;
  if (v === "L") return day === lastDay(y, m);
  const w = /^(\d{1,2}|L)W$/.exec(v);
  if (w) return nearestWeekday(y, m, w[1] === "L" ? lastDay(y, m) : Number(w[1])) === day;
  const off = /^L-(\d{1,2})$/.exec(v);
  return off ? lastDay(y, m) - Number(off[1]) === day : false;
}

/** node-cron's day-of-week tokens: a number (0 = Sunday), `nL` (last), `n#k` (k-th in the month). */
function dowMatches(v: DayToken, y: number, m: number, day: number, weekday: number): boolean {
  if (typeof v === "number") return v % 7 === weekday;
  const last = /^([0-7])L$/i.exec(v);
  if (last) return Number(last[1]) % 7 === weekday && day + 7 > lastDay(y, m);
  const nth = /^([0-7])#([1-5])$/.exec(v);
  return nth ? Number(nth[1]) % 7 === weekday && Math.floor((day - 1) / 7) + 1 === Number(nth[2]) : false;
}
