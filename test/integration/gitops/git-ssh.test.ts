/**
 * The config repo over SSH against a real sshd on loopback (issue 11): `ssh://` URLs with a key
 * from the config or from a mounted Secret file, strict host key checking with the configured
 * known_hosts, never a prompt, and no user text in a shell.
 */
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RepoConfig, repoSchema } from "../../../src/config/schema.js";
import { StalledError, UserError } from "../../../src/core/errors.js";
import { nullLogger } from "../../../src/core/ports.js";
import { GitConfigRepo } from "../../../src/gitops/git-config-repo.js";
import { type GitServer, startGitServer } from "../../harness/git-server.js";
import { type SshServer, startSshServer } from "../../harness/ssh-server.js";

const run = promisify(execFile);

describe("GitConfigRepo over SSH (native backend, real sshd)", () => {
  let git: GitServer;
  let sshd: SshServer;
  let tmp: string;
  let n = 0;
  const repos: GitConfigRepo[] = [];

  beforeAll(async () => {
    git = await startGitServer({ username: "u", password: "unused-pass-1" });
    sshd = await startSshServer({ root: git.root });
    tmp = await mkdtemp(join(tmpdir(), "git-ssh-it-"));
  });
  afterAll(async () => {
    await Promise.all(repos.map((r) => r.close()));
    await sshd?.stop();
    await git?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  async function newRepo(): Promise<string> {
    const name = `s${++n}.git`;
    await git.createBareRepo(name);
    await git.commitDirect(name, {
      message: "initial",
      files: { "releases/dev/app.yaml": "image:\n  tag: 1.0.0\n" },
    });
    return name;
  }
  const cfg = (name: string, ssh: Record<string, unknown>, over: Partial<RepoConfig> = {}): RepoConfig =>
    repoSchema.parse({
      url: sshd.url(name),
      workdir: join(tmp, `wd-${++n}`),
      backend: "native",
      ssh,
      ...over,
    });
  const open = async (c: RepoConfig) => {
    const r = await GitConfigRepo.open(c, { logger: nullLogger });
    repos.push(r);
    return r;
  };
  const bareHead = async (name: string) =>
    (
      await run("git", ["rev-parse", "main"], { env: { ...process.env, GIT_DIR: join(git.root, name) } })
    ).stdout.trim();

  it("fetches, commits and pushes with the key and known_hosts from the config", async () => {
    const name = await newRepo();
    const repo = await open(cfg(name, { privateKey: sshd.clientKey.trim(), knownHosts: sshd.knownHosts }));
    expect(await repo.read("releases/dev/app.yaml")).toContain("1.0.0");
    const res = await repo.commit({
      subject: "[dev/app] release 1.0.1",
      author: { name: "Alice", email: "alice@example.com" },
      trailers: [["Gitops-Action", "release"]],
      edits: [async (f) => f.write("releases/dev/app.yaml", "image:\n  tag: 1.0.1\n")],
    });
    expect(res.sha).toBe(await bareHead(name));
    expect(await repo.ready()).toBe(true);
  });

  it("reads the key and known_hosts from mounted files (a Secret's 0644 mode, a path with shell syntax)", async () => {
    const name = await newRepo();
    // A path no shell may ever see unquoted: it would run `touch` if it reached one.
    const odd = join(tmp, `secret dir $(touch ${join(tmp, "pwned")}) 'q'`);
    await run("mkdir", ["-p", odd]);
    const keyFile = join(odd, "ssh-privatekey");
    const hostsFile = join(odd, "known_hosts");
    await writeFile(keyFile, sshd.clientKey);
    await chmod(keyFile, 0o644);
    await writeFile(hostsFile, `${sshd.knownHosts}\n`);
    const repo = await open(cfg(name, { privateKeyFile: keyFile, knownHostsFile: hostsFile }));
    await repo.commit({
      subject: "[dev/app] lock",
      author: { name: "Bob", email: "bob@example.com" },
      trailers: [],
      edits: [async (f) => f.write("releases/dev/lock.yaml", "locked: true\n")],
    });
    expect(
      await run("git", ["show", "main:releases/dev/lock.yaml"], {
        env: { ...process.env, GIT_DIR: join(git.root, name) },
      }),
    ).toMatchObject({
      stdout: "locked: true\n",
    });
    expect(await readdir(tmp)).not.toContain("pwned");
  });

  it("refuses an unknown host key without prompting (strict by default)", async () => {
    const name = await newRepo();
    const other = `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl`;
    const t0 = Date.now();
    const err = await GitConfigRepo.open(cfg(name, { privateKey: sshd.clientKey, knownHosts: other }), {
      logger: nullLogger,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe("repo-host-key");
    expect(Date.now() - t0).toBeLessThan(15_000);
    // Off on purpose (testing only): any host key is accepted.
    const lax = await open(cfg(name, { privateKey: sshd.clientKey, strictHostKeyChecking: false }));
    expect(await lax.read("releases/dev/app.yaml")).toContain("1.0.0");
  });

  it("reports a key the server does not accept as a credentials problem", async () => {
    const name = await newRepo();
    const err = await GitConfigRepo.open(
      cfg(name, { privateKey: sshd.otherKey, knownHosts: sshd.knownHosts }),
      {
        logger: nullLogger,
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe("repo-auth");
    expect((err as Error).message).not.toContain("PRIVATE KEY");
  });

  it("the isomorphic backend says SSH needs the git CLI", async () => {
    const name = await newRepo();
    const err = await GitConfigRepo.open(cfg(name, {}, { backend: "isomorphic" }), {
      logger: nullLogger,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StalledError);
    expect((err as Error).message).toContain("SSH");
  });
});
