/**
 * Reports on demand: `gitops-bot report` as a subprocess over a real git repo (plain text and
 * JSON, exit codes), and the `report` chat command, which replies with what the schedule posts
 * for the same state and time.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultExamplesDir, prepareDemoRepo } from "../../src/app/demo.js";
import { CommandEngine } from "../../src/bot/engine.js";
import type { Message } from "../../src/core/message.js";
import { ReportScheduler } from "../../src/reports/scheduler.js";
import { MemoryRecord } from "../../src/state/record.js";
import { runCli } from "../helpers/cli.js";
import { reportState } from "../helpers/report-state.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const cli = (args: string[], env: Record<string, string>) =>
  runCli(args, { env: { KUBECONFIG: "", ...env } });

async function configFile(): Promise<{ config: string; home: string }> {
  const dir = await mkdtemp(join(tmpdir(), "report-it-"));
  dirs.push(dir);
  const { repo } = await prepareDemoRepo(dir, defaultExamplesDir());
  const config = join(dir, "gitops-bot.yaml");
  await writeFile(
    config,
    `clusterName: laptop
repo:
  url: ${repo}
  workdir: ${join(dir, "work")}
notifications:
  destinations:
    - { name: ops, type: webhook, url: "https://hooks.example.com/\${HOOK_TOKEN}" }
  reports:
    - { name: daily, schedule: "0 9 * * *", timezone: Europe/Berlin, to: [ops] }
    - { name: prod, schedule: "0 9 * * 1", envs: [prod], sections: [releases, locks], to: [ops] }
`,
  );
  return { config, home: dir };
}

describe("gitops-bot report", () => {
  it("prints a report as plain text and as JSON, the secret of a destination nowhere", async () => {
    const { config, home } = await configFile();
    const env = { HOME: home, HOOK_TOKEN: "s3cr3t-hook-token-123" };
    const text = await cli(["report", "daily", "--config", config, "--print"], env);
    expect(text.stderr).toBe("");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^Sync report: laptop \(daily\)\nPeriod: \d{4}-\d\d-\d\d 09:00 \(Europe\/Berlin\) – /,
    );
    expect(text.stdout).toMatch(/== Release matrix ==\napp +dev +stg +prod/);
    expect(text.stdout).toContain("podinfo stg -> prod: 0.4.10 -> stg-9ij63o4c");
    expect(text.stdout).toContain("== Sync ==\nlaptop: no sync reconciler runs (no cluster configured)");
    expect(text.stdout).toContain("== Pending approvals (0) ==\nNo approvals pending.");

    const json = await cli(["report", "prod", "--config", config, "--json"], env);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as {
      name: string;
      envs: string[];
      sections: { id: string; data: unknown }[];
    };
    expect(doc.name).toBe("prod");
    expect(doc.envs).toEqual(["prod"]);
    expect(doc.sections.map((s) => s.id)).toEqual(["releases", "locks"]);
    expect(`${text.stdout}${json.stdout}`).not.toContain("s3cr3t-hook-token-123");
  });

  it("names the reports there are when the name is unknown (exit 1)", async () => {
    const { config, home } = await configFile();
    const r = await cli(["report", "daly", "--config", config], { HOME: home, HOOK_TOKEN: "x" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: no report named "daly"; did you mean daily?');
    expect(r.stderr).toContain("hint: Reports: daily, prod (notifications.reports)");
  });
});

describe("the report chat command", () => {
  it("replies to the asker with what the schedule posts for the same state and time", async () => {
    const s = await reportState();
    const engine = new CommandEngine({ ops: s.ops, reports: s.reports.runner, clock: s.clock });
    const posts: Message[] = [];
    const scheduler = new ReportScheduler(s.reports.definitions, {
      build: (d, time) => s.reports.builder.build(d, time),
      post: (_to, _key, m) => posts.push(m),
      runs: new MemoryRecord(),
      clock: s.clock,
    });
    s.clock.set("2026-01-12T07:00:00Z");
    await scheduler.tick("daily");
    s.clock.set("2026-01-12T08:00:00Z"); // the 09:00 Berlin slot
    expect(await scheduler.tick("daily")).toBe("posted");

    const r = await engine.execute({
      id: "inv-report-1",
      platform: "slack",
      text: "report daily",
      user: { id: "slack:UEVE", name: "eve" },
      channel: "CRELEASE",
      receivedAt: s.clock.now(),
    });
    expect(r.outcome).toBe("ok");
    expect(r.message.visibility).toBe("actor");
    expect({ ...r.message, visibility: "channel" }).toEqual(posts[0]);
    // Every section is in it, the image automation and Helm ones included.
    const posted = JSON.stringify(posts[0]);
    for (const title of [
      "Image automation (7)",
      "Helm releases (3)",
      "No auto-releases in this period.",
      "rolled back to revision 7",
    ])
      expect(posted).toContain(title);
    expect(r.results).toEqual([]); // read-only: no commit
  });

  it("is listed in help, and a typo gets the list of reports", async () => {
    const s = await reportState();
    const engine = new CommandEngine({ ops: s.ops, reports: s.reports.runner, clock: s.clock });
    const inv = (id: string, text: string) => ({
      id,
      platform: "slack" as const,
      text,
      user: { id: "slack:UEVE", name: "eve" },
      channel: "C1",
      receivedAt: new Date(),
    });
    const help = await engine.execute(inv("h", "help"));
    expect(help.message.fallbackText).toContain("report [<name>]");
    const typo = await engine.execute(inv("t", "report daly"));
    expect(typo.outcome).toBe("user-error");
    expect(typo.error?.message).toBe('no report named "daly"; did you mean daily?');
    expect(typo.error?.hint).toContain("Reports: daily, prod-problems");
  });
});
