/** Runs the real CLI (`src/cli.ts` through tsx) as a child process, as a user's shell or CI would. */
import { spawn } from "node:child_process";
import { resolve } from "node:path";

const CLI = resolve(import.meta.dirname, "../../src/cli.ts");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `gitops-bot <args>` with `NO_COLOR=1` and `env` over the test's environment; `input` is its stdin. */
export function runCli(
  args: string[],
  o: { input?: string; env?: Record<string, string | undefined> } = {},
): Promise<CliRun> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      env: { ...process.env, NO_COLOR: "1", ...o.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", rej);
    child.on("close", (code) => res({ code, stdout, stderr }));
    child.stdin.end(o.input ?? "");
  });
}
