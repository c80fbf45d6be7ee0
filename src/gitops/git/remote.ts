import { isAbsolute, resolve } from "node:path";
import type { RepoConfig } from "../../config/schema.js";
import { UserError } from "../../core/errors.js";

/**
 * Where the config repo lives and how to authenticate, derived once from `repo.url` and
 * `repo.auth`. Credentials found in the URL's userinfo are moved out of it: `url` and `publicUrl`
 * never carry them, so they cannot reach `.git/config`, a log line or an error message.
 */
export interface RemoteSpec {
  /** `http`: cloned into the workdir; `local`: a repo on disk, committed to directly. */
  kind: "http" | "local";
  /** HTTP(S) URL without credentials, or the absolute path of the local repo. */
  url: string;
  /** Same as `url`, for commit links and messages. */
  publicUrl: string;
  /** Basic-auth credentials, when configured (token -> password, username default `git`). */
  credentials?: { username: string; password: string };
  /** Value of the `Authorization` header for `credentials`. */
  authHeader?: string;
  /** Every secret string to redact: password/token, their URL-encoded forms, and the basic-auth blob. */
  secrets: string[];
}

/** Parses `repo.url`/`repo.auth`. Throws a `UserError` for URL schemes we cannot serve (ssh, git://). */
export function resolveRemote(cfg: Pick<RepoConfig, "url" | "auth">, cwd = process.cwd()): RemoteSpec {
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
  if (/^(ssh|git|git\+ssh):\/\//i.test(raw) || /^[\w.-]+@[\w.-]+:/.test(raw)) {
    throw new UserError("repo.url uses SSH or git://, which gitops-bot does not support", {
      code: "bad-repo-url",
      hint: "Use the repo's HTTPS URL with a token in repo.auth, or a local path.",
    });
  }
  const path = isAbsolute(raw) ? raw : resolve(cwd, raw);
  return { kind: "local", url: path, publicUrl: path, secrets: [] };
}
