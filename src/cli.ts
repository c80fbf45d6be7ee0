#!/usr/bin/env node
/**
 * The `gitops-bot` command line. Subcommands:
 *   demo                 the embedded default: a local config repo and a shell chat (`npm start`)
 *   serve [--config F]   run the service with the configured front ends and reconcilers
 *   cmd [opts] -- TEXT   run one chat command against a repo, for scripts and CI
 *   check [--config F]   validate the configuration and the config repo
 *   report [name]        build a sync report now (--print plain text, --json for scripts)
 * Every subcommand takes --help (usage on stdout, exit 0).
 * Exit codes: 0 ok, 1 user error, 2 usage error (bad flag or argument: one line and the usage on
 * stderr, no stack trace) or internal error.
 */
import { correlationId, isUserError } from "./core/errors.js";
import { didYouMean } from "./core/suggest.js";

type Sub = (argv: string[]) => Promise<number>;

const subcommands: Record<string, { summary: string; usage?: string; run: Sub }> = {
  demo: {
    summary: "try it: a local config repo and a chat shell (what `npm start` runs)",
    usage: `usage: gitops-bot demo [--dir DIR] [--examples DIR] [--no-color] [--quiet]
                      [--kubeconfig FILE [--helm PATH] [--cluster NAME] [--no-images]]

Starts a chat shell against a local config repo built from the examples. Commands are read from
stdin (interactive or piped); replies and the notifications the bot would post are printed.
  --dir DIR          keep the repo, clone and approvals in DIR between runs (default: a temp dir)
  --examples DIR     seed the repo from DIR (default: the bundled examples/)
  --no-color         plain output (also NO_COLOR=1)
  -q, --quiet        no banner
  --kubeconfig FILE  also run the reconcilers against that cluster (kind, k3d, minikube): each
                     commit is synced at once and its HelmReleases installed with helm; the shell
                     shows the sync and Helm results as notifications
  --helm PATH        the helm binary (default: helm on PATH, else ~/.cache/gitops-bot-tools)
  --cluster NAME     the cluster name that tags events and notifications (default: demo)
  --no-images        do not run image automation (it scans the workloads' registries every minute)
`,
    run: async (argv) =>
      (await import("./app/demo.js")).runDemo(argv, {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        noColor: process.env["NO_COLOR"] !== undefined,
        env: process.env,
      }),
  },
  cmd: {
    summary: "run one chat command against a config repo (scripts, CI)",
    run: async (argv) =>
      (await import("./app/cmd.js")).runCmd(argv, {
        stdout: process.stdout,
        stderr: process.stderr,
        gitToken: process.env["GITOPS_BOT_GIT_TOKEN"],
        gitPassword: process.env["GITOPS_BOT_GIT_PASSWORD"],
        gitUsername: process.env["GITOPS_BOT_GIT_USERNAME"],
        noColor: process.env["NO_COLOR"] !== undefined,
        env: process.env,
      }),
  },
  serve: {
    summary: "run the service: chat front ends, reconcilers, notifications (--config F)",
    usage: `usage: gitops-bot serve [--config FILE]

Runs the service (chat front ends, reconcilers, notifications, HTTP server) until SIGTERM/SIGINT.
  -c, --config FILE   configuration file (default: $GITOPS_BOT_CONFIG, else gitops-bot.yaml)
`,
    run: async (argv) => (await import("./app/serve.js")).serve(argv, process.env),
  },
  check: {
    summary: "validate the configuration and the config repo",
    usage: `usage: gitops-bot check [--config FILE] [--config-only] [--json]

Validates the configuration (every problem at once), then opens the config repo and reads the
release model, listing each broken file with its hint. Exit 0 when usable, 1 when something needs fixing.
  -c, --config FILE   configuration file (default: $GITOPS_BOT_CONFIG, else gitops-bot.yaml)
  --config-only       validate the file without opening the config repo
  --json              one JSON object on stdout: { ok, config, repo, problems[], warnings[] }
`,
    run: async (argv) => (await import("./app/check.js")).runCheck(argv),
  },
  report: {
    summary: "build a sync report now: --print (plain text) or --json (--config F)",
    usage: `usage: gitops-bot report [<name>] [--config FILE] [--print | --json]

Builds a sync report now (the release matrix, sync, locks, approvals, activity), as the schedule of
report <name> (notifications.reports) would post it. Without a name: the only configured report,
else every section.
  -c, --config FILE   configuration file (default: $GITOPS_BOT_CONFIG, else gitops-bot.yaml)
  --print             plain text (the default)
  --json              one JSON object: name, period, problems and each section's data
`,
    run: async (argv) =>
      (await import("./app/report.js")).runReport(argv, { stdout: process.stdout, env: process.env }),
  },
};

/** True when `--help`/`-h` comes before `--` (after it, the words belong to the command). */
function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/** parseArgs (node:util) reports bad flags and stray arguments as `ERR_PARSE_ARGS_*` TypeErrors. */
function isUsageError(e: unknown): e is Error {
  if (isUserError(e)) return e.code === "usage";
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

function usage(): string {
  const lines = Object.entries(subcommands).map(([n, s]) => `  ${n.padEnd(8)} ${s.summary}`);
  return `usage: gitops-bot <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "help" || name === "--help" || name === "-h") {
    const topic = name === "help" && rest[0] ? subcommands[rest[0]] : undefined;
    process.stdout.write(topic?.usage ?? usage());
    return 0;
  }
  if (!name) {
    process.stderr.write(`gitops-bot: no command given\n\n${usage()}`);
    return 2;
  }
  const sub = subcommands[name];
  if (!sub) {
    const near = didYouMean(name, Object.keys(subcommands));
    const hint = near.length > 0 ? `; did you mean "${near[0]}"?` : "";
    process.stderr.write(`gitops-bot: unknown command "${name}"${hint}\n\n${usage()}`);
    return 2;
  }
  // `cmd` prints its own usage (it knows its options); the others are answered here.
  if (sub.usage && wantsHelp(rest)) {
    process.stdout.write(sub.usage);
    return 0;
  }
  try {
    return await sub.run(rest);
  } catch (e) {
    if (!isUsageError(e)) throw e;
    const first = (e.message.split("\n")[0] ?? "").trim();
    process.stderr.write(`gitops-bot ${name}: ${first}\n\n${sub.usage ?? usage()}`);
    return 2;
  }
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
