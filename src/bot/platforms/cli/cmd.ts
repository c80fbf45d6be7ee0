/**
 * `gitops-bot cmd [options] -- <command text>`: runs one chat command against a config repo, as a
 * user would, for scripts and CI pipelines. It acts with the git credentials it is given, so chat
 * approvals do not apply: writes to a protected env and risky commands need `--yes` instead.
 *
 * Exit codes: 0 ok (also a dry run), 1 user error (bad input, refused, needs --yes), 2 internal
 * error. `--json` prints one JSON object: `{ ok, outcome, command, title, text, results, data, error }`.
 */
import { randomUUID } from "node:crypto";
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { renderText } from "../../../chat/shell/render.js";
import { repoSchema } from "../../../config/schema.js";
import { correlationId, isUserError } from "../../../core/errors.js";
import { messageToPlainText, plain } from "../../../core/message.js";
import { Redactor } from "../../../core/redact.js";
import { GitConfigRepo } from "../../../gitops/git-config-repo.js";
import { ReleaseService } from "../../../gitops/release-service.js";
import { createLogger } from "../../../logging.js";
import { InMemoryApprovalStore } from "../../approvals.js";
import { Authorizer } from "../../authz.js";
import { CommandEngine, type EngineResult } from "../../engine.js";
import { quote } from "../../parse.js";
import type { ChatUser, Invocation } from "../../platform.js";

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
}

const USAGE = `usage: gitops-bot cmd --repo <url-or-path> [--branch B] [--user "Name <email>"] [--yes] [--json] -- <command>

Runs one chat command against the config repo, for scripts and CI. Examples:
  gitops-bot cmd --repo https://git.example.com/org/config.git -- status
  gitops-bot cmd --repo ./config --user "Alice <alice@example.com>" -- promote podinfo dev stg
  gitops-bot cmd --repo ./config --yes -- release podinfo prod 0.4.11

Credentials come from GITOPS_BOT_GIT_TOKEN or GITOPS_BOT_GIT_USERNAME/GITOPS_BOT_GIT_PASSWORD.
Writes to protected environments and risky commands need --yes (chat approvals do not apply).
Exit codes: 0 ok, 1 user error, 2 internal error.
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

/** Runs `gitops-bot cmd`; returns the exit code. */
export async function runCmd(argv: string[], io: CmdIO): Promise<number> {
  let values: {
    repo?: string;
    branch?: string;
    user?: string;
    yes?: boolean;
    json?: boolean;
    workdir?: string;
    help?: boolean;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        repo: { type: "string" },
        branch: { type: "string" },
        user: { type: "string" },
        workdir: { type: "string" },
        yes: { type: "boolean", short: "y", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    io.stderr.write(`gitops-bot cmd: ${(e as Error).message}\n\n${USAGE}`);
    return 1;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (!values.repo || positionals.length === 0) {
    io.stderr.write(`gitops-bot cmd: ${values.repo ? "no command given" : "--repo is required"}\n\n${USAGE}`);
    return 1;
  }
  // One argument is the whole command line ("promote podinfo dev stg"); several are its words,
  // already split by the calling shell, so quote them back to keep "db migration" one token.
  const text = positionals.length === 1 ? (positionals[0] as string) : quote(positionals);
  const redactor = new Redactor([io.gitToken, io.gitPassword]);
  const logger = createLogger({
    level: io.logLevel ?? "warn",
    secrets: [io.gitToken, io.gitPassword].filter((s): s is string => !!s),
    destination: io.stderr,
  });
  const json = values.json === true;
  let repo: GitConfigRepo | undefined;
  try {
    repo = await GitConfigRepo.open(
      repoSchema.parse({
        url: values.repo,
        ...(values.branch ? { branch: values.branch } : {}),
        ...(values.workdir ? { workdir: values.workdir } : {}),
        auth: {
          ...(io.gitToken ? { token: io.gitToken } : {}),
          ...(io.gitPassword ? { password: io.gitPassword } : {}),
          ...(io.gitUsername ? { username: io.gitUsername } : {}),
        },
      }),
      { logger },
    );
    const engine = new CommandEngine({
      ops: new ReleaseService({ repo }),
      // Default rules: prod protected (needs --yes here), everything else allowed.
      authorizer: new Authorizer(),
      approvals: new InMemoryApprovalStore(),
      commitUrl: commitUrlFor(repo.publicUrl),
      logger,
      secrets: [io.gitToken, io.gitPassword].filter((s): s is string => !!s),
    });
    const inv: Invocation = {
      id: `cli-${randomUUID()}`,
      platform: "cli",
      text,
      user: parseUser(values.user),
      channel: "cli",
      receivedAt: new Date(),
    };
    const r = await engine.execute(inv, { trusted: true, yes: values.yes === true });
    const code = exitCode(r);
    if (json) {
      io.stdout.write(
        `${JSON.stringify(
          redactor.value({
            ok: code === 0,
            outcome: r.outcome,
            command: r.command,
            title: r.message.title ? plain(r.message.title) : undefined,
            text: messageToPlainText(r.message),
            results: r.results,
            data: r.data,
            error: r.error,
          }),
          null,
          2,
        )}\n`,
      );
    } else {
      const out = renderText(r.message, { color: !io.noColor && io.stdout.isTTY === true });
      (code === 0 ? io.stdout : io.stderr).write(out);
    }
    return code;
  } catch (e) {
    // Opening the repo failed (bad URL, credentials, unreachable server).
    const user = isUserError(e);
    const ref = correlationId();
    const msg = user ? e.message : `internal error (ref ${ref})`;
    if (!user) logger.error({ err: e, ref }, "cmd failed");
    if (json) {
      io.stdout.write(
        `${JSON.stringify(redactor.value({ ok: false, outcome: user ? "user-error" : "internal-error", error: { message: msg, ...(user && e.hint ? { hint: e.hint } : {}), ...(user ? { code: e.code } : { ref }) } }), null, 2)}\n`,
      );
    } else io.stderr.write(`error: ${redactor.text(msg)}\n${user && e.hint ? `hint: ${e.hint}\n` : ""}`);
    return user ? 1 : 2;
  } finally {
    await repo?.close();
  }
}

/** Commit links for well-known forges (GitHub, GitLab, Gitea-style `/commit/<sha>`); none for local paths. */
export function commitUrlFor(publicUrl: string): ((sha: string) => string | undefined) | undefined {
  if (!/^https?:\/\//u.test(publicUrl)) return undefined;
  const base = publicUrl.replace(/\.git\/?$/u, "").replace(/\/+$/u, "");
  return (sha) => `${base}/commit/${sha}`;
}
