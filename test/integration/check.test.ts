/**
 * `gitops-bot check`: the configuration and the config repo are validated before anything starts,
 * with every problem reported at once and one broken file not hiding the other apps.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheck } from "../../src/app/check.js";
import { defaultExamplesDir, prepareDemoRepo } from "../../src/app/demo.js";
import { ConfigError } from "../../src/config/load.js";

const run = promisify(execFile);

function capture() {
  let text = "";
  const stdout = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { stdout, text: () => text };
}

describe("gitops-bot check", () => {
  let dir: string;
  let repoPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "check-it-"));
    ({ repo: repoPath } = await prepareDemoRepo(dir, defaultExamplesDir()));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("passes on the example repo and lists what it found", async () => {
    const file = join(dir, "ok.yaml");
    await writeFile(
      file,
      `repo:\n  url: ${repoPath}\n  workdir: ${join(dir, "w1")}\nsync:\n  enabled: false\n`,
    );
    const out = capture();
    expect(await runCheck(["--config", file], { stdout: out.stdout, env: {} })).toBe(0);
    expect(out.text()).toMatch(/ {2}sync: off .*no cluster: no kubeconfig/);
    expect(out.text()).toContain("  helm: off (it runs with the sync, which is off)");
    expect(out.text()).toMatch(/envs: dev, prod, stg|envs: dev, stg, prod/);
    expect(out.text()).toMatch(/apps: .*frontend.*podinfo|apps: .*podinfo.*frontend/);
  });

  it("names the broken file with a hint, and still lists the other apps", async () => {
    await writeFile(
      join(repoPath, "releases/stg/podinfo.yaml"),
      "apiVersion: helm.fluxcd.io/v1\nkind: HelmRelease\nmetadata: [oops\n",
    );
    await run("git", ["-C", repoPath, "commit", "-qam", "break stg podinfo"]);
    const file = join(dir, "broken.yaml");
    await writeFile(file, `repo:\n  url: ${repoPath}\n  workdir: ${join(dir, "w2")}\n`);
    const out = capture();
    expect(await runCheck(["--config", file], { stdout: out.stdout, env: {} })).toBe(1);
    expect(out.text()).toContain("releases/stg/podinfo.yaml");
    expect(out.text()).toMatch(/apps: .*frontend/);
  });

  it("reports every configuration problem at once, with its path", async () => {
    const file = join(dir, "bad.yaml");
    await writeFile(
      file,
      "repo:\n  url: ''\n  auth:\n    token: ${MISSING_TOKEN}\nhttp:\n  port: 99999\nsync:\n  interval: soon\n",
    );
    const err = await runCheck(["--config", file], { stdout: capture().stdout, env: {} }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining(["repo.auth.token", "repo.url", "http.port", "sync.interval"]),
    );
    expect((err as ConfigError).message).toContain("MISSING_TOKEN");
  });

  it("--json prints one machine-readable object: problems with their paths, and warnings", async () => {
    const okFile = join(dir, "json-ok.yaml");
    await writeFile(okFile, `repo:\n  url: ${repoPath}\n  workdir: ${join(dir, "w3")}\nteams: {}\n`);
    const ok = capture();
    expect(await runCheck(["--config", okFile, "--json"], { stdout: ok.stdout, env: {} })).toBe(1);
    const report = JSON.parse(ok.text());
    // The broken stg/podinfo file from the test above is a problem; Teams without appId a warning.
    expect(report).toMatchObject({ ok: false, repo: { branch: "main" } });
    expect(report.problems).toEqual([expect.objectContaining({ file: "releases/stg/podinfo.yaml" })]);
    expect(report.warnings).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: "teams.appId" })]),
    );

    const badFile = join(dir, "json-bad.yaml");
    await writeFile(badFile, "repo:\n  url: /tmp/x\n  branhc: main\n");
    const bad = capture();
    expect(await runCheck(["--config", badFile, "--json"], { stdout: bad.stdout, env: {} })).toBe(1);
    expect(JSON.parse(bad.text())).toEqual({
      ok: false,
      problems: [{ path: "repo.branhc", message: 'unknown key; did you mean "branch"?' }],
      warnings: [],
    });
  });

  it("warns loudly when Teams test mode listens beyond loopback, and not when it stays local or is authenticated", async () => {
    const warningsFor = async (name: string, extra: string) => {
      const file = join(dir, `${name}.yaml`);
      await writeFile(file, `repo:\n  url: ${repoPath}\n  workdir: ${join(dir, name)}\n${extra}`);
      const out = capture();
      await runCheck(["--config", file, "--config-only", "--json"], { stdout: out.stdout, env: {} });
      expect(JSON.parse(out.text()).problems).toEqual([]);
      return (JSON.parse(out.text()).warnings as { path: string; message: string; hint?: string }[]).filter(
        (w) => w.path === "http.host",
      );
    };
    const open = await warningsFor("teams-open", "teams: {}\n");
    expect(open).toHaveLength(1);
    expect(open[0]?.message).toMatch(
      /every interface \(0\.0\.0\.0:8080\).*test mode.*any command as any user/,
    );
    expect(open[0]?.hint).toMatch(/http\.host: 127\.0\.0\.1/);
    const lan = await warningsFor("teams-lan", "http: { host: 10.1.2.3, port: 9000 }\nteams: {}\n");
    expect(lan[0]?.message).toMatch(/listens on 10\.1\.2\.3 \(10\.1\.2\.3:9000\)/);
    expect(await warningsFor("teams-local", "http: { host: 127.0.0.1 }\nteams: {}\n")).toEqual([]);
    expect(
      await warningsFor("teams-auth", "teams: { appId: app, appPassword: pw, tenantId: tenant }\n"),
    ).toEqual([]);

    // Without --json the warning and what to do are printed too.
    const file = join(dir, "teams-open.yaml");
    const text = capture();
    await runCheck(["--config", file, "--config-only"], { stdout: text.stdout, env: {} });
    expect(text.text()).toMatch(/warning: http\.host: the HTTP server listens on every interface/);
    expect(text.text()).toMatch(/hint: for local testing set `http\.host: 127\.0\.0\.1`/);
  });

  it("warns about an authz id without a platform prefix that looks like neither platform's (issue #11)", async () => {
    const file = join(dir, "authz-ids.yaml");
    await writeFile(
      file,
      [
        `repo:\n  url: ${repoPath}\n  workdir: ${join(dir, "authz-ids")}`,
        'authz:\n  rules:\n    - envs: [prod]\n      verbs: [write]\n      users: [U0BOB, alice, "slack:carol"]',
        "",
      ].join("\n"),
    );
    const out = capture();
    await runCheck(["--config", file, "--config-only", "--json"], { stdout: out.stdout, env: {} });
    const report = JSON.parse(out.text()) as {
      problems: unknown[];
      warnings: { path: string; message: string }[];
    };
    expect(report.problems).toEqual([]);
    expect(report.warnings.filter((w) => w.path.startsWith("authz"))).toEqual([
      {
        path: "authz.rules[0].users[1]",
        message: expect.stringMatching(/^"alice" has no platform prefix .* Write slack:alice, teams:alice/),
      },
    ]);
  });

  it("rejects an unknown key in the file, naming it, without --json too", async () => {
    const file = join(dir, "typo.yaml");
    await writeFile(file, `repo:\n  url: ${repoPath}\n  branhc: main\n`);
    const err = await runCheck(["--config", file], { stdout: capture().stdout, env: {} }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('repo.branhc: unknown key; did you mean "branch"?');
  });
});
