/** The generated GIT_SSH wrapper: only our own quoted paths and options, strict host keys by default. */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StalledError } from "../../../src/core/errors.js";
import { SshCommand, shellQuote, sshOptions } from "../../../src/gitops/git/ssh-command.js";

const run = promisify(execFile);

describe("ssh command", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ssh-cmd-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("quotes anything for a POSIX shell", async () => {
    for (const s of ["plain", "it's", '$(touch x) `y` "z" ; | &', "a'\\''b", ""]) {
      const { stdout } = await run("sh", ["-c", `printf %s ${shellQuote(s)}`]);
      expect(stdout).toBe(s);
    }
  });

  it("checks host keys strictly by default and never prompts", () => {
    const strict = sshOptions({ strictHostKeyChecking: true }, { key: "/k", knownHosts: "/h" });
    expect(strict.join(" ")).toContain("BatchMode=yes");
    expect(strict.join(" ")).toContain("StrictHostKeyChecking=yes");
    expect(strict.join(" ")).toContain("UserKnownHostsFile=/h");
    expect(strict.join(" ")).toContain("IdentityFile=/k");
    expect(strict.slice(0, 2)).toEqual(["-F", "/dev/null"]);
    expect(sshOptions({ strictHostKeyChecking: false }, {}).join(" ")).toContain("StrictHostKeyChecking=no");
  });

  it("copies a configured key file into a private file; the wrapper names only its own files", async () => {
    const keyFile = join(dir, "key $(echo pwned)");
    await writeFile(keyFile, "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n", {
      mode: 0o644,
    });
    const cmd = await SshCommand.prepare({
      strictHostKeyChecking: true,
      privateKeyFile: keyFile,
      knownHosts: "h k",
    });
    try {
      const wrapper = cmd.env["GIT_SSH"] as string;
      expect(cmd.env["GIT_SSH_VARIANT"]).toBe("ssh");
      const text = await readFile(wrapper, "utf8");
      expect(text).not.toContain("pwned");
      expect(text).toMatch(/^#!\/bin\/sh\n/);
      expect(text).toContain('"$@"');
      const key = join(wrapper, "..", "id");
      expect((await stat(key)).mode & 0o777).toBe(0o600);
      expect(await readFile(join(wrapper, "..", "known_hosts"), "utf8")).toBe("h k\n");
    } finally {
      await cmd.close();
    }
  });

  it("says which configured file it cannot read", async () => {
    const err = await SshCommand.prepare({
      strictHostKeyChecking: true,
      privateKeyFile: join(dir, "missing"),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StalledError);
    expect((err as Error).message).toContain("repo.ssh.privateKeyFile");
  });
});
