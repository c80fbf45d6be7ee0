/** `gitops-bot cmd --config` over SSH: the key from a mounted file, the host key checked, as a subprocess. */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExamplesDir } from "../../src/app/demo.js";
import { type GitServer, startGitServer } from "../harness/git-server.js";
import { type SshServer, startSshServer } from "../harness/ssh-server.js";
import { runCli } from "../helpers/cli.js";

const cli = (args: string[]) => runCli(args);

describe("gitops-bot cmd over SSH", () => {
  let git: GitServer;
  let sshd: SshServer;
  let dir: string;
  beforeAll(async () => {
    git = await startGitServer({ username: "u", password: "unused-pass-2" });
    sshd = await startSshServer({ root: git.root });
    dir = await mkdtemp(join(tmpdir(), "cli-ssh-"));
  });
  afterAll(async () => {
    await sshd?.stop();
    await git?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("commits with the key from a mounted Secret file and the configured known_hosts", async () => {
    await git.createBareRepo("cfg.git", { seedFrom: defaultExamplesDir() });
    const key = join(dir, "ssh-privatekey");
    await writeFile(key, sshd.clientKey);
    await chmod(key, 0o644); // a Secret volume's default mode
    const file = join(dir, "gitops-bot.yaml");
    const yaml = (knownHosts: string) =>
      [
        "repo:",
        `  url: ${sshd.url("cfg.git")}`,
        `  workdir: ${join(dir, "w")}`,
        "  ssh:",
        `    privateKeyFile: ${key}`,
        `    knownHosts: "${knownHosts}"`,
        "",
      ].join("\n");
    await writeFile(file, yaml(sshd.knownHosts));
    const r = await cli(["cmd", "--config", file, "--json", "--", "promote frontend dev stg"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).results[0].commit.sha).toMatch(/^[0-9a-f]{40}$/);

    // Another host key for that address: refused as a user error, no prompt, nothing leaked.
    await writeFile(
      file,
      yaml(
        `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl`,
      ),
    );
    const bad = await cli(["cmd", "--config", file, "--workdir", join(dir, "w2"), "--", "status"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("host key");
    expect(bad.stderr + bad.stdout).not.toContain("PRIVATE KEY");
  });
});
