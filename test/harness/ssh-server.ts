/**
 * A real OpenSSH server for git-over-SSH tests: Debian's `sshd` on 127.0.0.1 (random port) with
 * its own host key, config and authorized_keys in a temp dir, serving the bare repos of a directory
 * through `git-shell` (only git-upload-pack / git-receive-pack run; no shell, no pty, no forwarding).
 *
 * ```ts
 * const sshd = await startSshServer({ root: gitServer.root });   // serve the HTTP harness's repos too
 * sshd.url("config.git");       // ssh://<user>@127.0.0.1:PORT/<root>/config.git
 * sshd.clientKey;               // the private key that is authorized (OpenSSH text)
 * sshd.knownHosts;              // "[127.0.0.1]:PORT ssh-ed25519 AAAA…"
 * await sshd.stop();
 * ```
 *
 * It runs as the current user (CI: unprivileged; as root, sshd needs its privilege separation
 * directory /run/sshd, which is created when missing). Install it with `apt-get install
 * openssh-server` (.ci/run and `npm run e2e:tools` do). Nothing is run through a shell here.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, waitFor } from "./ports.js";
import { type ManagedProcess, removeOnExit, startProcess } from "./process.js";

const run = promisify(execFile);

/** Where Debian installs sshd (it must be started by its absolute path). */
export const SSHD = "/usr/sbin/sshd";

export interface SshServer {
  readonly port: number;
  /** The login user (the current user). */
  readonly user: string;
  /** The directory whose bare repos are served. */
  readonly root: string;
  /** `ssh://user@127.0.0.1:PORT/<root>/<repoName>` */
  url(repoName: string): string;
  /** The authorized client key (OpenSSH private key text) and a file holding it. */
  readonly clientKey: string;
  readonly clientKeyFile: string;
  /** A second key pair that is NOT authorized. */
  readonly otherKey: string;
  /** known_hosts line for this server's host key. */
  readonly knownHosts: string;
  stop(): Promise<void>;
}

async function keygen(file: string, comment: string): Promise<void> {
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

/** Starts sshd; `root` defaults to a fresh temp dir. */
export async function startSshServer(opts: { root?: string } = {}): Promise<SshServer> {
  const dir = await mkdtemp(join(tmpdir(), "sshd-"));
  const unregister = removeOnExit(dir);
  const root = opts.root ?? join(dir, "repos");
  await mkdir(root, { recursive: true });
  if (process.getuid?.() === 0) await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  await keygen(join(dir, "host"), "test-host");
  await keygen(join(dir, "client"), "test-client");
  await keygen(join(dir, "other"), "test-other");
  const pub = (await readFile(join(dir, "client.pub"), "utf8")).trim();
  // git-shell runs only the git commands; `restrict` turns off pty, forwarding and agent.
  await writeFile(
    join(dir, "authorized_keys"),
    `restrict,command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"" ${pub}\n`,
    {
      mode: 0o600,
    },
  );
  const port = await freePort();
  const config = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${join(dir, "host")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    "PermitRootLogin prohibit-password",
    "AcceptEnv GIT_PROTOCOL",
    "LogLevel VERBOSE",
    "",
  ].join("\n");
  await writeFile(join(dir, "sshd_config"), config);
  const proc: ManagedProcess = startProcess("sshd", SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], {
    logFile: join(dir, "sshd.log"),
  });
  const stop = async () => {
    await proc.stop();
    await rm(dir, { recursive: true, force: true });
    unregister();
  };
  try {
    await waitFor(
      "sshd",
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect(port, "127.0.0.1");
          s.once("data", (d) => {
            s.destroy();
            resolve(d.toString().startsWith("SSH-"));
          });
          s.once("error", () => resolve(false));
        }),
      { timeoutMs: 20_000, abort: () => proc.exitReason() },
    );
  } catch (e) {
    const tail = await proc.logTail();
    await stop();
    throw new Error(`${(e as Error).message}\n${tail}`);
  }
  const hostPub = (await readFile(join(dir, "host.pub"), "utf8")).trim().split(/\s+/).slice(0, 2).join(" ");
  const user = userInfo().username;
  return {
    port,
    user,
    root,
    url: (name) => `ssh://${user}@127.0.0.1:${port}${join(root, name)}`,
    clientKey: await readFile(join(dir, "client"), "utf8"),
    clientKeyFile: join(dir, "client"),
    otherKey: await readFile(join(dir, "other"), "utf8"),
    knownHosts: `[127.0.0.1]:${port} ${hostPub}`,
    stop,
  };
}
