import { TransientError, UserError } from "../../core/errors.js";
import type { Redactor } from "../../core/redact.js";

/** What `classifyGitFailure` needs to word an error. */
export interface FailureContext {
  /** Short name of the operation, e.g. `fetch`, `push`, `clone`. */
  op: string;
  publicUrl: string;
  branch: string;
  redactor: Redactor;
}

/**
 * Turns a failed git operation (the stderr of the git CLI, or the message of an isomorphic-git
 * error) into the error kind the rest of the bot understands:
 * - bad credentials (HTTP 401/403, SSH key)       -> `UserError` code `repo-auth`
 * - an SSH host key that is not known             -> `UserError` code `repo-host-key`
 * - repo not found (HTTP 404)                     -> `UserError` code `repo-not-found`
 * - branch missing on the remote                  -> `UserError` code `repo-branch`
 * - unreachable server, timeouts, 5xx, cut stream -> `TransientError`
 * - anything else                                 -> plain `Error` (an internal error)
 * Every message is passed through `redactor`, and the raw detail is kept only in redacted form.
 */
export function classifyGitFailure(detail: string, ctx: FailureContext, statusCode?: number): Error {
  const d = ctx.redactor.text(detail.trim());
  const where = ctx.redactor.text(ctx.publicUrl);
  const short = lastLines(d);
  if (
    statusCode === 401 ||
    statusCode === 403 ||
    /Authentication failed|HTTP (?:Error: )?40[13]|returned error: 40[13]|could not read (?:Username|Password)|terminal prompts disabled|Invalid username or password|403 Forbidden|401 Unauthorized/i.test(
      d,
    )
  ) {
    return new UserError(
      `git ${ctx.op} of ${where} failed: the server refused the credentials (HTTP 401/403)`,
      {
        code: "repo-auth",
        hint: "Check repo.auth (username and password, or token) and that this identity may read and push to the repo.",
      },
    );
  }
  if (
    /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known/i.test(d)
  ) {
    return new UserError(`git ${ctx.op}: the host key of ${where} is not a known one`, {
      code: "repo-host-key",
      hint: "Add the server's key to repo.ssh.knownHosts (or knownHostsFile): `ssh-keyscan -t ed25519 <host>`, checked against what your git host publishes.",
    });
  }
  if (
    /Permission denied \(publickey|Permission denied, please try again|Load key .*: (invalid format|bad permissions)/i.test(
      d,
    )
  ) {
    return new UserError(`git ${ctx.op} of ${where} failed: the server refused the SSH key`, {
      code: "repo-auth",
      hint: "Check repo.ssh.privateKey (or privateKeyFile), and that its public key is a deploy key with write access.",
    });
  }
  if (
    statusCode === 404 ||
    /returned error: 404|HTTP (?:Error: )?404|repository '.*' not found|does not appear to be a git repository|not a git repository/i.test(
      d,
    )
  ) {
    return new UserError(`git ${ctx.op}: no git repository at ${where}`, {
      code: "repo-not-found",
      hint: "Check repo.url.",
    });
  }
  if (
    /couldn't find remote ref|remote branch .* not found|Could not find .*refs\/heads|branch-missing/i.test(d)
  ) {
    return new UserError(`branch ${ctx.branch} does not exist in ${where}`, {
      code: "repo-branch",
      hint: "Create the branch in the config repo (an initial commit is enough) or set repo.branch.",
    });
  }
  if (
    (statusCode !== undefined && statusCode >= 500) ||
    /Could not resolve host|Failed to connect|Connection refused|ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|timed out|Couldn't connect|Empty reply|returned error: 5\d\d|HTTP (?:Error: )?5\d\d|RPC failed|early EOF|unexpected disconnect|remote end hung up|SSL|gnutls|socket hang up|time limit/i.test(
      d,
    )
  ) {
    return new TransientError(`git ${ctx.op}: cannot reach ${where} (${short})`);
  }
  return new Error(`git ${ctx.op} failed: ${short}`);
}

function lastLines(s: string): string {
  const lines = s
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^hint:/.test(l));
  return lines.slice(-3).join("; ").slice(0, 500) || "no detail";
}
