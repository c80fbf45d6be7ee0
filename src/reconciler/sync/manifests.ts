import { parseAllDocuments } from "yaml";
import type { ConfigRepo } from "../../gitops/config-repo.js";
import { isBotPath } from "../../gitops/freezes.js";
import { normalizeRepoPath } from "../../gitops/git/paths.js";
import type { KubeObject } from "../../kube/client.js";
import { limiter } from "./limit.js";

/** One folder to sync and whether removals from it are pruned. */
export interface SyncPath {
  path: string;
  prune: boolean;
}

/** One object from the config repo. */
export interface Manifest {
  object: KubeObject;
  /** Repo-relative file path. */
  file: string;
  /** The unit of atomicity: the file, or the app folder (`<path>/<env>/<app>/`) it lives in. */
  app: string;
  /** Whether objects of this manifest's sync path may be pruned. */
  prune: boolean;
}

/** A file that could not be used (parse error, not a Kubernetes object, outside the paths, …). */
export interface ManifestError {
  file: string;
  app: string;
  message: string;
}

export interface LoadedManifests {
  manifests: Manifest[];
  errors: ManifestError[];
  /** Objects skipped because of `fluxcd.io/ignore: "true"`: never applied, never pruned. */
  ignored: Manifest[];
  /** Files read, for logs. */
  files: number;
}

const IGNORE_ANNOTATIONS = ["fluxcd.io/ignore", "flux.weave.works/ignore"];

/**
 * Normalizes a configured sync path to `dir/` form (`""` for the repo root, so `.` syncs the whole
 * repo) by the repo's one path rule (`normalizeRepoPath`, tidy: `./a//b/` is `a/b/`); throws for
 * paths that leave the repo.
 */
export function normalizeSyncPath(p: string): string {
  let path: string;
  try {
    path = normalizeRepoPath(p, { tidy: true });
  } catch {
    throw new Error(`sync path ${JSON.stringify(p)} must be a repo-relative folder without ".."`);
  }
  return path === "" ? "" : `${path}/`;
}

/** The app a file belongs to: its folder when that is at least two levels below the sync path
 * (`releases/dev/podinfo/deploy.yaml` -> `releases/dev/podinfo/`), else the file itself. */
export function appOf(file: string, syncPath: string): string {
  const rest = file.slice(syncPath.length).split("/");
  return rest.length >= 3 ? `${syncPath}${rest.slice(0, 2).join("/")}/` : file;
}

function isYamlFile(f: string): boolean {
  return /\.ya?ml$/i.test(f);
}

/** True when the object opts out with `fluxcd.io/ignore: "true"` (a YAML boolean counts too). */
export function isIgnored(obj: KubeObject): boolean {
  const ann = obj.metadata?.annotations as Record<string, unknown> | undefined;
  return IGNORE_ANNOTATIONS.some((k) => ann?.[k] === "true" || ann?.[k] === true);
}

function checkObject(doc: unknown): string | undefined {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return typeof doc === "string" && !doc.includes("\n") && doc.includes("/")
      ? `not a Kubernetes object (a symbolic link to ${JSON.stringify(doc)}? links are not followed)`
      : "not a Kubernetes object (expected a mapping with apiVersion, kind and metadata.name)";
  }
  const o = doc as Record<string, unknown>;
  if (typeof o.apiVersion !== "string" || !o.apiVersion) return "missing apiVersion";
  if (typeof o.kind !== "string" || !o.kind) return "missing kind";
  const md = o.metadata as Record<string, unknown> | undefined;
  if (typeof md !== "object" || md === null || typeof md.name !== "string" || !md.name)
    return "missing metadata.name";
  if (md.namespace !== undefined && typeof md.namespace !== "string")
    return "metadata.namespace must be a string";
  return undefined;
}

/**
 * Reads every `.yaml`/`.yml` file under the sync paths at `revision` and parses the (multi-document)
 * YAML. A file with any bad document is reported whole and yields no objects, so a half-parsed
 * file never applies. Paths listed outside the sync paths (or escaping them) are rejected. `List`
 * documents are expanded. Throws only when the repo itself cannot be read.
 */
export async function loadManifests(
  repo: ConfigRepo,
  revision: string,
  paths: SyncPath[],
): Promise<LoadedManifests> {
  // Reading "at the head" (no `at`) is much cheaper than at an explicit SHA in GitConfigRepo (which
  // resolves an explicit revision with a `git rev-parse` per call: 11 s for 1000 files). So read at
  // the head while it is the revision we sync, and start over at the explicit revision if the head
  // moved meanwhile (a chat command committed), so one sync never mixes two revisions.
  if ((await repo.head()) === revision) {
    const atHead = await loadAt(repo, undefined, paths);
    if ((await repo.head()) === revision) return atHead;
  }
  return loadAt(repo, revision, paths);
}

async function loadAt(
  repo: ConfigRepo,
  revision: string | undefined,
  paths: SyncPath[],
): Promise<LoadedManifests> {
  const out: LoadedManifests = { manifests: [], errors: [], ignored: [], files: 0 };
  const seen = new Set<string>();
  const todo: { file: string; app: string; prune: boolean }[] = [];
  for (const sp of paths) {
    const dir = normalizeSyncPath(sp.path);
    const listed = await repo.list(dir.slice(0, -1), revision);
    for (const raw of [...listed].sort()) {
      const file = raw.replace(/^\.\/+/, "");
      if (seen.has(file)) continue; // overlapping paths: the first path wins
      // The bot's own records (`.gitops-bot/freezes.yaml`) are not manifests, even when a sync path
      // is the repo root.
      if (isBotPath(file)) continue;
      seen.add(file);
      if (!file.startsWith(dir) || file.split("/").includes("..")) {
        out.errors.push({ file, app: file, message: `outside the sync path ${dir}: not applied` });
        continue;
      }
      if (isYamlFile(file)) todo.push({ file, app: appOf(file, dir), prune: sp.prune });
    }
    // A link could point anywhere (outside the sync paths, outside the repo): never followed,
    // and reported so nobody wonders why the file it names is not applied.
    for (const link of repo.links ? await repo.links(dir.slice(0, -1), revision) : []) {
      if (seen.has(link) || !isYamlFile(link) || isBotPath(link)) continue;
      seen.add(link);
      out.errors.push({
        file: link,
        app: appOf(link, dir),
        message: "is a symbolic link: links are not followed, so it is not applied; commit the file itself",
      });
    }
  }
  out.files = todo.length;
  // Reads are pipelined (the git backend batches them); results stay in file order.
  const limit = limiter(64);
  const texts = await Promise.all(
    todo.map((t) =>
      limit(() =>
        repo.read(t.file, revision).then(
          (text) => ({ text }),
          (err: Error) => ({ error: err.message }),
        ),
      ),
    ),
  );
  for (const [i, t] of todo.entries()) {
    const r = texts[i];
    if (!r) continue;
    if ("error" in r) {
      out.errors.push({ file: t.file, app: t.app, message: `cannot read: ${r.error}` });
      continue;
    }
    if (r.text === undefined) continue;
    const parsed = parseFile(r.text, t.file);
    if ("error" in parsed) {
      out.errors.push({ file: t.file, app: t.app, message: parsed.error });
      continue;
    }
    for (const object of parsed.objects) {
      const m = { object, file: t.file, app: t.app, prune: t.prune };
      if (isIgnored(object)) out.ignored.push(m);
      else out.manifests.push(m);
    }
  }
  return out;
}

/** Parses one file into objects, or the first error (with its line). */
export function parseFile(text: string, file: string): { objects: KubeObject[] } | { error: string } {
  const objects: KubeObject[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  // parseAllDocuments returns a non-array EmptyStream for an empty file.
  if (!Array.isArray(docs)) return { objects };
  for (const [i, doc] of docs.entries()) {
    const err = doc.errors[0];
    if (err) return { error: `invalid YAML in document ${i + 1}: ${err.message.split("\n")[0]}` };
    let value: unknown;
    try {
      // toJS throws for an alias without an anchor, or an alias bomb past maxAliasCount.
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      return { error: `invalid YAML in document ${i + 1}: ${(err as Error).message.split("\n")[0]}` };
    }
    if (value === null || value === undefined) continue;
    const items =
      typeof value === "object" &&
      (value as { kind?: unknown }).kind === "List" &&
      Array.isArray((value as { items?: unknown }).items)
        ? ((value as { items: unknown[] }).items as unknown[])
        : [value];
    for (const item of items) {
      const problem = checkObject(item);
      if (problem) return { error: `document ${i + 1} of ${file}: ${problem}` };
      objects.push(item as KubeObject);
    }
  }
  return { objects };
}
