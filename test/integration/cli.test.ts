/** `gitops-bot demo` and `gitops-bot cmd` as subprocesses: piped stdin, output and exit codes. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExamplesDir, prepareDemoRepo } from "../../src/app/demo.js";
import { type GitServer, startGitServer } from "../harness/git-server.js";
import { runCli } from "../helpers/cli.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const cli = (args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<Run> =>
  runCli(args, o);

const dirs: string[] = [];
let server: GitServer;
beforeAll(async () => {
  server = await startGitServer({ username: "ci", password: "pa55-w0rd-xyz" });
});
afterAll(async () => {
  await server.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "cli-it-"));
  dirs.push(d);
  return d;
}

describe("gitops-bot command line", () => {
  it("every subcommand answers --help with its usage on stdout, exit 0", async () => {
    const runs = await Promise.all(
      ["serve", "check", "demo", "cmd"].map(async (sub) => [sub, await cli([sub, "--help"])] as const),
    );
    for (const [sub, r] of runs) {
      expect(r.code, sub).toBe(0);
      expect(r.stdout, sub).toContain(`usage: gitops-bot ${sub}`);
      expect(r.stderr, sub).toBe("");
    }
    const top = await cli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/usage: gitops-bot <command>[\s\S]*serve[\s\S]*check/);
  });

  it("a usage error prints one line and the usage, exit 2, no stack trace", async () => {
    const runs = await Promise.all(
      [
        ["serve", "--bogus"],
        ["check", "--confg", "x.yaml"],
        ["demo", "stray"],
        ["cmd", "--bogus", "--", "status"],
      ].map(async (args) => [args.join(" "), await cli(args)] as const),
    );
    for (const [args, r] of runs) {
      expect(r.code, args).toBe(2);
      expect(r.stderr, args).toMatch(/^gitops-bot \w+: .+\n\nusage: gitops-bot \w+/);
      expect(r.stderr, args).not.toMatch(/internal error \(ref|\n\s+at /);
    }
    const unknown = await cli(["chek"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "chek"; did you mean "check"?');
  });
});

describe("gitops-bot demo", () => {
  it("reads commands from piped stdin and shows replies and notifications", async () => {
    const dir = await tempDir();
    const input = [
      "status",
      "/gitops PROMOTE podinfo dev stg",
      "promote podinfo dev stg --force",
      "promote frontend dev stg",
      "history frontend stg",
      "help",
      "release podinfo prod 0.4.11",
      "approve",
      "frobnicate",
      "exit",
      "status",
    ].join("\n");
    const r = await cli(["demo", "--dir", dir], { input: `${input}\n` });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain("gitops-bot demo");
    expect(out).toContain("promote podinfo dev stg");
    expect(out).toMatch(/app\s+dev\s+stg\s+prod/);
    expect(out).toContain("does not match");
    expect(out).toContain("[stg/podinfo] promote dev-kb9lm91e from dev");
    expect(out).toContain("[stg/frontend] promote dev-3f2a1c9 from dev");
    expect(out).toContain("(notification posted to the channel)");
    expect(out).toContain("Promoted frontend in stg");
    expect(out).toMatch(/History of frontend in stg[\s\S]*promote[\s\S]*dev-3f2a1c9/);
    expect(out).toContain("unknown command");
    // prod is protected; in the demo the shell user may approve their own request.
    expect(out).toMatch(/Approval needed: release podinfo prod 0\.4\.11[\s\S]*the requester may approve/);
    expect(out).toMatch(/\[prod\/podinfo\] release 0\.4\.11[\s\S]*Approved by/);
    // Nothing after `exit` runs.
    expect(out.split("Release status").length).toBe(2);
  });

  it("reuses its directory: state survives a restart", async () => {
    const dir = await tempDir();
    await cli(["demo", "--dir", dir, "--quiet"], { input: "lock podinfo dev testing\n" });
    const r = await cli(["demo", "--dir", dir, "--quiet"], { input: "status podinfo dev\n" });
    expect(r.stdout).toContain("testing");
  });

  it("a freeze typed in the shell is a commit, so it survives a restart; unfreeze lifts it", async () => {
    const dir = await tempDir();
    const first = await cli(["demo", "--dir", dir, "--quiet"], { input: "freeze dev demo day\n" });
    expect(first.stdout).toContain("Froze automation in dev");
    const r = await cli(["demo", "--dir", dir, "--quiet"], {
      input: "status dev\nunfreeze dev\nstatus dev\n",
    });
    const [before, after] = r.stdout.split("Unfroze automation in dev");
    expect(before).toMatch(/dev is frozen by .* since .*: demo day/);
    expect(after).toBeDefined();
    expect(after).not.toContain("is frozen");
  });

  it("--kubeconfig of a missing file is a clear error that says what to pass; --helm alone is a usage error", async () => {
    const dir = await tempDir();
    const missing = await cli(["demo", "--dir", dir, "--kubeconfig", join(dir, "nope.yaml")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`error: --kubeconfig ${join(dir, "nope.yaml")}: no such file`);
    expect(missing.stderr).toMatch(/hint: Pass the kubeconfig of a kind, k3d or minikube cluster/);
    const alone = await cli(["demo", "--dir", dir, "--helm", "/usr/bin/helm"]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain("gitops-bot demo: --helm, --cluster and --no-images need --kubeconfig");
    expect(alone.stderr).toContain("--kubeconfig FILE");
  });
});

describe("gitops-bot cmd", () => {
  async function localRepo(): Promise<string> {
    return (await prepareDemoRepo(await tempDir(), defaultExamplesDir())).repo;
  }

  it("exit 0 for a command that works, with readable output", async () => {
    const repo = await localRepo();
    const r = await cli(["cmd", "--repo", repo, "--", "status"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("podinfo");
  });

  it("exit 1 for a user error, with the hint, on stderr", async () => {
    const repo = await localRepo();
    const r = await cli(["cmd", "--repo", repo, "--", "promot", "podinfo", "dev", "stg"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("did you mean promote");
    const usage = await cli(["cmd", "--", "status"]);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain("--repo is required");
  });

  it("protected writes need --yes; --json is machine-readable; --user is the author", async () => {
    const repo = await localRepo();
    const no = await cli([
      "cmd",
      "--repo",
      repo,
      "--json",
      "--",
      "lock",
      "podinfo",
      "prod",
      "release freeze",
    ]);
    expect(no.code).toBe(1);
    expect(JSON.parse(no.stdout)).toMatchObject({
      ok: false,
      outcome: "user-error",
      error: { code: "needs-yes" },
    });
    const yes = await cli([
      "cmd",
      "--repo",
      repo,
      "--yes",
      "--json",
      "--user",
      "Ci Bot <ci@example.com>",
      "--",
      "lock",
      "podinfo",
      "prod",
      "release freeze",
    ]);
    expect(yes.code).toBe(0);
    const j = JSON.parse(yes.stdout);
    expect(j).toMatchObject({ ok: true, outcome: "ok", command: "lock podinfo prod 'release freeze'" });
    expect(j.results[0].commit.sha).toMatch(/^[0-9a-f]{40}$/);
    const status = await cli(["cmd", "--repo", repo, "--json", "--", "status podinfo prod"]);
    expect(JSON.parse(status.stdout).data.instances[0].locked.message).toBe("release freeze");
  });

  it("uses credentials from the environment over HTTP and never prints them", async () => {
    await server.createBareRepo("cmd.git", { seedFrom: defaultExamplesDir() });
    const env = { GITOPS_BOT_GIT_USERNAME: "ci", GITOPS_BOT_GIT_PASSWORD: "pa55-w0rd-xyz" };
    const r = await cli(
      [
        "cmd",
        "--repo",
        server.url("cmd.git"),
        "--workdir",
        join(await tempDir(), "w"),
        "--",
        "promote frontend dev stg",
      ],
      {
        env,
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("[stg/frontend] promote");
    const bad = await cli(
      ["cmd", "--repo", server.url("cmd.git"), "--workdir", join(await tempDir(), "w"), "--", "status"],
      {
        env: { GITOPS_BOT_GIT_USERNAME: "ci", GITOPS_BOT_GIT_PASSWORD: "wrong-password-1" },
      },
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr + bad.stdout).not.toContain("wrong-password-1");
  });

  it("parallel invocations on one machine share the working clone and all succeed", async () => {
    await server.createBareRepo("parallel.git", { seedFrom: defaultExamplesDir() });
    const env = { GITOPS_BOT_GIT_USERNAME: "ci", GITOPS_BOT_GIT_PASSWORD: "pa55-w0rd-xyz" };
    // Five CI jobs at once: the same repo, the same (default or given) working clone.
    const shared = join(await tempDir(), "w");
    const jobs = [
      ["podinfo", "dev"],
      ["podinfo", "stg"],
      ["frontend", "dev"],
      ["frontend", "stg"],
      ["podinfo", "prod"],
    ];
    const runs = await Promise.all(
      jobs.map(([app, envName], i) =>
        cli(
          [
            "cmd",
            "--repo",
            server.url("parallel.git"),
            "--workdir",
            shared,
            "--yes",
            "--json",
            "--",
            "lock",
            app as string,
            envName as string,
            `job ${i}`,
          ],
          { env },
        ),
      ),
    );
    for (const r of runs) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, outcome: "ok" });
    }
    const status = await cli(
      ["cmd", "--repo", server.url("parallel.git"), "--workdir", shared, "--json", "--", "status"],
      { env },
    );
    const locked = (
      JSON.parse(status.stdout).data.instances as { app: string; env: string; locked?: { message: string } }[]
    )
      .filter((x) => x.locked)
      .map((x) => `${x.app}/${x.env}: ${x.locked?.message}`)
      .sort();
    expect(locked).toEqual([
      "frontend/dev: job 2",
      "frontend/stg: job 3",
      "podinfo/dev: job 0",
      "podinfo/prod: job 4",
      "podinfo/stg: job 1",
    ]);
  });

  it("--config follows the team's gitops-bot.yaml: protectedEnvs and authz rules", async () => {
    const dir = await tempDir();
    const repo = await localRepo();
    const file = join(dir, "gitops-bot.yaml");
    // The Slack token's variable is unset in CI: cmd does not need the chat sections.
    await writeFile(
      file,
      [
        "clusterName: ci-cluster",
        "repo:",
        `  url: ${repo}`,
        "authz:",
        "  protectedEnvs: [stg]",
        "  rules:",
        "    - { envs: [dev], verbs: [write], users: ['cli:release@example.com'] }",
        "slack:",
        "  botToken: ${SLACK_BOT_TOKEN}",
        "  signingSecret: ${SLACK_SIGNING_SECRET}",
        "",
      ].join("\n"),
    );
    const stg = await cli(["cmd", "--config", file, "--json", "--", "lock podinfo stg freeze"]);
    expect(stg.code).toBe(1);
    expect(JSON.parse(stg.stdout)).toMatchObject({ outcome: "user-error", error: { code: "needs-yes" } });
    const prod = await cli(["cmd", "--config", file, "--json", "--", "lock podinfo prod freeze"]);
    expect(prod.code).toBe(0);
    const devOther = await cli([
      "cmd",
      "--config",
      file,
      "--user",
      "Eve <eve@example.com>",
      "--json",
      "--",
      "lock podinfo dev x",
    ]);
    expect(JSON.parse(devOther.stdout)).toMatchObject({ error: { code: "forbidden" } });
    expect(devOther.code).toBe(1);
    const devRelease = await cli([
      "cmd",
      "--config",
      file,
      "--user",
      "Rel <release@example.com>",
      "--json",
      "--",
      "lock podinfo dev x",
    ]);
    expect(devRelease.code).toBe(0);
    const bad = await cli(["cmd", "--config", join(dir, "missing.yaml"), "--", "status"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("missing.yaml");
  });

  it("exit 2 for an internal error", async () => {
    await server.createBareRepo("broken.git", { seedFrom: defaultExamplesDir() });
    const off = server.onRequest(() => {
      throw new Error("server exploded");
    });
    try {
      const r = await cli(
        ["cmd", "--repo", server.url("broken.git"), "--workdir", join(await tempDir(), "w"), "--", "status"],
        {
          env: { GITOPS_BOT_GIT_USERNAME: "ci", GITOPS_BOT_GIT_PASSWORD: "pa55-w0rd-xyz" },
        },
      );
      expect(r.code).toBe(2);
      expect(r.stderr).not.toContain("pa55-w0rd-xyz");
    } finally {
      off();
    }
  });
});
