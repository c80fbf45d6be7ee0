/**
 * Golden files for each report section on Slack, Teams and plain text, over one deterministic state
 * (test/helpers/report-state.ts). `UPDATE_GOLDEN=1 npx vitest run test/unit/reports` rewrites
 * test/fixtures/reports/. Plus what a reader depends on: the section shows up with its problems,
 * long lists end in a count and a link, and the Slack/Teams messages stay within platform limits.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderText } from "../../../src/chat/shell/render.js";
import { renderSlack } from "../../../src/chat/slack/render.js";
import { renderTeams } from "../../../src/chat/teams/render.js";
import { CronSchedule } from "../../../src/core/cron.js";
import type { ReportSectionId } from "../../../src/core/report.js";
import { ReportBuilder, type ReportDefinition, SectionRegistry } from "../../../src/reports/report.js";
import { alice, reportState } from "../../helpers/report-state.js";

const dir = join(import.meta.dirname, "../../fixtures/reports");
const update = process.env["UPDATE_GOLDEN"] === "1";

function golden(file: string, actual: string): void {
  const path = join(dir, file);
  if (update) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  expect(existsSync(path), `missing golden ${file}; run with UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(readFileSync(path, "utf8"));
}

const NOW = new Date("2026-01-12T08:00:00Z"); // 09:00 in Berlin: the daily slot

function def(id: ReportSectionId, schedule = "0 9 * * *"): ReportDefinition {
  return {
    name: id,
    schedule: CronSchedule.parse(schedule, "Europe/Berlin"),
    sections: [id],
    onlyProblems: false,
    staleLockDays: 7,
  };
}

const CASES: { id: ReportSectionId; schedule?: string; problems: RegExp[]; shows: RegExp[] }[] = [
  {
    id: "releases",
    problems: [],
    shows: [
      /podinfo stg → prod: `0\.4\.10` → `dev-abc12345`/,
      /\*prod\*\\nfrontend/,
      /\*stg\* · automation frozen/,
    ],
  },
  {
    id: "sync",
    problems: [/1 object\(s\) failed to apply/, /1 object\(s\) drifted/],
    shows: [/prod:deployment\/web/, /spec\.replicas: Invalid value: -1/, /partly synced/],
  },
  {
    id: "locks",
    problems: [/1 freeze\(s\) older than 7 days/, /2 lock\(s\) older than 7 days/],
    shows: [
      /db migration \(11 d\)/,
      /still needed\?/,
      /automation frozen by bob &lt;bob@example.com&gt;: release weekend, back on monday \(11 d\)/,
    ],
  },
  {
    id: "approvals",
    problems: [/1 approval\(s\) pending/],
    shows: [/promote podinfo stg prod/, /1 more from anyone allowed in prod other than bob/],
  },
  // A yearly slot, so the period holds the auto-release the test commits.
  {
    id: "automation",
    schedule: "0 1 1 1 *",
    problems: [/1 automated image\(s\) cannot be updated: registry errors/, /1 automated image\(s\) stalled/],
    shows: [
      /podinfo `dev-e1e2e3e4` → `dev-f00dcafe` on the next cycle/,
      /\*stg\* · frozen by bob &lt;bob@example.com&gt;: release weekend, back on monday \(11 d\)/,
      /frontend\/web `1\.4\.2` → `1\.5\.0` waits \(2 newer\): locked by alice: db migration/,
      /frontend\/proxy `1\.27\.3` \*waits: docker\.io\/library\/nginx: 429/,
      /Auto-releases \(1\)/,
      /dev\/podinfo chart-image: dev-abc12345 -&gt; dev-e1e2e3e4 \(releases\/dev\/podinfo\.yaml\)/,
    ],
  },
  {
    id: "helm",
    problems: [/^1 Helm release\(s\) failed$/m, /^1 Helm release\(s\) rolled back$/m],
    shows: [
      /0 of 3 release\(s\) deployed/,
      /podinfo \*failed\* \(`stg\/podinfo-rc` rev 3\): upgrade failed: values don't meet/,
      /rolled back to revision 7/,
      /podinfo pending \(`dev\/podinfo-dev` rev 5\)/,
    ],
  },
  // A yearly slot, so the period holds the commits the state was built with (and a dozen more).
  { id: "activity", schedule: "0 1 1 1 *", problems: [], shows: [/… and \d+ more/, /by person/] },
];

describe("report sections", () => {
  for (const c of CASES) {
    it(`${c.id}: renders the same data for Slack, Teams and text (golden)`, async () => {
      const s = await reportState();
      if (c.id === "automation") {
        const actor = { ...alice, id: "automation:image", name: "image-automation" };
        const updates = [{ app: "podinfo", env: "dev", container: "chart-image", tag: "dev-e1e2e3e4" }];
        await s.ops.autoRelease({ updates, actor });
      }
      if (c.id === "activity") {
        for (let k = 0; k < 6; k++) {
          await s.ops.lock({ app: "podinfo", env: "dev", actor: alice, message: `try ${k}` });
          await s.ops.unlock({ app: "podinfo", env: "dev", actor: alice });
        }
      }
      const r = await s.reports.builder.build(def(c.id, c.schedule), { now: NOW });
      const slack = renderSlack(r.message);
      const teams = renderTeams(r.message);
      golden(`${c.id}.slack.json`, `${JSON.stringify(slack, null, 2)}\n`);
      golden(`${c.id}.teams.json`, `${JSON.stringify(teams, null, 2)}\n`);
      golden(`${c.id}.txt`, r.text);
      golden(`${c.id}.chat.txt`, renderText(r.message, { color: false }));

      expect(r.problems).toHaveLength(c.problems.length);
      for (const p of c.problems) expect(r.problems.join("\n")).toMatch(p);
      for (const re of c.shows) expect(JSON.stringify(slack)).toMatch(re);
      expect(JSON.stringify(slack).length).toBeLessThan(40_000);
    });
  }

  it("truncates a long list with the count of the rest and a link to the repo", async () => {
    const s = await reportState();
    for (let k = 0; k < 6; k++) {
      await s.ops.lock({ app: "podinfo", env: "dev", actor: alice, message: `try ${k}` });
      await s.ops.unlock({ app: "podinfo", env: "dev", actor: alice });
    }
    const r = await s.reports.builder.build(def("activity", "0 1 1 1 *"), { now: NOW });
    const blocks = JSON.stringify(r.message.blocks);
    expect(blocks).toContain('"text":"… and 7 more commits","url":"https://git.example.com/org/config"');
    // The text form (for scripts) keeps the whole list.
    expect(r.text.match(/^ {2}[0-9a-f]{7} /gm)).toHaveLength(17);
  });

  it("a mistake in the freezes file is a problem of the locks section, with the file and the mistake", async () => {
    const s = await reportState();
    s.repo.commitFiles({ ".gitops-bot/freezes.yaml": "freezes: [\n" }, "hand edit");
    const r = await s.reports.builder.build(def("locks"), { now: NOW });
    expect(r.problems).toContain("1 mistake(s) in the freezes file (.gitops-bot/freezes.yaml)");
    expect(r.text).toMatch(/mistake: \.gitops-bot\/freezes\.yaml: invalid YAML/);
    expect(JSON.stringify(renderSlack(r.message))).toContain(".gitops-bot/freezes.yaml: invalid YAML");
  });

  it("says a section is not available when nothing in the process provides it", async () => {
    const builder = new ReportBuilder({
      sections: new SectionRegistry(),
      cluster: "c",
      envs: async () => ["dev"],
    });
    const r = await builder.build(def("automation"), { now: NOW });
    expect(r.text).toContain("== Image automation ==\nnot available here");
    expect(r.problems).toEqual([]);
  });
});
