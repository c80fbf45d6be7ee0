/**
 * The Helm port (DESIGN.md `HelmClient`) and its implementation over the real `helm` binary.
 *
 * Guarantees of `HelmCli`:
 * - helm runs through `execFile` with an argument array (never a shell);
 * - HELM_CACHE_HOME / HELM_CONFIG_HOME / HELM_DATA_HOME (and HOME, for the discovery cache) point
 *   into the driver's own directory, so the user's helm setup is never read or written;
 * - values go to helm on stdin (`-f -`): never to a file, never into argv;
 * - `-o json` is used wherever helm offers it, and parsed;
 * - helm exits 1 for every error, so failures are classified from stderr into a `HelmError` with
 *   a `kind`; the message and stderr are redacted (known secrets, values from Secrets, credentials
 *   in URLs) before they leave the driver.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { Redactor } from "../core/redact.js";
import type { Values } from "./values.js";

/** `helm history -o json` entry. */
export interface HelmRevision {
  revision: number;
  updated: string;
  status: HelmStatusName;
  chart: string;
  app_version: string;
  description: string;
}

export type HelmStatusName =
  | "unknown"
  | "deployed"
  | "uninstalled"
  | "superseded"
  | "failed"
  | "uninstalling"
  | "pending-install"
  | "pending-upgrade"
  | "pending-rollback";

/** The parts of `helm status -o json` (and install/upgrade `-o json`) the bot reads. */
export interface HelmRelease {
  name: string;
  namespace: string;
  version: number;
  info: { status: HelmStatusName; description: string; first_deployed?: string; last_deployed?: string };
  chart?: { metadata: { name: string; version: string; appVersion?: string } };
  config?: Values | null;
}

export interface ReleaseTarget {
  release: string;
  namespace: string;
}

export interface InstallOptions extends ReleaseTarget {
  /** A chart directory, a packaged .tgz, or `oci://…` (then `version`). */
  chart: string;
  version?: string;
  values: Values;
  /** Seconds. */
  timeout: number;
  wait: boolean;
  skipCRDs?: boolean;
  disableOpenAPIValidation?: boolean;
  /** Storage labels (ADR 0009: ownership marker and change-detection digests). */
  labels: Record<string, string>;
  description?: string;
  /** Install over an uninstalled release whose history was kept. */
  replace?: boolean;
  plainHttp?: boolean;
}

export interface UpgradeOptions extends InstallOptions {
  maxHistory: number;
  /** true: `--reset-values`; false: `--reuse-values` (v1 `resetValues: false`). */
  resetValues: boolean;
  force?: boolean;
}

export interface RollbackOptions extends ReleaseTarget {
  /** Revision to roll back to (0 or absent: the previous one). */
  revision?: number;
  timeout: number;
  wait: boolean;
  force?: boolean;
  disableHooks?: boolean;
  maxHistory?: number;
}

export interface UninstallOptions extends ReleaseTarget {
  timeout: number;
  keepHistory?: boolean;
  disableHooks?: boolean;
}

/** Narrow on purpose (DESIGN.md): JSON in and out, values on stdin. */
export interface HelmClient {
  /** The release's current state, or undefined when it does not exist. */
  status(t: ReleaseTarget): Promise<HelmRelease | undefined>;
  /** Revisions, oldest first; [] when the release does not exist. */
  history(t: ReleaseTarget, max?: number): Promise<HelmRevision[]>;
  install(o: InstallOptions): Promise<HelmRelease>;
  upgrade(o: UpgradeOptions): Promise<HelmRelease>;
  rollback(o: RollbackOptions): Promise<void>;
  /** Runs the release's test hooks; throws a `HelmError` (kind `test-failed`) when one fails. */
  test(t: ReleaseTarget & { timeout: number }): Promise<void>;
  /** Uninstalls; a release that does not exist is not an error. */
  uninstall(o: UninstallOptions): Promise<void>;
  /** Downloads a chart (`oci://…` or a chart URL) into `dest`; returns the file and OCI digest. */
  pull(o: {
    chart: string;
    version?: string;
    dest: string;
    plainHttp?: boolean;
  }): Promise<{ file: string; digest?: string }>;
}

/** What went wrong, from helm's stderr (helm exits 1 for everything). */
export type HelmErrorKind =
  /** "another operation (install/upgrade/rollback) is in progress": a pending-* release. */
  | "locked"
  /** "has no deployed releases": upgrade of a release that never deployed. */
  | "no-deployed-release"
  /** "release: not found". */
  | "not-found"
  /** "cannot reuse a name that is still in use" / "release: already exists" (a concurrent writer). */
  | "exists"
  /** A wait ran out: "… not ready …" / "context deadline exceeded" / "timed out waiting". */
  | "timeout"
  /** The chart does not render or does not load (template, YAML, schema, Chart.yaml). */
  | "render"
  /** The API server refused it: unknown kind/version ("no matches for kind", "resource mapping not
   * found"), invalid object, forbidden, conflict, ownership of an existing object. */
  | "rejected"
  /** A test hook failed. */
  | "test-failed"
  /** The cluster, a chart repository or a registry could not be reached. */
  | "unreachable"
  /** The chart or the version does not exist in the repository. */
  | "chart-not-found"
  | "unknown";

/** A failed helm command. `message` and `stderr` are already redacted. */
export class HelmError extends Error {
  override readonly name = "HelmError";
  constructor(
    message: string,
    readonly kind: HelmErrorKind,
    readonly stderr: string,
    readonly command: string,
  ) {
    super(message);
  }
  /** True for failures that may go away on their own (retry with backoff). */
  get transient(): boolean {
    return this.kind === "unreachable" || this.kind === "exists";
  }
}

const RULES: [RegExp, HelmErrorKind][] = [
  [/another operation \(install\/upgrade\/rollback\) is in progress/i, "locked"],
  [/has no deployed releases/i, "no-deployed-release"],
  [/^Error: release: not found/im, "not-found"],
  [/cannot reuse a name that is still in use|release: already exists/i, "exists"],
  [
    /kubernetes cluster unreachable|connection refused|no such host|i\/o timeout|TLS handshake timeout|server is currently unable/i,
    "unreachable",
  ],
  [
    /looks like ".*" is not a valid chart repository|failed to fetch .*index\.yaml|failed to do request|dial tcp/i,
    "unreachable",
  ],
  [/no matches for kind|resource mapping not found|ensure CRDs are installed first/i, "rejected"],
  [/not ready|context deadline exceeded|timed out waiting|timeout waiting/i, "timeout"],
  [
    /parse error|template: |error converting YAML|YAML parse error|execution error at|values don't meet the specifications of the schema|Chart\.yaml file is missing|unable to load chart|chart metadata .* is required|validation: chart\./i,
    "render",
  ],
  [
    /path ".*" not found|chart ".*" (version ".*" )?not found|no chart version found|no chart name found|not found: .*manifest unknown|: not found$/im,
    "chart-not-found",
  ],
  [
    /is invalid:|admission webhook|forbidden|the server could not find the requested resource|invalid ownership metadata|exists and cannot be imported|conflict/i,
    "rejected",
  ],
];

/** Classifies helm's stderr (exported for tests and for callers holding only a message). */
export function classifyHelmError(stderr: string): HelmErrorKind {
  // Test failures are reported by `helm test` as "pod/… failed" or "… test failed": checked by the
  // caller, which knows the command; here only the generic rules.
  for (const [re, kind] of RULES) if (re.test(stderr)) return kind;
  return "unknown";
}

/** The last `Error:` line of helm's stderr (the rest is warnings and debug), trimmed. */
export function helmMessage(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.trim());
  const err = lines.filter((l) => l.startsWith("Error:")).pop();
  return (err ?? lines.pop() ?? "helm failed").replace(/^Error:\s*/, "").slice(0, 2000);
}

/** Runs a process: stdout, stderr and the exit code (the seam `HelmCli` takes for tests). */
export type Runner = (
  file: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; stdin?: string; signal?: AbortSignal; timeoutMs?: number },
) => Promise<{ stdout: string; stderr: string; code: number }>;

/** `execFile` with stdin, never a shell, never throwing for a non-zero exit. */
export const execRunner: Runner = (file, args, opts) =>
  new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: opts.env,
        maxBuffer: 64 * 1024 * 1024,
        signal: opts.signal,
        timeout: opts.timeoutMs ?? 0,
        killSignal: "SIGTERM",
        shell: false,
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== "number") {
          // Spawn failure (ENOENT), abort or timeout kill: no exit code.
          if ((err as NodeJS.ErrnoException).code === "ENOENT")
            reject(new Error(`helm binary not found: ${file}`));
          else
            resolve({ stdout: String(stdout), stderr: `${String(stderr)}\nError: ${err.message}`, code: -1 });
          return;
        }
        resolve({
          stdout: String(stdout),
          stderr: String(stderr),
          code: err ? ((err as { code: number }).code ?? 1) : 0,
        });
      },
    );
    child.stdin?.on("error", () => {}); // helm may exit before reading stdin (e.g. a bad flag)
    child.stdin?.end(opts.stdin ?? "");
  });

export interface HelmCliOptions {
  /** The helm binary (config `helm.binary`, default `helm` on PATH). */
  binary?: string;
  /** The driver's own directory: cache, config and data homes live under it. */
  home: string;
  kubeconfig?: string;
  kubeContext?: string;
  /** Redacts known secrets; values from Secrets are added per call. */
  redactor?: Redactor;
  runner?: Runner;
  /** Extra environment (e.g. HELM_DRIVER); PATH is inherited so helm finds credential helpers. */
  env?: Record<string, string>;
}

/** Seconds as a Go duration for `--timeout`. */
function dur(seconds: number): string {
  return `${Math.max(1, Math.round(seconds))}s`;
}

/** `k=v,k=v` for `--labels`: keys and values are label-safe by construction (ADR 0009). */
function labelArg(labels: Record<string, string>): string {
  for (const [k, v] of Object.entries(labels)) {
    if (/[,=]/.test(k) || /[,=]/.test(v)) throw new Error(`label ${k}=${v} cannot be passed to helm`);
  }
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** JSON has no comments or anchors: YAML-compatible, and helm reads it with `-f -`. */
function valuesText(values: Values): string {
  return JSON.stringify(values);
}

/** Every string leaf of a values tree (the redactor hides them in helm's error output). */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === "object") for (const x of Object.values(v)) strings(x, out);
  return out;
}

export class HelmCli implements HelmClient {
  private readonly binary: string;
  private readonly runner: Runner;
  private readonly redactor: Redactor;
  private readonly env: NodeJS.ProcessEnv;
  private readonly global: string[];

  constructor(opts: HelmCliOptions) {
    this.binary = opts.binary ?? "helm";
    this.runner = opts.runner ?? execRunner;
    this.redactor = opts.redactor ?? new Redactor();
    this.env = {
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: opts.home,
      HELM_CACHE_HOME: join(opts.home, "cache"),
      HELM_CONFIG_HOME: join(opts.home, "config"),
      HELM_DATA_HOME: join(opts.home, "data"),
      // Never prompt, never colour.
      NO_COLOR: "1",
      ...opts.env,
    };
    this.global = [
      ...(opts.kubeconfig ? ["--kubeconfig", opts.kubeconfig] : []),
      ...(opts.kubeContext ? ["--kube-context", opts.kubeContext] : []),
    ];
  }

  /**
   * Runs helm; returns stdout or throws a redacted, classified `HelmError`. `secretValues`: strings
   * to redact from the output of this call (its values).
   */
  private async run(
    args: string[],
    o: { stdin?: string; secretValues?: string[]; signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<string> {
    const argv = [...args, ...this.global];
    const res = await this.runner(this.binary, argv, {
      env: this.env,
      ...(o.stdin !== undefined ? { stdin: o.stdin } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
    });
    if (res.code === 0) return res.stdout;
    const red = this.redactor.with(o.secretValues ?? []);
    const stderr = red.text(res.stderr);
    const kind = classifyHelmError(stderr);
    throw new HelmError(red.text(helmMessage(res.stderr)), kind, stderr, `helm ${args[0] ?? ""}`);
  }

  async status(t: ReleaseTarget): Promise<HelmRelease | undefined> {
    try {
      return JSON.parse(
        await this.run(["status", t.release, "-n", t.namespace, "-o", "json"]),
      ) as HelmRelease;
    } catch (err) {
      if (err instanceof HelmError && err.kind === "not-found") return undefined;
      throw err;
    }
  }

  async history(t: ReleaseTarget, max?: number): Promise<HelmRevision[]> {
    try {
      const out = await this.run([
        "history",
        t.release,
        "-n",
        t.namespace,
        "-o",
        "json",
        ...(max ? ["--max", String(max)] : []),
      ]);
      return JSON.parse(out) as HelmRevision[];
    } catch (err) {
      if (err instanceof HelmError && err.kind === "not-found") return [];
      throw err;
    }
  }

  private common(o: InstallOptions): string[] {
    return [
      "-n",
      o.namespace,
      "-f",
      "-",
      "--timeout",
      dur(o.timeout),
      ...(o.wait ? ["--wait=watcher"] : []),
      ...(o.version ? ["--version", o.version] : []),
      ...(o.skipCRDs ? ["--skip-crds"] : []),
      ...(o.disableOpenAPIValidation ? ["--disable-openapi-validation"] : []),
      ...(Object.keys(o.labels).length > 0 ? ["--labels", labelArg(o.labels)] : []),
      ...(o.description ? ["--description", o.description] : []),
      ...(o.plainHttp ? ["--plain-http"] : []),
      "-o",
      "json",
    ];
  }

  private secretsOf(values: Values): string[] {
    return strings(values).filter((s) => s.length >= 6);
  }

  async install(o: InstallOptions): Promise<HelmRelease> {
    const args = ["install", o.release, o.chart, ...this.common(o), ...(o.replace ? ["--replace"] : [])];
    const out = await this.run(args, { stdin: valuesText(o.values), secretValues: this.secretsOf(o.values) });
    return JSON.parse(out) as HelmRelease;
  }

  async upgrade(o: UpgradeOptions): Promise<HelmRelease> {
    const args = [
      "upgrade",
      o.release,
      o.chart,
      ...this.common(o),
      "--history-max",
      String(o.maxHistory),
      o.resetValues ? "--reset-values" : "--reuse-values",
      ...(o.force ? ["--force-replace"] : []),
    ];
    const out = await this.run(args, { stdin: valuesText(o.values), secretValues: this.secretsOf(o.values) });
    return JSON.parse(out) as HelmRelease;
  }

  async rollback(o: RollbackOptions): Promise<void> {
    await this.run([
      "rollback",
      o.release,
      ...(o.revision ? [String(o.revision)] : []),
      "-n",
      o.namespace,
      "--timeout",
      dur(o.timeout),
      ...(o.wait ? ["--wait=watcher"] : []),
      ...(o.force ? ["--force-replace"] : []),
      ...(o.disableHooks ? ["--no-hooks"] : []),
      ...(o.maxHistory !== undefined ? ["--history-max", String(o.maxHistory)] : []),
    ]);
  }

  async test(t: ReleaseTarget & { timeout: number }): Promise<void> {
    try {
      await this.run(["test", t.release, "-n", t.namespace, "--timeout", dur(t.timeout)]);
    } catch (err) {
      if (
        err instanceof HelmError &&
        err.kind !== "unreachable" &&
        err.kind !== "not-found" &&
        err.kind !== "locked"
      ) {
        throw new HelmError(err.message, "test-failed", err.stderr, err.command);
      }
      throw err;
    }
  }

  async uninstall(o: UninstallOptions): Promise<void> {
    // `--ignore-not-found` prints "uninstalled" for a missing release too: nothing to learn from stdout.
    await this.run([
      "uninstall",
      o.release,
      "-n",
      o.namespace,
      "--timeout",
      dur(o.timeout),
      "--ignore-not-found",
      ...(o.keepHistory ? ["--keep-history"] : []),
      ...(o.disableHooks ? ["--no-hooks"] : []),
    ]);
  }

  async pull(o: { chart: string; version?: string; dest: string; plainHttp?: boolean }): Promise<{
    file: string;
    digest?: string;
  }> {
    const out = await this.run([
      "pull",
      o.chart,
      ...(o.version ? ["--version", o.version] : []),
      "-d",
      o.dest,
      ...(o.plainHttp ? ["--plain-http"] : []),
    ]);
    // helm prints "Pulled: host/path/name:1.0.0" and "Digest: sha256:…" for OCI (on stdout or stderr).
    const digest = /Digest:\s*(sha256:[0-9a-f]{64})/.exec(out)?.[1];
    const name = o.chart.split("/").pop() as string;
    return { file: join(o.dest, `${name}-${o.version ?? ""}.tgz`), ...(digest ? { digest } : {}) };
  }
}
