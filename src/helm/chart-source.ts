/**
 * Chart sources: turn a HelmRelease's chart reference into something `helm` can install (a local
 * directory or .tgz) plus a digest for change detection (ADR 0009).
 *
 * - git: the chart directory read from a git tree at one revision. The digest covers every file
 *   under the chart path (names and contents), so a template edit without a `version:` bump is a
 *   change and a commit elsewhere in the repo is not. When `chart.git` names the config repo
 *   (`sameGitRepo` with `repo.url` or one of `repo.aliases`) the tree is our own clone at the synced
 *   revision: no second clone, no extra credentials.
 * - Helm repository: `index.yaml` fetched (basic auth optional) and cached per URL for `indexTtlMs`,
 *   the chart archive downloaded once per digest. Change = another version (or archive digest).
 * - OCI: `helm pull oci://…` by version through the driver. Change = another version or digest.
 *
 * Files are materialised under `cacheDir`, keyed by digest, so repeated reconciles of an unchanged
 * chart write nothing.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import semver from "semver";
import { parse as parseYaml } from "yaml";
import { StalledError, TransientError } from "../core/errors.js";
import type { HelmClient } from "./cli.js";
import { labelDigest } from "./digest.js";
import type { ChartSourceSpec } from "./spec.js";

/** A chart ready for helm. */
export interface ResolvedChart {
  /** Path helm is given (a directory or a .tgz). */
  path: string;
  name: string;
  version: string;
  /** Label-safe digest (40 hex) of what identifies this chart's content. */
  digest: string;
  /** For events: `git charts/podinfo@1a2b3c4 (0.4.0)`, `repo podinfo 6.1.0`, `oci …`. */
  description: string;
}

/** Read access to one git revision (a structural subset of `ConfigRepo`). */
export interface GitTree {
  list(dir: string, at?: string): Promise<string[]>;
  read(path: string, at?: string): Promise<string | undefined>;
}

/** A chart that cannot be fetched or does not exist as referenced. */
export class ChartSourceError extends StalledError {}

// ---------------------------------------------------------------------------------------------
// Git URL equivalence

/**
 * A git remote reduced to `host/path` (lower-case, no scheme, user, port, `.git` or trailing
 * slash), so `https://github.com/org/repo`, `git@github.com:org/repo.git`,
 * `ssh://git@github.com/org/repo` and `ssh://git@github.com:22/org/repo.git` compare equal. Local
 * paths are returned normalised as they are.
 */
export function normaliseGitUrl(url: string): string {
  let u = url.trim();
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/)(.+)$/.exec(u);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) {
    u = `${scp[1]}/${scp[2]}`;
  } else {
    const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^/:]+)(?::\d+)?(\/.*)?$/i.exec(u);
    if (m) u = `${m[1]}${m[2] ?? ""}`;
  }
  return u
    .replace(/\/+$/, "")
    .replace(/\.git$/i, "")
    .replace(/\/+/g, "/")
    .toLowerCase();
}

/** True when both URLs name the same repository (see `normaliseGitUrl`). */
export function sameGitRepo(a: string, b: string): boolean {
  return normaliseGitUrl(a) === normaliseGitUrl(b);
}

/** True when `chartGit` names the config repo: `repo.url` or one of `repo.aliases`. */
export function isConfigRepo(chartGit: string, repo: { url: string; aliases?: readonly string[] }): boolean {
  return [repo.url, ...(repo.aliases ?? [])].some((u) => sameGitRepo(chartGit, u));
}

// ---------------------------------------------------------------------------------------------
// Git chart directories

/**
 * Content digest of a chart directory: SHA-256 over the sorted relative paths and their contents.
 * Pure, exported for tests.
 */
export function directoryDigest(files: ReadonlyMap<string, string>): string {
  const h = createHash("sha256");
  for (const p of [...files.keys()].sort()) {
    const content = files.get(p) as string;
    h.update(`${p}\0${Buffer.byteLength(content)}\0`);
    h.update(content);
  }
  return h.digest("hex").slice(0, 40);
}

async function writeAtomically(dir: string, files: ReadonlyMap<string, string>): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  for (const [p, content] of files) {
    const target = join(tmp, ...p.split("/"));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
  await mkdir(dirname(dir), { recursive: true });
  try {
    await rename(tmp, dir);
  } catch (err) {
    // Another reconcile materialised the same digest first: same content, keep theirs.
    await rm(tmp, { recursive: true, force: true });
    if (
      (err as NodeJS.ErrnoException).code !== "ENOTEMPTY" &&
      (err as NodeJS.ErrnoException).code !== "EEXIST"
    )
      throw err;
  }
}

async function exists(dir: string): Promise<boolean> {
  try {
    await readdir(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads the chart at `chartPath` from `tree` at `revision`, writes it to
 * `<cacheDir>/git/<digest>` (once) and returns it. `file` names the HelmRelease for messages.
 */
export async function gitChart(
  tree: GitTree,
  revision: string,
  chartPath: string,
  cacheDir: string,
  file: string,
): Promise<ResolvedChart> {
  const root = chartPath === "." ? "" : chartPath;
  const paths = await tree.list(root, revision);
  const files = new Map<string, string>();
  for (const p of paths) {
    const rel = root ? posix.relative(root, p) : p;
    if (rel.startsWith("..")) continue;
    const content = await tree.read(p, revision);
    if (content !== undefined) files.set(rel, content);
  }
  const chartYaml = files.get("Chart.yaml");
  if (chartYaml === undefined) {
    throw new ChartSourceError(
      files.size === 0
        ? `${file}: spec.chart.path: ${chartPath} does not exist at ${revision.slice(0, 7)}`
        : `${file}: spec.chart.path: ${chartPath} has no Chart.yaml at ${revision.slice(0, 7)}`,
    );
  }
  let meta: { name?: unknown; version?: unknown };
  try {
    meta = (parseYaml(chartYaml) ?? {}) as typeof meta;
  } catch {
    throw new ChartSourceError(`${file}: ${chartPath}/Chart.yaml is not valid YAML`);
  }
  const digest = directoryDigest(files);
  const dir = join(cacheDir, "git", digest);
  if (!(await exists(dir))) await writeAtomically(dir, files);
  const name = String(meta.name ?? posix.basename(chartPath));
  const version = String(meta.version ?? "0.0.0");
  return {
    path: dir,
    name,
    version,
    digest,
    description: `git ${chartPath}@${revision.slice(0, 7)} (${name} ${version}, ${digest.slice(0, 12)})`,
  };
}

// ---------------------------------------------------------------------------------------------
// Helm repositories

interface IndexEntry {
  name?: string;
  version?: string;
  urls?: string[];
  digest?: string;
}

export interface HelmRepositoryOptions {
  cacheDir: string;
  /** Injected for tests (default: global fetch). */
  fetch?: typeof fetch;
  /** How long an index.yaml is reused (default 5 min). */
  indexTtlMs?: number;
  now?: () => number;
  /** Basic auth per repository URL (normalised: no trailing slash). */
  credentials?: (url: string) => { username: string; password: string } | undefined;
}

/** Classic Helm repositories: index cache, version pick, archive download by digest. */
export class HelmRepositoryClient {
  private readonly index = new Map<string, { at: number; entries: Record<string, IndexEntry[]> }>();
  private readonly fetch: typeof fetch;
  constructor(private readonly o: HelmRepositoryOptions) {
    this.fetch = o.fetch ?? fetch;
  }

  private headers(url: string): Record<string, string> {
    const c = this.o.credentials?.(url.replace(/\/+$/, ""));
    return c
      ? { authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}` }
      : {};
  }

  private async get(url: string, auth: string): Promise<Response> {
    const safe = url.replace(/\/\/[^/@]*@/, "//***@");
    let res: Response;
    try {
      res = await this.fetch(url, { headers: this.headers(auth), redirect: "follow" });
    } catch (err) {
      throw new TransientError(`chart repository unreachable: ${safe}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (res.status >= 500 || res.status === 429)
      throw new TransientError(`chart repository ${safe}: HTTP ${res.status}`);
    if (!res.ok) throw new ChartSourceError(`chart repository ${safe}: HTTP ${res.status}`);
    return res;
  }

  private async entries(repoUrl: string): Promise<Record<string, IndexEntry[]>> {
    const key = repoUrl.replace(/\/+$/, "");
    const now = (this.o.now ?? Date.now)();
    const hit = this.index.get(key);
    if (hit && now - hit.at < (this.o.indexTtlMs ?? 300_000)) return hit.entries;
    const res = await this.get(`${key}/index.yaml`, key);
    let doc: { entries?: Record<string, IndexEntry[]> };
    try {
      doc = parseYaml(await res.text()) as typeof doc;
    } catch {
      throw new ChartSourceError(`chart repository ${key}: index.yaml is not valid YAML`);
    }
    const entries = doc?.entries ?? {};
    this.index.set(key, { at: now, entries });
    return entries;
  }

  /**
   * The archive of `name` at `version` (an exact version, or a semver range: the highest match),
   * downloaded into the cache once. Throws `ChartSourceError` for a missing chart or version and
   * `TransientError` when the repository cannot be reached.
   */
  async chart(repoUrl: string, name: string, version: string): Promise<ResolvedChart> {
    const key = repoUrl.replace(/\/+$/, "");
    const list = (await this.entries(key))[name];
    if (!list || list.length === 0) throw new ChartSourceError(`chart ${name} not found in ${key}`);
    const exact = list.find((e) => e.version === version);
    const pick =
      exact ??
      list
        .filter((e) => e.version && semver.valid(e.version) && semver.satisfies(e.version, version || "*"))
        .sort((a, b) => semver.rcompare(a.version as string, b.version as string))[0];
    if (!pick?.version || !pick.urls?.[0])
      throw new ChartSourceError(`chart ${name} version ${version} not found in ${key}`);
    const url = new URL(pick.urls[0], `${key}/`).toString();
    const id = pick.digest ?? labelDigest({ url, version: pick.version });
    const file = join(this.o.cacheDir, "repo", `${labelDigest(id)}.tgz`);
    if (!(await fileExists(file))) {
      const res = await this.get(url, key);
      const body = Buffer.from(await res.arrayBuffer());
      const actual = createHash("sha256").update(body).digest("hex");
      if (pick.digest && pick.digest !== actual)
        throw new ChartSourceError(`chart ${name} ${pick.version} from ${key}: digest mismatch`);
      await mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.tmp-${process.pid}`;
      await writeFile(tmp, body);
      await rename(tmp, file);
    }
    return {
      path: file,
      name,
      version: pick.version,
      digest: labelDigest({
        repo: normaliseRepo(key),
        name,
        version: pick.version,
        digest: pick.digest ?? null,
      }),
      description: `repo ${name} ${pick.version}`,
    };
  }
}

async function fileExists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

function normaliseRepo(url: string): string {
  return url.replace(/\/\/[^/@]*@/, "//").toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// OCI

/** `helm pull oci://<url>/<name> --version <version>` into the cache (once per digest). */
export async function ociChart(
  helm: HelmClient,
  source: { url: string; name: string; version: string },
  cacheDir: string,
  opts: { plainHttp?: boolean } = {},
): Promise<ResolvedChart> {
  const ref = `${source.url.replace(/\/+$/, "")}/${source.name}`;
  const dest = join(cacheDir, "oci", labelDigest({ ref, version: source.version }));
  await mkdir(dest, { recursive: true });
  const pulled = await helm.pull({ chart: ref, version: source.version, dest, ...opts });
  return {
    path: pulled.file,
    name: source.name,
    version: source.version,
    digest: labelDigest({ ref: ref.toLowerCase(), version: source.version, digest: pulled.digest ?? null }),
    description: `oci ${ref} ${source.version}${pulled.digest ? ` (${pulled.digest.slice(0, 19)})` : ""}`,
  };
}

// ---------------------------------------------------------------------------------------------
// One entry point

export interface ChartSourceDeps {
  /** The config repo as configured, its tree and the revision being reconciled. */
  configRepo: { url: string; aliases?: readonly string[]; tree: GitTree; revision: string };
  /** Another git repository at `ref` (cloned by the caller); absent: only the config repo works. */
  otherGit?: (
    url: string,
    ref: string | undefined,
    file: string,
  ) => Promise<{ tree: GitTree; revision: string }>;
  repositories: HelmRepositoryClient;
  helm: HelmClient;
  cacheDir: string;
  plainHttpOci?: boolean;
}

/** Resolves a normalised chart source (v1 form; v2 `sourceRef`s are resolved by the caller first). */
export async function resolveChart(
  source: ChartSourceSpec,
  file: string,
  deps: ChartSourceDeps,
): Promise<ResolvedChart> {
  switch (source.type) {
    case "git": {
      if (isConfigRepo(source.url, deps.configRepo)) {
        return gitChart(deps.configRepo.tree, deps.configRepo.revision, source.path, deps.cacheDir, file);
      }
      if (!deps.otherGit) {
        throw new ChartSourceError(
          `${file}: spec.chart.git: ${source.url} is not the config repo (repo.url or repo.aliases) and other git repositories are not configured`,
        );
      }
      const other = await deps.otherGit(source.url, source.ref, file);
      try {
        return await gitChart(other.tree, other.revision, source.path, deps.cacheDir, file);
      } catch (err) {
        // The other repo may be fixed without a change here: failed (retried), not stalled.
        if (!(err instanceof ChartSourceError)) throw err;
        throw new TransientError(`${err.message} in ${source.url.replace(/\/\/[^/@]*@/, "//")}`);
      }
    }
    case "repo":
      return deps.repositories.chart(source.url, source.name, source.version);
    case "oci":
      return ociChart(deps.helm, source, deps.cacheDir, deps.plainHttpOci ? { plainHttp: true } : {});
  }
}
