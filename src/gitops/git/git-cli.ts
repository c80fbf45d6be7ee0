import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";

/** Result of one git invocation. */
export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface GitRunOptions {
  /** Bytes for stdin (stdin is closed right away when absent). */
  input?: string | Buffer;
  /** Extra environment for this one command (e.g. the auth header for a network command). */
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the process after this long (default 120 s for network commands, 60 s otherwise). */
  timeoutMs?: number;
}

/**
 * Runs the git CLI with argument arrays (never a shell) and without blocking the event loop.
 * The environment is fixed at construction: `GIT_DIR` pins the repo (no discovery), prompts are
 * disabled (`GIT_TERMINAL_PROMPT=0`, empty askpass) so a bad credential fails instead of hanging,
 * and `LC_ALL=C` keeps messages in English so failures can be classified.
 */
export class GitCli {
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly gitDir: string,
    opts: {
      workTree?: string;
      gitBinary?: string;
      discover?: boolean;
      onRun?: (cmd: string, ms: number, code: number) => void;
    } = {},
  ) {
    this.onRun = opts.onRun;
    this.workTree = opts.workTree;
    const inherited: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      // Variables such as GIT_INDEX_FILE or GIT_WORK_TREE from a surrounding git hook would redirect us.
      if (!k.startsWith("GIT_")) inherited[k] = v;
    }
    this.env = {
      ...inherited,
      // `discover`: find the repo from the working directory (for probing a local path).
      ...(opts.discover ? {} : { GIT_DIR: gitDir }),
      ...(opts.workTree ? { GIT_WORK_TREE: opts.workTree } : {}),
      GIT_TERMINAL_PROMPT: "0",
      GIT_ASKPASS: "",
      SSH_ASKPASS: "",
      GCM_INTERACTIVE: "never",
      GIT_OPTIONAL_LOCKS: "0",
      // Paths after `--` are file names, never globs or `:(magic)` pathspecs.
      GIT_LITERAL_PATHSPECS: "1",
      LC_ALL: "C",
      LANGUAGE: "C",
    };
    this.binary = opts.gitBinary ?? "git";
  }

  private readonly binary: string;
  /** With a work tree (local-path mode), git runs from its top: run from inside the git dir, which
   * then lies *in* the work tree, git would read every path as relative to `.git/`. */
  private readonly workTree: string | undefined;
  private readonly onRun: ((cmd: string, ms: number, code: number) => void) | undefined;

  /** Runs `git <args>`; resolves with the exit code and output whatever the code (never throws on exit != 0). */
  run(args: readonly string[], opts: GitRunOptions = {}): Promise<GitResult> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, args as string[], {
        cwd: opts.cwd ?? this.workTree ?? this.gitDir,
        env: opts.env ? { ...this.env, ...opts.env } : this.env,
        stdio: ["pipe", "pipe", "pipe"],
      });
      const out: Buffer[] = [];
      let err = "";
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, opts.timeoutMs ?? 60_000);
      child.stdout.on("data", (d: Buffer) => out.push(d));
      child.stderr.on("data", (d: Buffer) => {
        if (err.length < 64_000) err += d.toString("utf8");
      });
      child.stdin.on("error", () => {}); // git may exit before reading stdin
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once("close", (code) => {
        clearTimeout(timer);
        // Only the subcommand name: arguments may hold paths or messages, never worth logging.
        this.onRun?.(
          args.find((a) => !a.startsWith("-") && !a.includes("=")) ?? "git",
          performance.now() - started,
          code ?? -1,
        );
        resolve({
          code: timedOut ? -1 : (code ?? -1),
          stdout: Buffer.concat(out),
          stderr: timedOut ? `${err}\ngit ${args[0]}: timed out (time limit reached)` : err,
        });
      });
      child.stdin.end(opts.input ?? "");
    });
  }

  /** Like `run`, but rejects (with `describe`'s error) unless the exit code is 0; resolves stdout as text. */
  async text(args: readonly string[], opts: GitRunOptions = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new GitCommandError(args, r);
    return r.stdout.toString("utf8");
  }

  /** Starts a long-running git process sharing this environment (for `cat-file --batch`). */
  spawnLong(args: readonly string[]): ChildProcessWithoutNullStreams {
    return spawn(this.binary, args as string[], {
      cwd: this.gitDir,
      env: this.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
  }
}

/** A git command exited non-zero. The message holds the subcommand and stderr, which callers
 * redact before it reaches a user or a log (our commands never carry credentials in arguments). */
export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly result: GitResult,
  ) {
    super(`git ${args[0] ?? ""} exited with ${result.code}: ${result.stderr.trim().slice(-2000)}`);
  }
}

/** An object read by `CatFileBatch`. */
export interface GitObject {
  oid: string;
  type: string;
  body: Buffer;
}

/**
 * A persistent `git cat-file --batch` process: reads many objects without one process each
 * (release discovery reads dozens of files per command). Requests are answered in order; if the
 * process dies, pending reads fail and the next read starts a new process.
 */
export class CatFileBatch {
  private child: ChildProcessWithoutNullStreams | undefined;
  private queue: { resolve: (o: GitObject | undefined) => void; reject: (e: Error) => void }[] = [];
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly git: GitCli) {}

  /** The object's content, or undefined when it does not exist. */
  async read(oid: string): Promise<Buffer | undefined> {
    if (!/^[0-9a-f]{40,64}$/.test(oid)) throw new Error(`not an object id: ${oid}`);
    return (await this.lookup(oid))?.body;
  }

  /** Looks up any object name git understands (an id, `refs/remotes/origin/main`, `<sha>:path`);
   * undefined when it does not resolve. Refs are re-read from disk on every lookup. */
  lookup(spec: string): Promise<GitObject | undefined> {
    if (/[\u0000-\u001f]/.test(spec) || spec === "") return Promise.reject(new Error("bad object name"));
    return new Promise((resolve, reject) => {
      const child = this.ensure();
      this.queue.push({ resolve, reject });
      if (this.queue.length === 1) this.setRef(true);
      child.stdin.write(`${spec}\n`);
    });
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    if (child) {
      child.stdin.end();
      child.kill();
    }
    this.fail(new Error("cat-file closed"));
  }

  private ensure(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = this.git.spawnLong(["cat-file", "--batch"]);
    this.child = child;
    this.buf = Buffer.alloc(0);
    child.stdout.on("data", (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.drain();
    });
    child.stdin.on("error", () => {});
    child.stderr.resume();
    const onGone = () => {
      if (this.child === child) this.child = undefined;
      this.fail(new Error("git cat-file exited"));
    };
    child.once("error", onGone);
    child.once("close", onGone);
    return child;
  }

  /** Keeps the event loop alive only while reads are pending, so an idle helper never holds the process open. */
  private setRef(on: boolean): void {
    const child = this.child;
    if (!child) return;
    const handles = [child, child.stdin, child.stdout, child.stderr] as unknown as {
      ref?: () => void;
      unref?: () => void;
    }[];
    for (const h of handles) (on ? h.ref : h.unref)?.call(h);
  }

  private drain(): void {
    for (;;) {
      const head = this.queue[0];
      if (!head) return;
      const nl = this.buf.indexOf(10);
      if (nl < 0) return;
      const header = this.buf.subarray(0, nl).toString("latin1");
      if (/ (missing|ambiguous)$/.test(header) || !/^[0-9a-f]{40,64} /.test(header)) {
        this.buf = this.buf.subarray(nl + 1);
        this.queue.shift();
        head.resolve(undefined);
        if (this.queue.length === 0) this.setRef(false);
        continue;
      }
      const [oid, type, sizeText] = header.split(" ");
      const size = Number(sizeText);
      if (!Number.isFinite(size)) {
        this.queue.shift();
        head.reject(new Error(`unexpected cat-file output: ${header.slice(0, 100)}`));
        this.close();
        return;
      }
      if (this.buf.length < nl + 1 + size + 1) return;
      const body = Buffer.from(this.buf.subarray(nl + 1, nl + 1 + size));
      this.buf = this.buf.subarray(nl + 1 + size + 1);
      this.queue.shift();
      head.resolve({ oid: oid as string, type: type as string, body });
      if (this.queue.length === 0) this.setRef(false);
    }
  }

  private fail(e: Error): void {
    const q = this.queue;
    this.queue = [];
    for (const r of q) r.reject(e);
  }
}
