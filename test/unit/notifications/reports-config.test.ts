/** `notifications.reports`: schedules and destinations are checked when the config loads. */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../src/config/load.js";

const base = (reports: unknown[]) => ({
  repo: { url: "/tmp/x" },
  notifications: {
    destinations: [{ name: "ops", type: "webhook", url: "https://hooks.example.com/x" }],
    reports,
  },
});

function problems(reports: unknown[]): string[] {
  try {
    parseConfig(base(reports));
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
}

describe("notifications.reports config", () => {
  it("accepts 5- and 6-field cron expressions, nicknames and IANA time zones", () => {
    expect(
      problems([
        { name: "morning", schedule: "0 9 * * 1-5", timezone: "Europe/Berlin", to: ["ops"] },
        { name: "often", schedule: "*/30 * * * * *", to: ["ops"] },
        { name: "daily", schedule: "@daily", to: ["ops"], onlyProblems: true },
      ]),
    ).toEqual([]);
  });

  it("names the report, the field and the cause of every mistake at once", () => {
    const found = problems([
      { name: "bad-cron", schedule: "every morning", to: ["ops"] },
      { name: "bad-zone", schedule: "0 9 * * *", timezone: "Mars/Olympus_Mons", to: ["ops"] },
      { name: "nowhere", schedule: "0 9 * * *", to: ["chat"] },
      { name: "Bad Name", schedule: "0 9 * * *", to: ["ops"] },
      { name: "nowhere", schedule: "0 9 * * *", to: ["ops"] },
    ]);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^notifications\.reports\[0\]\.schedule: invalid schedule "every morning"/),
        expect.stringMatching(
          /^notifications\.reports\[1\]\.schedule: invalid schedule "0 9 \* \* \*" in Mars\/Olympus_Mons/,
        ),
        expect.stringMatching(/^notifications\.reports\[2\]\.to\[0\]: unknown destination chat/),
        expect.stringMatching(/^notifications\.reports\[3\]\.name: /),
        expect.stringMatching(/^notifications\.reports\[4\]\.name: duplicate report name nowhere/),
      ]),
    );
  });

  it("takes sections, envs and the lock-age nudge, and names the report and the field of a bad value", () => {
    expect(
      problems([
        {
          name: "prod-digest",
          schedule: "0 8 * * 1-5",
          timezone: "America/New_York",
          to: ["ops"],
          sections: ["releases", "sync", "locks"],
          envs: ["prod"],
          onlyProblems: true,
          staleLockDays: 3,
        },
      ]),
    ).toEqual([]);
    const found = problems([
      {
        name: "weekly",
        schedule: "0 25 * * 1",
        to: ["ops"],
        sections: ["releases", "charts"],
        staleLockDays: 0,
      },
    ]);
    expect(found).toEqual(
      expect.arrayContaining([
        'notifications.reports[0].schedule: invalid schedule "0 25 * * 1" (report weekly): hour field: 25 is an invalid expression for hour',
        expect.stringMatching(/^notifications\.reports\[0\]\.sections\[1\]: /),
        expect.stringMatching(/^notifications\.reports\[0\]\.staleLockDays: /),
      ]),
    );
  });
});
