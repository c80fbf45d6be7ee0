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

  it("rejects an unknown key in the file, naming it, without --json too", async () => {
    const file = join(dir, "typo.yaml");
    await writeFile(file, `repo:\n  url: ${repoPath}\n  branhc: main\n`);
    const err = await runCheck(["--config", file], { stdout: capture().stdout, env: {} }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('repo.branhc: unknown key; did you mean "branch"?');
  });
});
