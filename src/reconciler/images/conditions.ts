import type { ImageDecision, WaitReason } from "../../images/plan.js";
import { type Condition, defineReasons } from "../conditions.js";
import type { ImageState } from "./state.js";

/** Why an image automation cycle is in its condition, declared once. */
export const ImageReasons = defineReasons([
  /** Every automated container runs the newest tag its filter allows, or waits for a stated reason. Fine. */
  "UpToDate",
  /** This cycle committed new tags (one commit). Fine. */
  "Released",
  /** A registry (or one of its repositories) could not be listed or read: failed, retried with backoff;
   * the other images went on. */
  "RegistryUnavailable",
  /** The config repo could not be read or the commit could not be pushed: failed, retried with backoff. */
  "ConfigRepoUnavailable",
  /** The freeze record cannot be read, so nothing is released until it is fixed: failed, retried at
   * the interval (no backoff: it waits for a new commit). */
  "FreezesUnreadable",
] as const);

export type ImageReason = keyof typeof ImageReasons;

/** Wait reasons that need new input (a fixed filter or file, a new image): `stalled` findings, each
 * announced once when it appears. */
const STALLED: ReadonlySet<WaitReason> = new Set([
  "invalid-filter",
  "bad-image",
  "cannot-order",
  "tag-vanished",
]);

/** `env/app container (file)`: how a finding names its workload. */
export function whereOf(d: Pick<ImageDecision, "env" | "app" | "container" | "file">): string {
  return `${d.env}/${d.app} container ${d.container} (${d.file})`;
}

/**
 * The findings of a cycle: `registry` (repositories that failed, with the workloads that use them),
 * `stalled` (containers waiting for a fixed input: invalid filter, not an image, cannot order,
 * vanished tag, and repositories in `permanent`: not found, credentials refused), `problems`
 * (files that could not be read). Items are `id|text`, so a changed error
 * is a new finding.
 */
export function imageFindings(
  decisions: readonly ImageDecision[],
  problems: readonly { file: string; message: string }[] = [],
  permanent: ReadonlySet<string> = new Set(),
): Record<string, string[]> {
  const registry = new Map<string, { users: string[]; error: string }>();
  const stalled: string[] = [];
  for (const d of decisions) {
    if (d.action !== "wait") continue;
    if (d.reason === "registry-error" && !permanent.has(d.repository ?? d.image)) {
      const key = d.repository ?? d.image;
      const r = registry.get(key) ?? { users: [], error: d.message };
      r.users.push(whereOf(d));
      registry.set(key, r);
    } else if (STALLED.has(d.reason) || d.reason === "registry-error") {
      const text = d.reason === "registry-error" ? `${whereOf(d)}: ${d.message}` : d.message;
      stalled.push(`${d.env}/${d.app}/${d.container}|${text}`);
    }
  }
  return {
    registry: [...registry].map(([repo, r]) => `${repo}|${r.error} (used by ${r.users.sort().join(", ")})`),
    stalled,
    // A file the model has workloads from is told through their decisions (an invalid filter is
    // a stalled container while automation looks at it, nothing while it is frozen or locked).
    problems: problems
      .filter((p) => !decisions.some((d) => d.file === p.file))
      .map((p) => `${p.file}|${p.message}`),
  };
}

/** The item text of a finding (after the `id|`). */
export function findingText(item: string): string {
  const i = item.indexOf("|");
  return i < 0 ? item : item.slice(i + 1);
}

/** The condition a state record stands for (what a restarted replica compares its first run with). */
export function recordedCondition(state: ImageState): Condition | undefined {
  if (!state.status) return undefined;
  const c: Condition = { status: state.status, findings: state.findings ?? {} };
  if (state.reason) c.reason = state.reason;
  if (state.message) c.message = state.message;
  if (state.revision) c.observedRevision = state.revision;
  return c;
}
