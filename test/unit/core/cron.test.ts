/** Cron slots computed from any instant, with node-cron's syntax, in IANA time zones. */
import { describe, expect, it } from "vitest";
import { CronSchedule } from "../../../src/core/cron.js";

const iso = (d: Date | undefined) => d?.toISOString();

describe("CronSchedule", () => {
  it("finds the next and the latest slot for weekday mornings in Berlin", () => {
    const s = CronSchedule.parse("0 9 * * 1-5", "Europe/Berlin");
    // Friday 2026-01-09 10:00 UTC: next is Monday 09:00 CET, latest was Friday 09:00 CET.
    expect(iso(s.next(new Date("2026-01-09T10:00:00Z")))).toBe("2026-01-12T08:00:00.000Z");
    expect(iso(s.previous(new Date("2026-01-09T10:00:00Z")))).toBe("2026-01-09T08:00:00.000Z");
    expect(iso(s.previous(new Date("2026-01-09T08:00:00Z")))).toBe("2026-01-09T08:00:00.000Z");
    expect(s.format(new Date("2026-01-09T08:00:00Z"))).toBe("2026-01-09 09:00 (Europe/Berlin)");
  });

  it("supports seconds, nicknames, names and node-cron's day tokens", () => {
    expect(iso(CronSchedule.parse("*/30 * * * * *").next(new Date("2026-01-01T00:00:10Z")))).toBe(
      "2026-01-01T00:00:30.000Z",
    );
    expect(iso(CronSchedule.parse("@daily").next(new Date("2026-01-01T00:00:00Z")))).toBe(
      "2026-01-02T00:00:00.000Z",
    );
    expect(iso(CronSchedule.parse("0 9 * * MON").next(new Date("2026-01-01T00:00:00Z")))).toBe(
      "2026-01-05T09:00:00.000Z",
    );
    expect(iso(CronSchedule.parse("0 9 L * *").next(new Date("2026-02-01T00:00:00Z")))).toBe(
      "2026-02-28T09:00:00.000Z",
    );
    expect(iso(CronSchedule.parse("0 9 * * 1#2").next(new Date("2026-01-01T00:00:00Z")))).toBe(
      "2026-01-12T09:00:00.000Z",
    );
  });

  it("counts the slots between two instants (what a restart missed)", () => {
    const s = CronSchedule.parse("0 * * * *");
    expect(s.countBetween(new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T05:00:00Z"))).toBe(4);
  });

  it("keeps one slot per wall-clock time through both DST changes", () => {
    const s = CronSchedule.parse("30 2 * * *", "Europe/Berlin");
    expect(iso(s.next(new Date("2026-03-28T12:00:00Z")))).toBe("2026-03-29T01:30:00.000Z"); // 03:30 CEST
    expect(iso(s.next(new Date("2026-10-24T12:00:00Z")))).toBe("2026-10-25T00:30:00.000Z"); // first 02:30
    expect(iso(s.next(new Date("2026-10-25T00:30:00Z")))).toBe("2026-10-26T01:30:00.000Z"); // not the second
  });

  it("names the field that is wrong, or the time zone", () => {
    const why = (expr: string, tz?: string) => {
      try {
        CronSchedule.parse(expr, tz);
        return "ok";
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(why("every morning")).toBe("expected 5 or 6 fields but got 2");
    expect(why("0 25 * * *")).toBe("hour field: 25 is an invalid expression for hour");
    expect(why("@sometimes")).toMatch(/^unknown nickname @sometimes; use one of @yearly/);
    expect(why("0 9 * * *", "Mars/Olympus_Mons")).toBe(
      'unknown time zone "Mars/Olympus_Mons"; use an IANA name such as Europe/Berlin or UTC',
    );
  });
});
