/**
 * Release discovery (issue #2): builds the `ReleaseModel` (envs, apps, and per app and env the
 * workload, images with their YAML paths, chart and policies) from the config repo at a revision,
 * or from any `RepoReader` (e.g. a directory on disk, for tests and the demo).
 *
 * A malformed file yields a `DiscoveryProblem` for that file only; every other app is still
 * discovered. Repo paths never leave the repo root.
 */
import { lstat, readdir, readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { isMap, parseAllDocuments } from "yaml";
import { UserError } from "../core/errors.js";
import { printable } from "../core/names.js";
import type { AppInstance, DiscoveryProblem, ReleaseModel, Workload, WorkloadKind } from "../core/release.js";
import type { ConfigRepo } from "./config-repo.js";
import { FREEZES_FILE, type Freezes, isBotPath, parseFreezes } from "./freezes.js";
import { normalizeRepoPath } from "./git/paths.js";
import { isObj, readWorkload } from "./workload-reader.js";

/** The read side of a repo at one revision. `list` returns repo-relative file paths under `dir`
 * (recursive); `read` returns undefined for a missing file. `FileAccess` satisfies it. */
export interface RepoReader {
  read(path: string): Promise<string | undefined>;
  list(dir: string): Promise<string[]>;
}

export interface DiscoveryOptions {
  /** Folder whose sub-folders are the environments (default `releases`). */
  releasesPath?: string;
  /** `folders` (default): env = first folder under `releasesPath`; `namespaces`: env = the
   * workload's namespace, for every YAML file under `releasesPath`. */
  envsFrom?: "folders" | "namespaces";
}

/** What one file holds: its app instances and its problems. */
export interface FileDiscovery {
  instances: AppInstance[];
  problems: DiscoveryProblem[];
}

const WORKLOAD_KINDS = new Set<WorkloadKind>([
  "HelmRelease",
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "CronJob",
]);
const YAML_FILE = /\.ya?ml$/i;

/** Normalises a repo-relative path (`./releases//dev/` is `releases/dev`, `.` is the root) and refuses
 * one that leaves the repo root (`..`, absolute, `\`, NUL). Throws a `UserError` (code `bad-path`).
 * The rules are `normalizeRepoPath`'s (`tidy`); this only words the error for configuration. */
export function safeRepoPath(p: string): string {
  try {
    return normalizeRepoPath(p, { tidy: true });
  } catch (e) {
    throw new UserError(`path "${printable(p)}" is outside the config repo`, { code: "bad-path", cause: e });
  }
}

/** Known env names in their usual order; others sort alphabetically after them. */
const ENV_ORDER = [
  "local",
  "dev",
  "development",
  "test",
  "qa",
  "int",
  "stg",
  "stage",
  "staging",
  "uat",
  "preprod",
  "prod",
  "production",
];

/** Sorts envs in promotion order where the names are conventional (dev, stg, prod), else alphabetically. */
export function sortEnvs(envs: Iterable<string>): string[] {
  const rank = (e: string) => {
    const i = ENV_ORDER.indexOf(e);
    return i < 0 ? ENV_ORDER.length : i;
  };
  return [...new Set(envs)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Builds the release model from `reader`. Never throws for a broken file: see `problems`. */
export async function discover(
  reader: RepoReader,
  revision: string,
  opts: DiscoveryOptions = {},
): Promise<ReleaseModel> {
  const problems: DiscoveryProblem[] = [];
  let files: string[] = [];
  let root = "";
  try {
    root = safeRepoPath(opts.releasesPath ?? "releases");
    files = (await reader.list(root))
      .map((f) => joinUnder(root, f))
      .filter((f): f is string => f !== undefined);
  } catch (e) {
    problems.push({
      file: opts.releasesPath ?? "releases",
      message: `cannot list the releases: ${(e as Error).message}`,
    });
  }
  // The bot's own records (`.gitops-bot/`) are never workloads, even with `releasesPath: .`.
  files = files.filter((f) => YAML_FILE.test(f) && !isBotPath(f)).sort();
  const instances: AppInstance[] = [];
  const envs = new Set<string>();
  const wanted = files.filter(
    (f) => opts.envsFrom === "namespaces" || envFromPath(f, root, opts) !== undefined,
  );
  // Read ahead with bounded concurrency (each read may be a git object lookup), parse in order.
  const texts = await mapLimit(wanted, 8, async (file) => {
    try {
      return { file, text: await reader.read(file) };
    } catch (e) {
      return { file, error: (e as Error).message };
    }
  });
  for (const r of texts) {
    const env = envFromPath(r.file, root, opts);
    if (env !== undefined) envs.add(env);
    if ("error" in r) {
      problems.push({ file: r.file, message: `cannot read: ${r.error}`, ...(env ? { env } : {}) });
      continue;
    }
    if (r.text === undefined) continue;
    const found = discoverFile(r.file, r.text, opts);
    problems.push(...found.problems);
    instances.push(...found.instances);
  }
  const freezes = await readFreezesFrom(reader);
  const unique = dedupe(preferFileNames(renameChartCollisions(instances)), problems);
  for (const i of unique) envs.add(i.env);
  const envOrder = sortEnvs(envs);
  const rank = (e: string) => envOrder.indexOf(e);
  return {
    revision,
    envs: envOrder,
    apps: [...new Set(unique.map((i) => i.app))].sort(),
    instances: unique.sort((a, b) => a.app.localeCompare(b.app) || rank(a.env) - rank(b.env)),
    problems,
    freezes: freezes.freezes,
    freezeProblems: freezes.problems,
  };
}

/** The freezes file of the same revision; a read failure is a problem, never a throw. */
async function readFreezesFrom(reader: RepoReader): Promise<Freezes> {
  try {
    return parseFreezes(await reader.read(FREEZES_FILE));
  } catch (e) {
    const message = `cannot read: ${(e as Error).message}`;
    return { freezes: [], problems: [{ file: FREEZES_FILE, message, hint: "Check the config repo." }] };
  }
}

/** Maps `items` through `fn` with at most `limit` calls in flight; results keep the input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Builds the model from a `ConfigRepo` at `at` (default: its head as last synced). */
export async function discoverFromRepo(
  repo: ConfigRepo,
  opts: DiscoveryOptions & { at?: string } = {},
): Promise<ReleaseModel> {
  const rev = opts.at ?? (await repo.head());
  return discover({ read: (p) => repo.read(p, rev), list: (d) => repo.list(d, rev) }, rev, opts);
}

/** A `RepoReader` over a directory on disk (tests, the demo). Symlinks are skipped, paths confined. */
export function dirReader(rootDir: string): RepoReader {
  return {
    async read(path) {
      const rel = safeRepoPath(path);
      try {
        const st = await lstat(join(rootDir, rel));
        if (!st.isFile()) return undefined;
        return await readFile(join(rootDir, rel), "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
      }
    },
    async list(dir) {
      const base = safeRepoPath(dir);
      const out: string[] = [];
      const walk = async (rel: string) => {
        let entries: import("node:fs").Dirent[];
        try {
          entries = await readdir(join(rootDir, rel), { withFileTypes: true });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
          throw e;
        }
        for (const ent of entries) {
          const p = rel ? `${rel}/${ent.name}` : ent.name;
          if (ent.isDirectory()) {
            if (ent.name !== ".git") await walk(p);
          } else if (ent.isFile()) out.push(p);
        }
      };
      await walk(base);
      return out.sort();
    },
  };
}

/** Accepts list entries given relative to the repo root or to `root`; drops unsafe ones. */
function joinUnder(root: string, f: string): string | undefined {
  try {
    const p = safeRepoPath(f);
    if (root === "" || p.startsWith(`${root}/`)) return p;
    return safeRepoPath(`${root}/${p}`);
  } catch {
    return undefined;
  }
}

function envFromPath(file: string, root: string, opts: DiscoveryOptions): string | undefined {
  if (opts.envsFrom === "namespaces") return undefined;
  const rel = root === "" ? file : file.slice(root.length + 1);
  const parts = rel.split("/");
  return parts.length >= 2 ? parts[0] : undefined;
}

/** The env a file belongs to in folder mode (undefined in namespace mode or outside an env folder). */
export function envOfFile(file: string, opts: DiscoveryOptions = {}): string | undefined {
  return envFromPath(file, safeRepoPath(opts.releasesPath ?? "releases"), opts);
}

/** Several HelmReleases of one shared chart in one env would all be "the chart's app": name those
 * after their files instead (`api.yaml`, `worker.yaml` using a generic `microservice` chart). */
function renameChartCollisions(instances: AppInstance[]): AppInstance[] {
  const count = new Map<string, number>();
  for (const i of instances) count.set(`${i.env}\0${i.app}`, (count.get(`${i.env}\0${i.app}`) ?? 0) + 1);
  return instances.map((i) => {
    const fromChart = i.workload.kind === "HelmRelease" && i.workload.chart?.name === i.app;
    if (fromChart && (count.get(`${i.env}\0${i.app}`) ?? 0) > 1)
      return { ...i, app: basenameNoExt(i.workload.file) };
    return i;
  });
}

/** An app named after its chart whose file has the same name in every env is named after that file
 * instead: users type what they see in the repo (`cache.yaml` holding the `redis` chart is `cache`).
 * The chart's name stays an alias, so both are accepted. */
function preferFileNames(instances: AppInstance[]): AppInstance[] {
  const byApp = new Map<string, AppInstance[]>();
  const perFile = new Map<string, number>();
  for (const i of instances) {
    byApp.set(i.app, [...(byApp.get(i.app) ?? []), i]);
    perFile.set(i.workload.file, (perFile.get(i.workload.file) ?? 0) + 1);
  }
  const alone = (i: AppInstance) => perFile.get(i.workload.file) === 1;
  return instances.map((i) => {
    const file = basenameNoExt(i.workload.file);
    const fromChart = i.workload.kind === "HelmRelease" && i.workload.chart?.name === i.app;
    // A name already taken by another app would merge two apps into one; so would a shared file.
    if (!fromChart || file === i.app || byApp.has(file)) return i;
    const group = byApp.get(i.app) ?? [];
    if (!group.every((g) => alone(g) && basenameNoExt(g.workload.file) === file)) return i;
    return { ...i, app: file, aliases: [i.app] };
  });
}

/** Two instances of one app in one env: the first (by path) wins, the second is a problem. */
function dedupe(instances: AppInstance[], problems: DiscoveryProblem[]): AppInstance[] {
  const seen = new Map<string, AppInstance>();
  const out: AppInstance[] = [];
  for (const i of instances) {
    const key = `${i.env}\0${i.app}`;
    const prev = seen.get(key);
    if (prev) {
      problems.push({
        file: i.workload.file,
        app: i.app,
        env: i.env,
        message: `${i.env}/${i.app} is defined twice: in ${prev.workload.file} and ${i.workload.file}`,
        hint: "Keep one workload per app and environment; this one is ignored.",
      });
      continue;
    }
    seen.set(key, i);
    out.push(i);
  }
  return out;
}

function basenameNoExt(file: string): string {
  return posix.basename(file).replace(YAML_FILE, "");
}

/**
 * Discovers the instances in one file (`file` is repo-relative). Also used by `ReleaseService`'s
 * edit functions to re-find an instance in the file on the HEAD the edit runs against.
 */
export function discoverFile(file: string, text: string, opts: DiscoveryOptions = {}): FileDiscovery {
  const env = envOfFile(file, opts);
  const problems: DiscoveryProblem[] = [];
  const fileApp = basenameNoExt(file);
  const where = { ...(env ? { env } : {}), app: fileApp };
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text);
  } catch (e) {
    return {
      instances: [],
      problems: [{ file, ...where, message: `cannot parse: ${(e as Error).message}` }],
    };
  }
  const list = Array.isArray(docs) ? docs : [docs];
  const bad = list.find((d) => d.errors.length > 0);
  if (bad) {
    const err = bad.errors[0];
    // A file we cannot parse is one we must not edit either: report it and skip the whole file.
    return {
      instances: [],
      problems: [
        {
          file,
          ...where,
          message: `invalid YAML: ${err?.message.split("\n")[0] ?? "parse error"}`,
          hint: "Fix the YAML syntax; the other apps are unaffected.",
        },
      ],
    };
  }
  const workloads: Workload[] = [];
  list.forEach((doc, docIndex) => {
    let js: unknown;
    try {
      js = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      problems.push({ file, ...where, message: `document ${docIndex}: ${(e as Error).message}` });
      return;
    }
    if (!isObj(js) || !WORKLOAD_KINDS.has(js.kind as WorkloadKind)) return;
    if (!isMap(doc.contents)) return;
    try {
      const w = readWorkload(js, file, docIndex, (m) => problems.push({ file, ...where, ...m }));
      if (w) workloads.push(w);
    } catch (e) {
      problems.push({ file, ...where, message: `document ${docIndex}: ${(e as Error).message}` });
    }
  });
  const instances: AppInstance[] = [];
  // One workload per file: the app is named after the file (or the chart). Several: after each workload.
  const chartName = (w: Workload) => (w.kind === "HelmRelease" ? w.chart?.name : undefined);
  for (const w of workloads) {
    const app = workloads.length === 1 ? (chartName(w) ?? fileApp) : (chartName(w) ?? w.name);
    const instEnv = env ?? (opts.envsFrom === "namespaces" ? w.namespace : undefined);
    if (!instEnv) continue;
    instances.push({ app, env: instEnv, workload: w });
  }
  // Re-home the problems found on workloads of this file to their app names.
  if (instances.length === 1 && instances[0]) {
    const only = instances[0];
    for (const p of problems) {
      p.app = only.app;
      p.env = only.env;
    }
  }
  return { instances, problems };
}

/** Reads the annotations of document `docIndex` of `text` (for setters that need the existing keys). */
export function annotationsOf(text: string, docIndex: number): Record<string, unknown> {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const js = list[docIndex]?.toJS({ maxAliasCount: 100 }) as unknown;
  const meta = isObj(js) && isObj(js.metadata) ? js.metadata : {};
  return isObj(meta.annotations) ? meta.annotations : {};
}
