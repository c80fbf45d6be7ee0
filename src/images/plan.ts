/**
 * The image-automation planner: pure. From the release model's instances (images, filters, running
 * tags, policies), the frozen envs and one scan per repository, it decides for every container
 * either an update (old -> new) or why it waits. It never moves backwards (by the filter's ordering),
 * never acts on a failed or incomplete listing, and does not "update" a container whose running tag
 * has vanished from the registry. `wantedScans` says which repositories to scan (each once, however
 * many containers share it) and which timestamps the scan must read.
 */
import type { AppInstance, ContainerImage, TagFilter } from "../core/release.js";
import { normalizeImageRef, parseImageRef } from "../gitops/image-ref.js";
import { formatTagFilter, matchesTagFilter } from "../gitops/tag-filter.js";
import { needsTimestamps, newestBySemver, newestByTime } from "./order.js";
import type { RepositoryId, RepositoryScan, ScanRequest } from "./scan-result.js";

/** The filter a container without one gets (Flux v1's default). */
export const DEFAULT_FILTER: TagFilter = { kind: "glob", expr: "*" };

/** Why a container is not updated this cycle. */
export type WaitReason =
  | "frozen"
  | "not-automated"
  | "locked"
  | "invalid-filter"
  | "bad-image"
  | "not-scanned"
  | "registry-error"
  | "tag-vanished"
  | "no-candidates"
  | "cannot-order"
  | "newest";

/** What the planner says about one container. */
export type ImageDecision = {
  app: string;
  env: string;
  container: string;
  file: string;
  /** The image's repository as written in the file. */
  image: string;
  /** The repository key it was scanned under (`host/path`), when the reference is valid. */
  repository?: string;
  filter: string;
  current: string;
} & (
  | { action: "update"; to: string; created?: Date }
  | { action: "wait"; reason: WaitReason; message: string; newest?: string }
);

export type ImageUpdate = Extract<ImageDecision, { action: "update" }>;

/** A frozen env (a `freeze <env>` record): no automation there. */
export interface Freeze {
  reason?: string;
  by?: string;
}

export interface PlanInput {
  instances: readonly AppInstance[];
  /** Frozen envs by name. */
  frozen?: ReadonlyMap<string, Freeze>;
  /** Scans by repository key (`RepositoryId.key`). */
  scans: ReadonlyMap<string, RepositoryScan>;
}

export interface Plan {
  /** Every image of every instance, in model order. */
  decisions: ImageDecision[];
  /** The updates, ready for `ReleaseOperations.autoRelease({ updates })`. */
  updates: { app: string; env: string; container: string; tag: string }[];
}

/** The registry repository of an image reference (`nginx` -> docker.io/library/nginx), or undefined
 * when the text is not an image reference. */
export function repositoryIdOf(image: string): RepositoryId | undefined {
  const ref = parseImageRef(image);
  if (!ref) return undefined;
  const n = normalizeImageRef({ ...ref, tag: undefined, digest: undefined });
  return { key: `${n.registry}/${n.path}`, host: n.registry, path: n.path };
}

/** True when automation may look at this instance at all (automated, not locked, env not frozen). */
function active(inst: AppInstance, frozen: ReadonlyMap<string, Freeze> | undefined): boolean {
  return inst.workload.policies.automated && !inst.workload.policies.locked && !frozen?.has(inst.env);
}

/**
 * The repositories automation needs scanned: one request per repository used by an active
 * container (automated, unlocked, env not frozen, valid filter), with the time-ordering filters and
 * running tags of its users, so the scanner reads timestamps only where they decide something.
 */
export function wantedScans(
  instances: readonly AppInstance[],
  frozen?: ReadonlyMap<string, Freeze>,
): ScanRequest[] {
  const out = new Map<string, ScanRequest>();
  for (const inst of instances) {
    if (!active(inst, frozen)) continue;
    for (const img of inst.workload.images) {
      if (img.filterError) continue;
      const id = repositoryIdOf(img.repository);
      if (!id) continue;
      let req = out.get(id.key);
      if (!req) {
        req = { repository: id, timeFilters: [], runningTags: [] };
        out.set(id.key, req);
      }
      const filter = img.filter ?? DEFAULT_FILTER;
      if (needsTimestamps(filter)) {
        if (!req.timeFilters.some((f) => f.kind === filter.kind && f.expr === filter.expr)) {
          req.timeFilters.push(filter);
        }
        if (img.tag && !req.runningTags.includes(img.tag)) req.runningTags.push(img.tag);
      }
    }
  }
  return [...out.values()];
}

/** Decides every container of `input.instances` (see the file comment). Pure and deterministic. */
export function planImageUpdates(input: PlanInput): Plan {
  const decisions: ImageDecision[] = [];
  for (const inst of input.instances) {
    for (const img of inst.workload.images) decisions.push(decide(inst, img, input));
  }
  const updates = decisions.flatMap((d) =>
    d.action === "update" ? [{ app: d.app, env: d.env, container: d.container, tag: d.to }] : [],
  );
  return { decisions, updates };
}

function decide(inst: AppInstance, img: ContainerImage, input: PlanInput): ImageDecision {
  const filter = img.filter ?? DEFAULT_FILTER;
  const id = repositoryIdOf(img.repository);
  const base = {
    app: inst.app,
    env: inst.env,
    container: img.container,
    file: inst.workload.file,
    image: img.repository,
    ...(id ? { repository: id.key } : {}),
    filter: img.filterError ? "(invalid)" : formatTagFilter(filter),
    current: img.tag,
  };
  const wait = (reason: WaitReason, message: string, newest?: string): ImageDecision => ({
    ...base,
    action: "wait",
    reason,
    message,
    ...(newest !== undefined ? { newest } : {}),
  });
  const where = `${inst.env}/${inst.app} container ${img.container} (${inst.workload.file})`;
  const freeze = input.frozen?.get(inst.env);
  if (freeze) {
    return wait("frozen", `${inst.env} is frozen${freeze.reason ? `: ${freeze.reason}` : ""}`);
  }
  if (!inst.workload.policies.automated) return wait("not-automated", `${where} is not automated`);
  const lock = inst.workload.policies.locked;
  if (lock) {
    const who = lock.user ? ` by ${lock.user}` : "";
    return wait("locked", `${where} is locked${who}${lock.message ? `: ${lock.message}` : ""}`);
  }
  if (img.filterError) return wait("invalid-filter", `${where}: ${img.filterError}`);
  if (!id || !img.tag) {
    return wait("bad-image", `${where}: ${img.repository}:${img.tag} is not an image reference with a tag`);
  }
  const scan = input.scans.get(id.key);
  if (!scan) return wait("not-scanned", `${id.key} has not been scanned yet`);
  if (!scan.ok) return wait("registry-error", scan.error);
  const tags = new Set(scan.tags);
  if (!tags.has(img.tag)) {
    return wait(
      "tag-vanished",
      `${where} runs ${img.tag}, which ${id.key} no longer lists; not updating from a tag the registry does not have`,
    );
  }
  const candidates = scan.tags.filter((t) => matchesTagFilter(filter, t));
  if (filter.kind === "semver") {
    const r = newestBySemver(candidates, img.tag);
    return conclude(r);
  }
  const failed = [...candidates, img.tag].map((t) => scan.times.get(t)).find((t) => t?.error !== undefined);
  if (failed?.error) return wait("registry-error", failed.error);
  return conclude(newestByTime(candidates, img.tag, scan.times));

  function conclude(r: ReturnType<typeof newestByTime>): ImageDecision {
    switch (r.kind) {
      case "none":
        return wait("no-candidates", `no tag of ${id?.key} passes ${formatTagFilter(filter)}`);
      case "cannot-order":
        return wait(
          "cannot-order",
          `${where}: cannot order ${formatTagFilter(filter)} candidates: ${r.message}`,
        );
      case "current":
        return wait("newest", `${img.tag} is the newest tag ${formatTagFilter(filter)} admits`, r.newest);
      case "newer":
        return { ...base, action: "update", to: r.tag, ...(r.created ? { created: r.created } : {}) };
    }
  }
}
