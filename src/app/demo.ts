/**
 * `gitops-bot demo` (what `npm start` runs): the first five minutes. Without any configuration it
 * copies `examples/config-repo` into a fresh directory, makes it a git repo with one commit, and
 * opens a chat shell on it: the same commands, engine and replies as Slack and Teams, plus the
 * notifications the bot would post. No network access is needed.
 *
 * prod is protected as in a real setup, but the shell user may approve their own requests (the
 * banner says so); a shared chat never allows that.
 *
 * With `--kubeconfig <file>` the reconcilers run too, against that cluster (demo-cluster.ts): the
 * shell then shows each command's commit, the sync that applied it and the Helm release it
 * deployed, as the notifications the bot would post.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { FileApprovalStore } from "../bot/approvals/store.js";
import { Authorizer } from "../bot/authz.js";
import { CommandEngine } from "../bot/engine.js";
import { ShellPlatform } from "../bot/platforms/shell/platform.js";
import { repoSchema } from "../config/schema.js";
import { UserError } from "../core/errors.js";
import type { CommandCommitEvent, EventSink, GitopsEvent } from "../core/events.js";
import { b, code, type Message, t } from "../core/message.js";
import { GitConfigRepo } from "../gitops/git-config-repo.js";
import { ReleaseService } from "../gitops/release-service.js";
import { createLogger } from "../logging.js";
import { CommitLinker } from "../notifications/format/links.js";
import { richMessage } from "../notifications/format/rich.js";
import { ViewStore } from "../notifications/state.js";
import { type DemoCluster, startDemoCluster } from "./demo-cluster.js";

const run = promisify(execFile);

/** Streams and environment facts the demo needs (cli.ts passes the process's). */
export interface DemoIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  /** True when NO_COLOR is set. */
  noColor?: boolean;
  /** The process environment (PATH and HOME to find helm, KUBECONFIG is not read). */
  env?: Record<string, string | undefined>;
}

/** The folder of the example config repo shipped with the package (dist/app/ and src/app/ are both 2 levels deep). */
export function defaultExamplesDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "../../examples/config-repo");
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: "gitops-bot demo",
  GIT_AUTHOR_EMAIL: "demo@gitops-bot.invalid",
  GIT_COMMITTER_NAME: "gitops-bot demo",
  GIT_COMMITTER_EMAIL: "demo@gitops-bot.invalid",
};

/** Creates `<dir>/config-repo` from the examples (git init + one commit) unless it exists. Returns its path. */
export async function prepareDemoRepo(
  dir: string,
  examples: string,
): Promise<{ repo: string; created: boolean }> {
  const repo = join(dir, "config-repo");
  if (await exists(join(repo, ".git"))) return { repo, created: false };
  if (!(await exists(examples))) {
    throw new UserError(`the example config repo is missing at ${examples}`, {
      code: "no-examples",
      hint: "Run the demo from a full checkout or package (it ships examples/), or pass --examples <dir>.",
    });
  }
  await mkdir(repo, { recursive: true });
  await cp(examples, repo, { recursive: true });
  const git = (...args: string[]) =>
    run("git", ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", ...args], {
      cwd: repo,
      env: { ...process.env, ...GIT_ENV },
    });
  try {
    await git("init", "-q", "-b", "main");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new UserError("the demo needs the git command, and git is not on PATH", {
        code: "no-git",
        hint: "Install git (apt-get install git, brew install git) and run it again.",
      });
    }
    throw e;
  }
  await git("add", "-A");
  await git("commit", "-q", "-m", "Initial config from examples/config-repo");
  return { repo, created: true };
}

function notification(ev: GitopsEvent): Message | undefined {
  if (ev.kind !== "command-commit") return undefined;
  const e: CommandCommitEvent = ev;
  const changes = e.changes.map((c) => `${c.container}: ${c.from ?? "-"} → ${c.to}`).join(", ");
  return {
    title: [t("📣 "), b(e.commit.subject)],
    severity: "info",
    blocks: [
      {
        kind: "context",
        text: [
          t(`posted to the channel: ${e.action} by ${e.actor}`),
          ...(e.approvers.length ? [t(`, approved by ${e.approvers.join(", ")}`)] : []),
          t(", commit "),
          code(e.commit.sha.slice(0, 7)),
          ...(changes ? [t(` (${changes})`)] : []),
        ],
      },
    ],
    fallbackText: `${e.commit.subject} (${e.commit.sha.slice(0, 7)})`,
  };
}

/** Marks a message as a channel post, so it reads apart from the replies. */
function notice(m: Message): Message {
  return {
    ...m,
    blocks: [...m.blocks, { kind: "context", text: [t("(notification posted to the channel)")] }],
  };
}

function banner(repo: string, user: string, created: boolean, cluster?: string[]): string {
  const where = cluster
    ? `  (${user}) just as they would from Slack or Teams, and the reconcilers apply them:`
    : `  (${user}) just as they would from Slack or Teams; the cluster side is not running here.`;
  return [
    "",
    "  gitops-bot demo",
    "",
    `  A ${created ? "new" : "reused"} local config repo at ${repo}`,
    "  holds podinfo and frontend in dev, stg and prod. Commands commit to it as you,",
    where,
    ...(cluster ?? []),
    "  prod is protected: changes there wait for approval. In this demo you may approve",
    "  your own requests; in a real chat someone else has to.",
    "",
    "  Try:",
    "    status                     what runs where (tags, charts, automation, locks)",
    "    diff podinfo dev stg       what promoting dev's podinfo to stg would change",
    "    promote podinfo dev stg    stg only takes stg-* tags: the bot explains, --force pins",
    "    promote frontend dev stg   stg's frontend is manual, so this just commits",
    "    history podinfo stg        who deployed what when",
    "    help                       every command",
    "",
    "  Type exit or press Ctrl-D to leave. `gitops-bot demo --dir DIR` keeps the repo between runs.",
    "",
    "",
  ].join("\n");
}

/** The notification the bot would post, printed in the shell: the real rich format (one view per release). */
function shellSink(shell: ShellPlatform, logger: ReturnType<typeof createLogger>): EventSink {
  // A plain fallback should the formatter refuse an event.
  const views = new ViewStore();
  const linker = new CommitLinker(undefined);
  return {
    emit(ev) {
      let msgs: Message[] = [];
      try {
        msgs = views.fold(ev).views.map((v) => richMessage(v, { linker, envOrder: ["dev", "stg", "prod"] }));
      } catch (e) {
        logger.warn({ err: e }, "notification format failed");
      }
      if (msgs.length === 0) {
        const m = notification(ev);
        if (m) msgs = [m];
      }
      for (const m of msgs) shell.notify(notice(m));
    },
  };
}

/**
 * Runs the demo; returns the exit code. Options: `--dir <path>` keeps state there, `--no-color`;
 * `--kubeconfig <file>` runs the reconcilers against that cluster (`--helm`, `--cluster`, `--no-images`).
 */
export async function runDemo(argv: string[], io: DemoIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: "string" },
      examples: { type: "string" },
      "no-color": { type: "boolean", default: false },
      quiet: { type: "boolean", short: "q", default: false },
      kubeconfig: { type: "string" },
      helm: { type: "string" },
      cluster: { type: "string" },
      "no-images": { type: "boolean", default: false },
    },
  });
  if (!values.kubeconfig && (values.helm || values.cluster || values["no-images"])) {
    throw new UserError("--helm, --cluster and --no-images need --kubeconfig", {
      code: "usage",
      hint: "Add --kubeconfig <file> to run the reconcilers against a cluster.",
    });
  }
  const dir = resolve(values.dir ?? (await mkdtemp(join(tmpdir(), "gitops-bot-demo-"))));
  const { repo: repoPath, created } = await prepareDemoRepo(dir, values.examples ?? defaultExamplesDir());
  const logger = createLogger({ level: "error", destination: io.stderr });
  const repo = await GitConfigRepo.open(
    repoSchema.parse({ url: repoPath, branch: "main", workdir: join(dir, "work") }),
    {
      logger,
    },
  );
  let cluster: DemoCluster | undefined;
  try {
    const shell = new ShellPlatform({
      input: io.stdin,
      output: io.stdout,
      color: !values["no-color"] && !io.noColor && io.stdout.isTTY === true,
    });
    const ops = new ReleaseService({ repo });
    const printer = shellSink(shell, logger);
    const clusterName = values.cluster ?? "demo";
    if (values.kubeconfig) {
      cluster = await startDemoCluster(
        {
          kubeconfig: values.kubeconfig,
          repoPath,
          dir,
          cluster: clusterName,
          helm: values.helm,
          images: !values["no-images"],
          env: io.env ?? {},
        },
        { repo, ops, logger, events: printer },
      );
    }
    const rec = cluster?.reconcilers;
    const engine = new CommandEngine({
      ops,
      authorizer: new Authorizer({ protectedEnvs: ["prod"] }, { required: 1, allowSelfApproval: true }),
      approvals: new FileApprovalStore(join(dir, "approvals.json")),
      events: cluster ? cluster.sink : printer,
      cluster: clusterName,
      logger,
      ...(rec?.commandSync ? { sync: rec.commandSync } : {}),
      ...(rec?.commandHelm ? { helm: rec.commandHelm } : {}),
      ...(rec?.imageCatalog ? { images: rec.imageCatalog } : {}),
    });
    shell.onInvocation(engine.handle);
    if (!values.quiet) shell.write(banner(repoPath, shell.user.name, created, cluster?.lines));
    await shell.start();
    if (shell.interactive) shell.write("bye\n");
    await engine.drain(15_000);
    return 0;
  } finally {
    await cluster?.stop();
    await repo.close();
  }
}
