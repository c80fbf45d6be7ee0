#!/usr/bin/env node
/**
 * The `gitops-bot` command line. Subcommands:
 *   demo                 the embedded default: a local config repo and a shell chat (`npm start`)
 *   serve [--config F]   run the service with the configured front ends and reconcilers
 *   cmd [opts] -- TEXT   run one chat command against a repo, for scripts and CI
 *   check [--config F]   validate the configuration and the config repo
 * Exit codes: 0 ok, 1 user error, 2 internal error.
 */
import { correlationId, isUserError } from "./core/errors.js";

type Sub = (argv: string[]) => Promise<number>;

const subcommands: Record<string, { summary: string; run: Sub }> = {
  demo: {
    summary: "try it: a local config repo and a chat shell (what `npm start` runs)",
    run: async (argv) =>
      (await import("./bot/platforms/shell/demo.js")).runDemo(argv, {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        noColor: process.env["NO_COLOR"] !== undefined,
      }),
  },
  cmd: {
    summary: "run one chat command against a config repo (scripts, CI)",
    run: async (argv) =>
      (await import("./bot/platforms/cli/cmd.js")).runCmd(argv, {
        stdout: process.stdout,
        stderr: process.stderr,
        gitToken: process.env["GITOPS_BOT_GIT_TOKEN"],
        gitPassword: process.env["GITOPS_BOT_GIT_PASSWORD"],
        gitUsername: process.env["GITOPS_BOT_GIT_USERNAME"],
        noColor: process.env["NO_COLOR"] !== undefined,
      }),
  },
  serve: {
    summary: "run the service: chat front ends, reconcilers, notifications (--config F)",
    run: async (argv) => (await import("./main.js")).serve(argv, process.env),
  },
  check: {
    summary: "validate the configuration and the config repo",
    run: async (argv) => (await import("./config/check.js")).runCheck(argv),
  },
};

function usage(): string {
  const lines = Object.entries(subcommands).map(([n, s]) => `  ${n.padEnd(8)} ${s.summary}`);
  return `usage: gitops-bot <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  const sub = subcommands[name];
  if (!sub) {
    process.stderr.write(`gitops-bot: unknown command "${name}"\n\n${usage()}`);
    return 1;
  }
  return sub.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isUserError(e)) {
      process.stderr.write(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ""}`);
      process.exitCode = 1;
    } else {
      const ref = correlationId();
      process.stderr.write(`internal error (ref ${ref})\n`);
      process.stderr.write(`[${ref}] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 2;
    }
  },
);
