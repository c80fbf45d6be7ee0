/**
 * A real smart-HTTP git server for tests and benchmarks: a Node HTTP server on 127.0.0.1 (random
 * port) that runs `git http-backend` as CGI behind HTTP basic auth.
 *
 * ```ts
 * const server = await startGitServer({ username: "bot", password: "s3cret" });
 * await server.createBareRepo("config.git", { seedFrom: "examples/config-repo" });
 * const url = server.url("config.git");            // http://127.0.0.1:PORT/config.git (no credentials)
 * const off = server.onRequest((r) => { ... });     // count requests, or inject another writer's push
 * await server.commitDirect("config.git", { files: { "a.yaml": "x: 1\n" }, message: "other writer" });
 * await server.stop();
 * ```
 *
 * Guarantees: every request without the right `Authorization: Basic` header gets a 401 with a
 * `WWW-Authenticate` challenge (git then retries with credentials, like against GitHub); pushes are
 * accepted only when authenticated (`REMOTE_USER` is set); `receive.denyNonFastForwards` is on in
 * every repo, so a forced push is refused like on a protected branch. No shell is ever used.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createGunzip } from "node:zlib";

/** What a request hook sees. `service` is `git-upload-pack` (fetch/clone) or `git-receive-pack` (push). */
export interface GitRequestInfo {
  method: string;
  /** Repo name as passed to `createBareRepo`, e.g. `config.git` ("" when the path names none). */
  repo: string;
  /** Path after the repo, e.g. `/info/refs` or `/git-receive-pack`. */
  path: string;
  service: "git-upload-pack" | "git-receive-pack" | undefined;
  /** True for the request that actually updates refs (POST .../git-receive-pack). */
  isPush: boolean;
  authenticated: boolean;
}

/**
 * Called before each request is served; the request waits for the returned promise. Returning
 * `"drop-response"` serves the request (a push is applied) but closes the connection instead of
 * answering: a reply lost on the way back.
 */
export type GitRequestHook = (
  req: GitRequestInfo,
  // biome-ignore lint/suspicious/noConfusingVoidType: existing hooks are `async () => {}` (Promise<void>)
) => void | "drop-response" | Promise<void | "drop-response">;

export interface GitServerOptions {
  username: string;
  password: string;
  /** Directory holding the bare repos (default: a fresh temp dir, removed by `stop()`). */
  root?: string;
}

export interface GitServer {
  /** `http://127.0.0.1:PORT` */
  readonly baseUrl: string;
  /** Directory holding the bare repos. */
  readonly root: string;
  /** Clone URL of a repo, without credentials. */
  url(repoName: string): string;
  /** Clone URL with `username:password@` in it (for peers such as a plain `git clone` in a test). */
  authUrl(repoName: string): string;
  /**
   * Creates a bare repo `repoName` (a path under `root`, e.g. `config.git`) with default branch
   * `branch` (default `main`). `seedFrom` is a git repo (all its branches are copied) or a plain
   * directory (its files become one initial commit on `branch`). Returns the bare repo's path.
   */
  createBareRepo(repoName: string, opts?: { seedFrom?: string; branch?: string }): Promise<string>;
  /**
   * "Another writer": commits straight into the bare repo (no HTTP, so no hook runs) on top of the
   * branch head. `files` maps repo paths to new content, `null` to delete, or `{ symlink: target }`
   * for a symbolic link. Returns the new SHA.
   */
  commitDirect(
    repoName: string,
    change: { files: Record<string, string | null | { symlink: string }>; message: string; branch?: string },
  ): Promise<string>;
  /** Runs `hook` before every request until the returned function is called. */
  onRequest(hook: GitRequestHook): () => void;
  /** Number of requests served so far (including 401 answers). */
  requestCount(): number;
  /** Stops the server, waits for running CGI processes, and removes `root` if it created it. */
  stop(): Promise<void>;
}

const COMMITTER_ENV = {
  GIT_AUTHOR_NAME: "Other Writer",
  GIT_AUTHOR_EMAIL: "other@example.com",
  GIT_COMMITTER_NAME: "Other Writer",
  GIT_COMMITTER_EMAIL: "other@example.com",
};

/** Starts the server; see the module comment. */
export async function startGitServer(opts: GitServerOptions): Promise<GitServer> {
  const ownsRoot = opts.root === undefined;
  const root = resolve(opts.root ?? (await mkdtemp(join(tmpdir(), "git-server-"))));
  await mkdir(root, { recursive: true });
  const expected = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString("base64")}`;
  const hooks = new Set<GitRequestHook>();
  const running = new Set<Promise<void>>();
  let count = 0;

  const server = createServer((req, res) => {
    count++;
    const p = handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`git-server: ${err instanceof Error ? err.message : String(err)}\n`);
    });
    running.add(p);
    void p.finally(() => running.delete(p));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const pathInfo = decodeURIComponent(url.pathname);
    const authenticated = req.headers.authorization === expected;
    const info = describe(req.method ?? "GET", pathInfo, url.searchParams.get("service"), authenticated);
    let drop = false;
    for (const hook of [...hooks]) if ((await hook(info)) === "drop-response") drop = true;
    if (!authenticated) {
      req.resume();
      res.writeHead(401, { "www-authenticate": 'Basic realm="git-server"', "content-type": "text/plain" });
      res.end("authentication required\n");
      return;
    }
    if (pathInfo.includes("..")) {
      req.resume();
      res.writeHead(403).end();
      return;
    }
    await runCgi(req, res, pathInfo, url.search.slice(1), drop);
  }

  async function runCgi(
    req: IncomingMessage,
    res: ServerResponse,
    pathInfo: string,
    query: string,
    drop = false,
  ): Promise<void> {
    const gzipped = /^(x-)?gzip$/i.test(String(req.headers["content-encoding"] ?? ""));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env["PATH"],
      HOME: root,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: pathInfo,
      QUERY_STRING: query,
      REQUEST_METHOD: req.method ?? "GET",
      CONTENT_TYPE: String(req.headers["content-type"] ?? ""),
      REMOTE_USER: opts.username,
      REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
      SERVER_PROTOCOL: "HTTP/1.1",
      GATEWAY_INTERFACE: "CGI/1.1",
      // Protocol v2 is negotiated through this header.
      ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
      // We inflate gzip bodies here, so the length is only known for identity bodies; without
      // CONTENT_LENGTH http-backend reads until EOF.
      ...(!gzipped && req.headers["content-length"]
        ? { CONTENT_LENGTH: String(req.headers["content-length"]) }
        : {}),
    };
    const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
    const body = gzipped ? req.pipe(createGunzip()) : req;
    body.on("error", () => child.stdin.destroy());
    child.stdin.on("error", () => {}); // the backend may exit before reading everything (e.g. 404)
    body.pipe(child.stdin);
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });

    await new Promise<void>((resolveDone, reject) => {
      let head = Buffer.alloc(0);
      let headersDone = false;
      child.stdout.on("data", (chunk: Buffer) => {
        if (drop) return;
        if (headersDone) {
          res.write(chunk);
          return;
        }
        head = Buffer.concat([head, chunk]);
        const sep = findHeaderEnd(head);
        if (!sep) return;
        headersDone = true;
        const { status, headers } = parseCgiHeaders(head.subarray(0, sep.index).toString("latin1"));
        res.writeHead(status, headers);
        const rest = head.subarray(sep.index + sep.length);
        if (rest.length > 0) res.write(rest);
      });
      child.once("error", reject);
      child.once("close", (code) => {
        if (drop) {
          res.socket?.destroy();
        } else if (!headersDone) {
          if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
          res.end(`git http-backend exited with ${code}: ${stderr}`);
        } else {
          res.end();
        }
        resolveDone();
      });
    });
  }

  function describe(
    method: string,
    pathInfo: string,
    service: string | null,
    authenticated: boolean,
  ): GitRequestInfo {
    const m = /^\/(.+?)(\/(?:info\/refs|git-upload-pack|git-receive-pack|HEAD|objects\/.*))$/.exec(pathInfo);
    const repo = m?.[1] ?? "";
    const path = m?.[2] ?? pathInfo;
    const svc = service ?? (path.startsWith("/git-") ? path.slice(1) : undefined);
    return {
      method,
      repo,
      path,
      service: svc === "git-upload-pack" || svc === "git-receive-pack" ? svc : undefined,
      isPush: method === "POST" && path === "/git-receive-pack",
      authenticated,
    };
  }

  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;

  const repoPath = (name: string) => {
    const p = resolve(root, name);
    if (!p.startsWith(`${root}/`)) throw new Error(`repo name ${name} leaves the server root`);
    return p;
  };

  return {
    baseUrl,
    root,
    url: (name) => `${baseUrl}/${name}`,
    authUrl: (name) =>
      `http://${encodeURIComponent(opts.username)}:${encodeURIComponent(opts.password)}@127.0.0.1:${port}/${name}`,

    async createBareRepo(name, { seedFrom, branch = "main" } = {}) {
      const path = repoPath(name);
      if (seedFrom && (await isGitRepo(seedFrom))) {
        await git(["clone", "--bare", "--quiet", "--", resolve(seedFrom), path]);
      } else {
        await git(["init", "--bare", "--quiet", `--initial-branch=${branch}`, path]);
        if (seedFrom) {
          // Import the directory's files as one commit, without touching the directory.
          const index = join(path, "seed-index");
          const env = {
            GIT_DIR: path,
            GIT_WORK_TREE: resolve(seedFrom),
            GIT_INDEX_FILE: index,
            ...COMMITTER_ENV,
          };
          await git(["add", "-A", "."], { env, cwd: resolve(seedFrom) });
          const tree = (await git(["write-tree"], { env })).trim();
          const sha = (await git(["commit-tree", tree, "-m", "initial import"], { env })).trim();
          await git(["update-ref", `refs/heads/${branch}`, sha], { env });
          await rm(index, { force: true });
        }
      }
      await git(["config", "receive.denyNonFastForwards", "true"], { env: { GIT_DIR: path } });
      await git(["config", "http.receivepack", "true"], { env: { GIT_DIR: path } });
      return path;
    },

    async commitDirect(name, { files, message, branch = "main" }) {
      const path = repoPath(name);
      const index = join(
        path,
        `direct-index-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
      );
      const env = { GIT_DIR: path, GIT_INDEX_FILE: index, ...COMMITTER_ENV };
      try {
        const parent = (
          await git(["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`], { env, okCodes: [0, 1] })
        ).trim();
        if (parent) await git(["read-tree", parent], { env });
        // --index-info works without a work tree: "<mode> <sha>\t<path>", mode 0 removes.
        const lines: string[] = [];
        for (const [file, content] of Object.entries(files)) {
          if (content === null) lines.push(`0 ${"0".repeat(40)}\t${file}`);
          else {
            const text = typeof content === "string" ? content : content.symlink;
            const blob = (await git(["hash-object", "-w", "--stdin"], { env, input: text })).trim();
            lines.push(`${typeof content === "string" ? "100644" : "120000"} ${blob}\t${file}`);
          }
        }
        await git(["update-index", "--index-info"], { env, input: `${lines.join("\n")}\n` });
        const tree = (await git(["write-tree"], { env })).trim();
        const sha = (
          await git(["commit-tree", tree, ...(parent ? ["-p", parent] : []), "-m", message], { env })
        ).trim();
        // Compare-and-swap, like a real push: fails if the branch moved meanwhile.
        await git(["update-ref", `refs/heads/${branch}`, sha, parent || "0".repeat(40)], { env });
        return sha;
      } finally {
        await rm(index, { force: true });
      }
    },

    onRequest(hook) {
      hooks.add(hook);
      return () => hooks.delete(hook);
    },

    requestCount: () => count,

    async stop() {
      hooks.clear();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      await Promise.allSettled([...running]);
      if (ownsRoot) await rm(root, { recursive: true, force: true });
    },
  };
}

function findHeaderEnd(buf: Buffer): { index: number; length: number } | undefined {
  const crlf = buf.indexOf("\r\n\r\n");
  const lf = buf.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { index: crlf, length: 4 };
  if (lf >= 0) return { index: lf, length: 2 };
  return undefined;
}

function parseCgiHeaders(text: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const key = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (key === "status") status = Number.parseInt(value, 10) || 500;
    else headers[key] = value;
  }
  return { status, headers };
}

async function isGitRepo(dir: string): Promise<boolean> {
  if (existsSync(join(dir, ".git")) || existsSync(join(dir, "HEAD"))) {
    const out = await git(["rev-parse", "--git-dir"], { cwd: dir, okCodes: [0, 128] }).catch(() => "");
    return out.trim() !== "";
  }
  return false;
}

/** Runs git with an argument array (no shell); resolves stdout, rejects with stderr on an unexpected exit code. */
function git(
  args: string[],
  o: { env?: Record<string, string>; cwd?: string; input?: string; okCodes?: number[] } = {},
): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn("git", args, {
      cwd: o.cwd,
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", ...o.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.stdin.on("error", () => {}); // git may exit before reading stdin
    child.once("error", fail);
    child.once("close", (code) => {
      if ((o.okCodes ?? [0]).includes(code ?? -1)) ok(out);
      else fail(new Error(`git ${args.join(" ")} exited with ${code}: ${err.trim()}`));
    });
    child.stdin.end(o.input ?? "");
  });
}
