import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Writable } from "node:stream";

/** A child process started by the harness: output goes to `logFile`; `stop()` is idempotent. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** The child's stdin, when started with `stdin: "pipe"` (else null: it reads nothing). */
  readonly stdin: Writable | null;
  /** Non-null once the process has exited: "exited with code N" / "killed by SIGX". */
  exitReason(): string | null;
  /** The last lines of the log, for error messages. */
  logTail(lines?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

// Safety net: if the test runner exits without running teardown (Ctrl-C, a crash), do not leave
// servers or their temp dirs behind.
const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Registers a temp dir to be removed if the process exits before its owner cleans it up; returns
 * the function that unregisters it (call it after removing the dir yourself).
 */
export function removeOnExit(dir: string): () => void {
  tempDirs.add(dir);
  return () => tempDirs.delete(dir);
}

/** Spawns `cmd` with an argument array (never a shell), logging stdout+stderr to `logFile`. */
export function startProcess(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; stdin?: "pipe" },
): ManagedProcess {
  const log = createWriteStream(opts.logFile, { flags: "a" });
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: [opts.stdin ?? "ignore", "pipe", "pipe"],
  });
  live.add(child);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let reason: string | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once("error", (err) => {
      reason = `could not start ${cmd}: ${err.message}`;
      live.delete(child);
      resolve();
    });
    child.once("exit", (code, signal) => {
      reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
      live.delete(child);
      resolve();
    });
  });
  let stopping: Promise<void> | null = null;
  return {
    name,
    pid: child.pid ?? -1,
    logFile: opts.logFile,
    stdin: child.stdin,
    exitReason: () => reason,
    async logTail(lines = 30) {
      const text = await readFile(opts.logFile, "utf8").catch(() => "");
      return text.split("\n").slice(-lines).join("\n");
    },
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        if (reason === null) {
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
          await exited;
          clearTimeout(timer);
        }
        await new Promise<void>((resolve) => log.end(resolve));
      })();
      return stopping;
    },
  };
}

/** Stops every resource, in reverse order, even when some stops throw; rethrows the first error. */
export async function stopAll(stoppers: ReadonlyArray<(() => Promise<void>) | undefined>): Promise<void> {
  let first: unknown = null;
  for (const stop of [...stoppers].reverse()) {
    if (!stop) continue;
    try {
      await stop();
    } catch (err) {
      first ??= err;
    }
  }
  if (first) throw first;
}
