import { isAbsolute, resolve } from "node:path";
import type { RepoConfig } from "../../config/schema.js";
import { UserError } from "../../core/errors.js";

/**
 * Where the config repo lives and how to authenticate, derived once from `repo.url` and
 * `repo.auth`. Credentials found in the URL's userinfo are moved out of it: `url` and `publicUrl`
 * never carry them, so they cannot reach `.git/config`, a log line or an error message.
 */
export interface RemoteSpec {
  /** `http`/`ssh`: cloned into the workdir; `local`: a repo on disk, committed to directly. */
  kind: "http" | "ssh" | "local";
  /** HTTP(S) URL without credentials, the SSH URL (`ssh://…` or `user@host:path`), or the absolute path of the local repo. */
  url: string;
  /** Same as `url`, for commit links and messages. */
  publicUrl: string;
  /** Basic-auth credentials, when configured (token -> password, username default `git`). */
  credentials?: { username: string; password: string };
  /** Value of the `Authorization` header for `credentials`. */
  authHeader?: string;
  /** Every secret string to redact: password/token, their URL-encoded forms, and the basic-auth blob. */
  secrets: string[];
  /** `repo.ssh`, for `kind: ssh`. */
  ssh?: SshSettings;
}

/** The `repo.ssh` settings (key, known hosts) an SSH remote is reached with. */
export type SshSettings = NonNullable<RepoConfig["ssh"]>;

/** Parses `repo.url`/`repo.auth`/`repo.ssh`. Throws a `UserError` for URLs we cannot serve (git://, a malformed SSH URL). */
export function resolveRemote(
  cfg: Pick<RepoConfig, "url" | "auth"> & { ssh?: RepoConfig["ssh"] },
  cwd = process.cwd(),
): RemoteSpec {
  const raw = cfg.url.trim();
  if (/^https?:\/\//i.test(raw)) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new UserError("repo.url is not a valid URL", {
        code: "bad-repo-url",
        hint: "Use https://host/org/repo.git or a local path.",
      });
    }
    const urlUser = u.username ? decodeURIComponent(u.username) : undefined;
    const urlPass = u.password ? decodeURIComponent(u.password) : undefined;
    u.username = "";
    u.password = "";
    const clean = u.toString();
    const password =
      cfg.auth?.password ?? cfg.auth?.token ?? urlPass ?? (urlUser && !urlPass ? urlUser : undefined);
    const username = cfg.auth?.username ?? (urlPass !== undefined ? urlUser : undefined) ?? "git";
    const spec: RemoteSpec = { kind: "http", url: clean, publicUrl: clean, secrets: [] };
    if (password !== undefined && password !== "") {
      const blob = Buffer.from(`${username}:${password}`).toString("base64");
      spec.credentials = { username, password };
      spec.authHeader = `Basic ${blob}`;
      spec.secrets = [password, encodeURIComponent(password), blob];
    }
    return spec;
  }
  if (/^file:\/\//i.test(raw)) {
    const path = decodeURIComponent(new URL(raw).pathname);
    return { kind: "local", url: path, publicUrl: path, secrets: [] };
  }
  const ssh = sshUrl(raw);
  if (ssh)
    return {
      kind: "ssh",
      url: ssh,
      publicUrl: ssh,
      secrets: [],
      ssh: cfg.ssh ?? { strictHostKeyChecking: true },
    };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    throw new UserError(`repo.url uses ${raw.split(":")[0]}://, which gitops-bot does not support`, {
      code: "bad-repo-url",
      hint: "Use the repo's HTTPS URL (token in repo.auth), its SSH URL (key in repo.ssh), or a local path.",
    });
  }
  const path = isAbsolute(raw) ? raw : resolve(cwd, raw);
  return { kind: "local", url: path, publicUrl: path, secrets: [] };
}

/**
 * The SSH URL in `raw` (`ssh://[user@]host[:port]/path`, `git+ssh://…`, or scp-like
 * `user@host:path`), normalised to `ssh://` for the first two; undefined when `raw` is not one.
 * What git would read as an option (a host starting with `-`) is refused: git passes the host to
 * ssh as an argument.
 */
function sshUrl(raw: string): string | undefined {
  const scp = /^([^@/:\s]+)@(\[[^\]]+\]|[^/:\s]+):(?!\/\/)(.*)$/u.exec(raw);
  if (scp) {
    const ok =
      /^[A-Za-z0-9._][A-Za-z0-9._-]*$/u.test(scp[1] ?? "") &&
      /^([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])$/u.test(scp[2] ?? "") &&
      (scp[3] ?? "").length > 0;
    if (!ok) throw badSsh();
    return raw;
  }
  if (!/^(ssh|git\+ssh|ssh\+git):\/\//i.test(raw)) return undefined;
  let u: URL;
  try {
    u = new URL(raw.replace(/^[a-z+]+:/i, "ssh:"));
  } catch {
    throw badSsh();
  }
  if (!u.hostname || u.hostname.startsWith("-") || u.username.startsWith("-") || u.pathname.length < 2)
    throw badSsh();
  // A password in an SSH URL is never used (keys only): drop it so it cannot reach a log line.
  u.password = "";
  return u.toString();
}

function badSsh(): UserError {
  return new UserError("repo.url is not a valid SSH URL", {
    code: "bad-repo-url",
    hint: "Use ssh://git@host[:port]/org/repo.git or git@host:org/repo.git.",
  });
}
