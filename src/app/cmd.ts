/**
 * `gitops-bot cmd [options] -- <command text>`: runs one chat command against a config repo, as a
 * user would, for scripts and CI pipelines. It acts with the git credentials it is given, so chat
 * approvals do not apply: writes to a protected env and risky commands need `--yes` instead.
 *
 * Exit codes: 0 ok (also a dry run), 1 user error (bad input, refused, needs --yes, no repo or
 * command given), 2 usage error (unknown flag) or internal error. `--json` prints one JSON object: `{ ok, outcome, command, title, text, results, data, error }`.
 */
import { randomUUID } from "node:crypto";
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { InMemoryApprovalStore } from "../bot/approvals/store.js";
import { Authorizer } from "../bot/authz.js";
import { CommandEngine, type EngineResult } from "../bot/engine.js";
import { quote } from "../bot/parse.js";
import type { ChatUser, Invocation } from "../bot/platform.js";
import { renderText } from "../chat/shell/render.js";
import { imagesSchema } from "../config/images-schema.js";
import { ConfigError, configSecrets, loadConfig } from "../config/load.js";
import { type Config, type RepoConfig, repoSchema } from "../config/schema.js";
import { correlationId, isUserError } from "../core/errors.js";
import { messageToPlainText, plain } from "../core/message.js";
import type { Logger } from "../core/ports.js";
import { Redactor } from "../core/redact.js";
import { GitConfigRepo } from "../gitops/git-config-repo.js";
import { ReleaseService } from "../gitops/release-service.js";
import { createLogger } from "../logging.js";
import { ImageCatalogService } from "../reconciler/images/catalog.js";
import { imageScanner, registryClient } from "../reconciler/images/registries.js";

/** Streams and the credentials cli.ts read from the environment. */
export interface CmdIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  /** `GITOPS_BOT_GIT_TOKEN`. */
  gitToken?: string;
  /** `GITOPS_BOT_GIT_PASSWORD` (with `GITOPS_BOT_GIT_USERNAME`). */
  gitPassword?: string;
  gitUsername?: string;
  noColor?: boolean;
  /** Log level (default `warn`; logs go to stderr as JSON lines). */
  logLevel?: string;
  /** The environment, for `${VAR}` in the `--config` file. */
  env?: Record<string, string | undefined>;
}

/** The sections of gitops-bot.yaml that `cmd` follows; problems elsewhere (a chat token's unset variable) do not matter. */
const CONFIG_SECTIONS = ["clusterName", "repo", "authz", "approvals"] as const;

const USAGE = `usage: gitops-bot cmd (--repo <url-or-path> | --config FILE) [--branch B] [--workdir DIR] [--user "Name <email>"] [--yes] [--json] -- <command>

Runs one chat command against the config repo, for scripts and CI. Examples:
  gitops-bot cmd --repo https://git.example.com/org/config.git -- status
  gitops-bot cmd --repo ./config --user "Alice <alice@example.com>" -- promote podinfo dev stg
  gitops-bot cmd --repo ./config --yes -- release podinfo prod 0.4.11
  gitops-bot cmd --config gitops-bot.yaml -- promote podinfo dev stg

--config FILE follows the team's gitops-bot.yaml: repo (url, branch, auth, releasesPath, envsFrom),
authz (protectedEnvs, rules), images (registries and their credentials, for \`images\`) and
clusterName; --repo, --branch and --workdir override it. Without it, prod is the protected
environment, everything else is allowed and registries are reached anonymously.

Credentials come from GITOPS_BOT_GIT_TOKEN or GITOPS_BOT_GIT_USERNAME/GITOPS_BOT_GIT_PASSWORD
(over repo.auth from --config).
Writes to protected environments and risky commands need --yes (chat approvals do not apply).
Exit codes: 0 ok, 1 user error, 2 usage error (bad flag) or internal error.
`;

/** Parses `Name <email>` (or a bare name or e-mail) into a CLI user. */
export function parseUser(s: string | undefined): ChatUser {
  if (!s) {
    let name = "cli";
    try {
      name = userInfo().username || "cli";
    } catch {
      // No passwd entry (containers): keep the generic name.
    }
    return { id: `cli:${name}`, name };
  }
  const m = /^\s*(.*?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/u.exec(s);
  const name = (m ? m[1] : s)?.trim() || (m?.[2] ?? "cli").split("@")[0] || "cli";
  const email = m?.[2] ?? (/^[^\s@]+@[^\s@]+$/u.test(s.trim()) ? s.trim() : undefined);
  const id = `cli:${(email ?? name).replace(/[^A-Za-z0-9._@-]+/g, "-")}`;
  return { id, name, ...(email ? { email } : {}) };
}

function exitCode(r: EngineResult): number {
  switch (r.outcome) {
    case "ok":
    case "approval-requested":
    case "duplicate":
      return 0;
    case "user-error":
    case "confirmation-needed":
      return 1;
    case "internal-error":
      return 2;
  }
}

/** The parsed command line of `cmd`. */
interface CmdArgs {
  repo?: string;
  config?: string;
  branch?: string;
  user?: string;
  yes?: boolean;
  json?: boolean;
  workdir?: string;
  help?: boolean;
}

function parseCmdArgs(argv: string[]): { values: CmdArgs; positionals: string[] } {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      repo: { type: "string" },
      config: { type: "string", short: "c" },
      branch: { type: "string" },
      user: { type: "string" },
      workdir: { type: "string" },
      yes: { type: "boolean", short: "y", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}

/** Runs `gitops-bot cmd`; returns the exit code. */
export async function runCmd(argv: string[], io: CmdIO): Promise<number> {
  let values: CmdArgs;
  let positionals: string[];
  try {
    ({ values, positionals } = parseCmdArgs(argv));
  } catch (e) {
    // A usage error: one line and the usage, exit 2 (like every other subcommand).
    io.stderr.write(`gitops-bot cmd: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if ((!values.repo && !values.config) || positionals.length === 0) {
    const what = values.repo || values.config ? "no command given" : "--repo is required (or --config)";
    io.stderr.write(`gitops-bot cmd: ${what}\n\n${USAGE}`);
    return 1;
  }
  // One argument is the whole command line ("promote podinfo dev stg"); several are its words,
  // already split by the calling shell, so quote them back to keep "db migration" one token.
  const text = positionals.length === 1 ? (positionals[0] as string) : quote(positionals);
  const secrets = [io.gitToken, io.gitPassword].filter((s): s is string => !!s);
  const out: Output = {
    json: values.json === true,
    redactor: new Redactor(secrets),
    logger: createLogger({ level: io.logLevel ?? "warn", secrets, destination: io.stderr }),
  };
  let repo: GitConfigRepo | undefined;
  try {
    let cfg: Config | undefined;
    if (values.config) {
      cfg = await loadCmdConfig(values.config, io.env ?? {}, out.logger);
      secrets.push(...configSecrets(cfg));
      out.redactor = new Redactor(secrets);
      out.logger = createLogger({ level: io.logLevel ?? "warn", secrets, destination: io.stderr });
    }
    repo = await GitConfigRepo.open(repoConfig(values, io, cfg?.repo), { logger: out.logger });
    const engine = buildEngine(repo, cfg, out.logger, secrets);
    const inv: Invocation = {
      id: `cli-${randomUUID()}`,
      platform: "cli",
      text,
      user: parseUser(values.user),
      channel: "cli",
      receivedAt: new Date(),
    };
    const r = await engine.execute(inv, { trusted: true, yes: values.yes === true });
    writeResult(io, out, r);
    return exitCode(r);
  } catch (e) {
    // Reading the config or opening the repo failed (bad URL, credentials, unreachable server).
    return writeFailure(io, out, e);
  } finally {
    await repo?.close();
  }
}

/**
 * `--config` for `cmd`: its sections plus `images` (registries and credentials, for `images`). A
 * problem only in `images` (the webhook secret's variable is not set in CI) does not stop the other
 * commands: it is one warning, and registries are then reached anonymously.
 */
async function loadCmdConfig(
  file: string,
  env: Record<string, string | undefined>,
  logger: Logger,
): Promise<Config> {
  try {
    return await loadConfig(file, env, { sections: [...CONFIG_SECTIONS, "images"] });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const cfg = await loadConfig(file, env, { sections: CONFIG_SECTIONS });
    const problems = e.problems
      .filter((p) => p.path.startsWith("images"))
      .map((p) => `${p.path}: ${p.message}`);
    logger.warn({ problems }, "the images section is not usable here; registries are reached anonymously");
    return cfg;
  }
}

/** How results are written: JSON or text, redacted, with the logger for internal errors. */
interface Output {
  json: boolean;
  redactor: Redactor;
  logger: Logger;
}

/** The engine `cmd` runs: `--config`'s rules and layout, else the defaults. */
function buildEngine(
  repo: GitConfigRepo,
  cfg: Config | undefined,
  logger: Logger,
  secrets: string[],
): CommandEngine {
  const ops = new ReleaseService({
    repo,
    ...(cfg ? { releasesPath: cfg.repo.releasesPath, envsFrom: cfg.repo.envsFrom } : {}),
  });
  // `images` reads the registries like image automation does, with --config's credentials.
  const imagesCfg = cfg?.images ?? imagesSchema.parse({});
  const images = new ImageCatalogService({
    ops,
    scanner: imageScanner(imagesCfg, registryClient(imagesCfg, logger)),
  });
  return new CommandEngine({
    ops,
    images,
    // Without --config, default rules: prod protected (needs --yes here), everything else allowed.
    authorizer: cfg ? new Authorizer(cfg.authz, cfg.approvals) : new Authorizer(),
    approvals: new InMemoryApprovalStore(),
    commitUrl: commitUrlFor(repo.publicUrl),
    logger,
    secrets,
    ...(cfg ? { cluster: cfg.clusterName } : {}),
  });
}

function writeResult(io: CmdIO, out: Output, r: EngineResult): void {
  const code = exitCode(r);
  if (out.json) {
    const doc = {
      ok: code === 0,
      outcome: r.outcome,
      command: r.command,
      title: r.message.title ? plain(r.message.title) : undefined,
      text: messageToPlainText(r.message),
      results: r.results,
      data: r.data,
      error: r.error,
    };
    io.stdout.write(`${JSON.stringify(out.redactor.value(doc), null, 2)}\n`);
  } else {
    const text = renderText(r.message, { color: !io.noColor && io.stdout.isTTY === true });
    (code === 0 ? io.stdout : io.stderr).write(text);
  }
}

/** Reports an error from before the engine ran; returns the exit code (1 user error, 2 internal). */
function writeFailure(io: CmdIO, out: Output, e: unknown): number {
  const user = isUserError(e);
  const ref = correlationId();
  const msg = user ? e.message : `internal error (ref ${ref})`;
  if (!user) out.logger.error({ err: e, ref }, "cmd failed");
  if (out.json) {
    const error = {
      message: msg,
      ...(user && e.hint ? { hint: e.hint } : {}),
      ...(user ? { code: e.code } : { ref }),
    };
    const doc = { ok: false, outcome: user ? "user-error" : "internal-error", error };
    io.stdout.write(`${JSON.stringify(out.redactor.value(doc), null, 2)}\n`);
  } else io.stderr.write(`error: ${out.redactor.text(msg)}\n${user && e.hint ? `hint: ${e.hint}\n` : ""}`);
  return user ? 1 : 2;
}

/**
 * The repo settings: `--config`'s `repo` section (when given) with `--repo`, `--branch`, `--workdir`
 * and the credentials from the environment on top.
 */
function repoConfig(
  values: { repo?: string; branch?: string; workdir?: string },
  io: CmdIO,
  fromFile: RepoConfig | undefined,
): RepoConfig {
  const envAuth = io.gitToken || io.gitPassword || io.gitUsername;
  return repoSchema.parse({
    ...fromFile,
    ...(values.repo ? { url: values.repo } : {}),
    ...(values.branch ? { branch: values.branch } : {}),
    ...(values.workdir ? { workdir: values.workdir } : {}),
    auth: envAuth
      ? {
          ...(io.gitToken ? { token: io.gitToken } : {}),
          ...(io.gitPassword ? { password: io.gitPassword } : {}),
          ...(io.gitUsername ? { username: io.gitUsername } : {}),
        }
      : (fromFile?.auth ?? {}),
  });
}

/** Commit links for well-known forges (GitHub, GitLab, Gitea-style `/commit/<sha>`); none for local paths. */
export function commitUrlFor(publicUrl: string): ((sha: string) => string | undefined) | undefined {
  if (!/^https?:\/\//u.test(publicUrl)) return undefined;
  const base = publicUrl.replace(/\.git\/?$/u, "").replace(/\/+$/u, "");
  return (sha) => `${base}/commit/${sha}`;
}
