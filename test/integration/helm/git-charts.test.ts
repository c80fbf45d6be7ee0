import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransientError } from "../../../src/core/errors.js";
import { Redactor } from "../../../src/core/redact.js";
import { gitChart, HelmRepositoryClient, resolveChart } from "../../../src/helm/chart-source.js";
import { HelmCli } from "../../../src/helm/cli.js";
import { GitChartError, GitChartRepos } from "../../../src/reconciler/helm/git-charts.js";
import { type GitServer, startGitServer } from "../../harness/git-server.js";
import { startSshServer } from "../../harness/ssh-server.js";

const run = promisify(execFile);
const PASSWORD = "canary-ChartRepo-pw-5521";
const FILE = "releases/dev/podinfo.yaml";

const chartFiles = (template: string, version = "0.1.0") => ({
  "charts/app/Chart.yaml": `apiVersion: v2\nname: app\nversion: ${version}\n`,
  "charts/app/templates/cm.yaml": template,
  "README.md": "charts\n",
});

let server: GitServer;
let dir: string;
let uploadPacks = 0;

async function bare(args: string[]): Promise<string> {
  const { stdout } = await run("git", args, {
    env: { ...process.env, GIT_DIR: join(server.root, "charts.git"), GIT_CONFIG_NOSYSTEM: "1" },
  });
  return stdout.trim();
}

function repos(opts: { password?: string; now?: () => number; maxRepos?: number } = {}): GitChartRepos {
  return new GitChartRepos({
    cacheDir: join(dir, `cache-${Math.random().toString(36).slice(2)}`),
    credentials: [{ urlPrefix: `${server.baseUrl}/`, username: "bot", password: opts.password ?? PASSWORD }],
    redactor: new Redactor(),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.maxRepos ? { maxRepos: opts.maxRepos } : {}),
  });
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "git-charts-"));
  server = await startGitServer({ username: "bot", password: PASSWORD });
  await server.createBareRepo("charts.git");
  await server.commitDirect("charts.git", { files: chartFiles("v: one\n"), message: "chart" });
  server.onRequest((r) => {
    if (r.service === "git-upload-pack" && r.path === "/info/refs" && r.authenticated) uploadPacks++;
  });
});

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("GitChartRepos: charts from another git repository", () => {
  it("clones with the configured credentials, reads the chart at the default branch and picks up a pushed template change once the fetch is stale", async () => {
    let now = 1_000_000;
    const r = repos({ now: () => now });
    const url = server.url("charts.git");
    const first = await r.checkout(url, undefined, FILE);
    expect(first.revision).toBe(await bare(["rev-parse", "refs/heads/main"]));
    const chart = await gitChart(first.tree, first.revision, "charts/app", join(dir, "out"), FILE);
    expect(chart.name).toBe("app");
    expect(await readFile(join(chart.path, "templates/cm.yaml"), "utf8")).toBe("v: one\n");

    // A template edit without a version bump, pushed to the chart repo.
    const pushed = await server.commitDirect("charts.git", {
      files: { "charts/app/templates/cm.yaml": "v: two\n" },
      message: "template only",
    });
    const before = uploadPacks;
    // Within one pass: every release of this URL shares the fetch already made.
    const same = await Promise.all([r.checkout(url, undefined, FILE), r.checkout(`${url}/`, "main", FILE)]);
    expect(same.map((s) => s.revision)).toEqual([first.revision, first.revision]);
    expect(uploadPacks).toBe(before);

    now += 60_000; // the next pass
    const next = await Promise.all([r.checkout(url, undefined, FILE), r.checkout(url, "main", FILE)]);
    expect(next.map((s) => s.revision)).toEqual([pushed, pushed]);
    expect(uploadPacks).toBe(before + 1); // one fetch for both releases
    const changed = await gitChart(next[0].tree, pushed, "charts/app", join(dir, "out"), FILE);
    expect(changed.version).toBe(chart.version);
    expect(changed.digest).not.toBe(chart.digest);
    expect(await readdir(join(dir))).not.toContain("charts.git"); // clones live in the cache dir only
    await r.close();
  });

  it("resolves a branch, a tag (lightweight and annotated), a full and a short commit SHA", async () => {
    const url = server.url("charts.git");
    const old = await bare(["rev-parse", "refs/heads/main"]);
    const feature = await server.commitDirect("charts.git", {
      files: chartFiles("v: feature\n", "0.2.0"),
      message: "feature branch",
      branch: "feature/x",
    });
    await bare(["tag", "v0.1.0", old]);
    await bare([
      "-c",
      "user.name=t",
      "-c",
      "user.email=t@e",
      "tag",
      "-a",
      "-m",
      "annotated",
      "v0.2.0",
      feature,
    ]);
    const r = repos();
    expect((await r.checkout(url, "feature/x", FILE)).revision).toBe(feature);
    expect((await r.checkout(url, "refs/heads/feature/x", FILE)).revision).toBe(feature);
    expect((await r.checkout(url, "v0.1.0", FILE)).revision).toBe(old);
    expect((await r.checkout(url, "v0.2.0", FILE)).revision).toBe(feature);
    expect((await r.checkout(url, old, FILE)).revision).toBe(old);
    expect((await r.checkout(url, old.slice(0, 10), FILE)).revision).toBe(old);
    const atTag = await r.checkout(url, "v0.2.0", FILE);
    const chart = await gitChart(atTag.tree, atTag.revision, "charts/app", join(dir, "out"), FILE);
    expect(chart.version).toBe("0.2.0");
    await r.close();
  });

  it("names the file, the URL and the fix for a missing ref, a missing repo and a missing chart path", async () => {
    const r = repos();
    const url = server.url("charts.git");
    const bad = await errorOf(r.checkout(url, "no-such-branch", FILE));
    expect(bad).toBeInstanceOf(GitChartError);
    expect(bad.message).toBe(
      `${FILE}: spec.chart.ref no-such-branch: no branch, tag or commit of that name in ${url}; fix spec.chart.ref (or push it)`,
    );
    const invalid = await errorOf(r.checkout(url, "--upload-pack=x", FILE));
    expect(invalid.message).toContain("is not a valid git ref");

    const missing = await errorOf(r.checkout(server.url("nope.git"), undefined, FILE));
    expect(missing.message).toContain(`${FILE}: spec.chart.git ${server.url("nope.git")}: `);
    expect(missing.message).toContain("check spec.chart.git");

    const deps = {
      configRepo: {
        url: "https://example.invalid/config",
        tree: { list: async () => [], read: async () => undefined },
        revision: "0".repeat(40),
      },
      otherGit: (u: string, ref: string | undefined, f: string) => r.checkout(u, ref, f),
      repositories: new HelmRepositoryClient({ cacheDir: join(dir, "repo") }),
      helm: new HelmCli({ binary: "helm", home: join(dir, "home") }),
      cacheDir: join(dir, "out"),
    };
    const noPath = await errorOf(resolveChart({ type: "git", url, path: "charts/gone" }, FILE, deps));
    // Retried (failed, not stalled): the chart repo can be fixed without a change in the config repo.
    expect(noPath).toBeInstanceOf(TransientError);
    expect(noPath.message).toMatch(
      new RegExp(`^${FILE}: spec.chart.path: charts/gone does not exist at [0-9a-f]{7} in ${url}$`),
    );
    const ok = await resolveChart({ type: "git", url, path: "charts/app" }, FILE, deps);
    expect(ok.description).toMatch(/^git charts\/app@[0-9a-f]{7} \(app /);
    await r.close();
  });

  it("says what to fix when the server refuses or asks for credentials, and never shows the password", async () => {
    const url = server.url("charts.git");
    const wrong = repos({ password: "wrong-Canary-pw-9912" });
    const refused = await errorOf(wrong.checkout(url, undefined, FILE));
    expect(refused).toBeInstanceOf(GitChartError);
    expect(refused.message).toBe(
      `${FILE}: spec.chart.git ${url}: the server refused the credentials (HTTP 401/403); fix the username/password of the helm.gitCredentials entry for this URL`,
    );
    const none = new GitChartRepos({ cacheDir: join(dir, "none"), redactor: new Redactor() });
    const asks = await errorOf(none.checkout(url, undefined, FILE));
    expect(asks.message).toContain("add a helm.gitCredentials entry whose urlPrefix matches this URL");

    // Credentials in the URL's userinfo work too and never reach a message or the clone's config.
    const inUrl = new GitChartRepos({ cacheDir: join(dir, "userinfo"), redactor: new Redactor() });
    const authUrl = server.authUrl("charts.git");
    expect((await inUrl.checkout(authUrl, undefined, FILE)).revision).toMatch(/^[0-9a-f]{40}$/);
    const err = await errorOf(inUrl.checkout(authUrl, "missing", FILE));
    const configs = await Promise.all(
      (await readdir(join(dir, "userinfo"))).map((d) => readFile(join(dir, "userinfo", d, "config"), "utf8")),
    );
    for (const text of [refused.message, asks.message, err.message, ...configs]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain("wrong-Canary-pw-9912");
      expect(text).not.toContain(Buffer.from(`bot:${PASSWORD}`).toString("base64"));
    }
    await Promise.all([wrong.close(), none.close(), inUrl.close()]);
  });

  it("reports an unreachable server as an outage naming the URL, and refuses local paths", async () => {
    const r = repos();
    const down = await errorOf(r.checkout("http://127.0.0.1:1/charts.git", undefined, FILE));
    expect(down).toBeInstanceOf(TransientError);
    expect(down.message).toMatch(
      /^releases\/dev\/podinfo\.yaml: spec\.chart\.git http:\/\/127\.0\.0\.1:1\/charts\.git: cannot reach/,
    );
    expect(down.message).toContain("that the server is reachable");
    const local = await errorOf(r.checkout(join(server.root, "charts.git"), undefined, FILE));
    expect(local.message).toContain("is a local path; charts are read from HTTPS or SSH git URLs only");
    await r.close();
  });

  it("keeps at most maxRepos clones, dropping the least recently used", async () => {
    await server.createBareRepo("second.git");
    await server.commitDirect("second.git", { files: chartFiles("v: s\n"), message: "second" });
    const cache = join(dir, "bounded");
    const r = new GitChartRepos({
      cacheDir: cache,
      maxRepos: 1,
      credentials: [{ urlPrefix: server.baseUrl, password: PASSWORD, username: "bot" }],
    });
    await r.checkout(server.url("charts.git"), undefined, FILE);
    await r.checkout(server.url("second.git"), undefined, FILE);
    expect(await readdir(cache)).toHaveLength(1);
    await r.close();
  });

  it("reads a chart over SSH with the repo.ssh key and known hosts, and says so when the host key is unknown", async () => {
    const sshd = await startSshServer({ root: server.root });
    try {
      const url = sshd.url("charts.git");
      const ok = new GitChartRepos({
        cacheDir: join(dir, "ssh"),
        ssh: { privateKey: sshd.clientKey, knownHosts: sshd.knownHosts, strictHostKeyChecking: true },
      });
      const at = await ok.checkout(url, "main", FILE);
      expect(at.revision).toBe(await bare(["rev-parse", "refs/heads/main"]));
      const chart = await gitChart(at.tree, at.revision, "charts/app", join(dir, "out"), FILE);
      expect(chart.name).toBe("app");
      await ok.close();
      const unknown = new GitChartRepos({
        cacheDir: join(dir, "ssh-unknown"),
        ssh: { privateKey: sshd.clientKey, strictHostKeyChecking: true },
      });
      const err = await errorOf(unknown.checkout(url, "main", FILE));
      expect(err.message).toBe(
        `${FILE}: spec.chart.git ${url}: its SSH host key is not known; add it to repo.ssh.knownHosts`,
      );
      await unknown.close();
    } finally {
      await sshd.stop();
    }
  });
});
