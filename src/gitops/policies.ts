/**
 * Flux v1 policy annotations (REFERENCE §2): automated, locked (+ user, message, since) and the
 * per-container tag filters. Both the `fluxcd.io/` prefix and the legacy `flux.weave.works/` one
 * are read; writes keep the prefix a file already uses.
 */
import type { Lock, Policies, TagFilter } from "../core/release.js";
import { parseTagFilter } from "./tag-filter.js";

export type PolicyPrefix = Policies["prefix"];

/** Both prefixes, the current one first. */
export const POLICY_PREFIXES: readonly PolicyPrefix[] = ["fluxcd.io", "flux.weave.works"];

/** Annotation keys for one prefix. `locked_since` is ours: an ISO time written when locking. */
export function policyKeys(prefix: PolicyPrefix) {
  return {
    automated: `${prefix}/automated`,
    locked: `${prefix}/locked`,
    lockedUser: `${prefix}/locked_user`,
    lockedMsg: `${prefix}/locked_msg`,
    lockedSince: `${prefix}/locked_since`,
    ignore: `${prefix}/ignore`,
  };
}

/** Every annotation key that can hold the tag filter of `container`, preferred first. */
export function filterKeysOf(container: string): string[] {
  return [
    `filter.fluxcd.io/${container}`,
    `fluxcd.io/tag.${container}`,
    `filter.flux.weave.works/${container}`,
    `flux.weave.works/tag.${container}`,
  ];
}

/** The key to write `container`'s filter to: the one already present, else the prefix's usual form. */
export function filterKeyFor(
  container: string,
  prefix: PolicyPrefix,
  annotations: Record<string, unknown>,
): string {
  const existing = filterKeysOf(container).find((k) => k in annotations);
  if (existing) return existing;
  return prefix === "fluxcd.io" ? `filter.fluxcd.io/${container}` : `flux.weave.works/tag.${container}`;
}

/** The prefix a file uses: legacy only when it has legacy keys and no current ones. */
export function prefixOf(annotations: Record<string, unknown>): PolicyPrefix {
  const keys = Object.keys(annotations);
  const legacy = keys.some((k) => k.startsWith("flux.weave.works/") || k.includes(".flux.weave.works/"));
  const current = keys.some((k) => k.startsWith("fluxcd.io/") || k.includes(".fluxcd.io/"));
  return legacy && !current ? "flux.weave.works" : "fluxcd.io";
}

export interface PolicyProblem {
  message: string;
  hint?: string;
}

export interface ReadPolicies {
  policies: Policies;
  /** Tag filter by container name. */
  filters: Map<string, TagFilter>;
  /** Containers whose filter annotation is invalid, with the message (also in `problems`). */
  invalidFilters: Map<string, string>;
  problems: PolicyProblem[];
}

function pick(
  annotations: Record<string, unknown>,
  suffix: string,
): { key: string; value: unknown } | undefined {
  for (const p of POLICY_PREFIXES) {
    const key = `${p}/${suffix}`;
    if (key in annotations) return { key, value: annotations[key] };
  }
  return undefined;
}

/** Reads the policies of one workload from its annotations. A YAML boolean where a string is
 * required is reported, not silently accepted: `automated: true` counts as off (Kubernetes rejects
 * non-string annotations), `locked: true` as locked (the safe reading). */
export function readPolicies(annotations: Record<string, unknown>): ReadPolicies {
  const problems: PolicyProblem[] = [];
  const prefix = prefixOf(annotations);
  let automated = false;
  const auto = pick(annotations, "automated");
  if (auto) {
    if (auto.value === "true") automated = true;
    else if (typeof auto.value === "boolean") {
      problems.push({
        message: `${auto.key} is the YAML boolean ${auto.value}, not a string, so automation is off`,
        hint: `Quote it: ${auto.key}: "${auto.value}" (annotation values must be strings).`,
      });
    }
  }
  let locked: Lock | null = null;
  const lk = pick(annotations, "locked");
  if (lk && (lk.value === "true" || lk.value === true)) {
    if (lk.value === true) {
      problems.push({
        message: `${lk.key} is the YAML boolean true, not a string; treated as locked`,
        hint: `Quote it: ${lk.key}: "true" (annotation values must be strings).`,
      });
    }
    locked = {};
    const user = pick(annotations, "locked_user")?.value;
    const msg = pick(annotations, "locked_msg")?.value;
    const since = pick(annotations, "locked_since")?.value;
    if (user !== undefined && user !== null) locked.user = String(user);
    if (msg !== undefined && msg !== null) locked.message = String(msg);
    if (since !== undefined && since !== null) locked.since = String(since);
  }
  const filters = new Map<string, TagFilter>();
  const invalidFilters = new Map<string, string>();
  for (const [key, value] of Object.entries(annotations)) {
    const m =
      /^(?:filter\.(?:fluxcd\.io|flux\.weave\.works)\/|(?:fluxcd\.io|flux\.weave\.works)\/tag\.)(.+)$/.exec(
        key,
      );
    const container = m?.[1];
    if (!container) continue;
    if (typeof value !== "string") {
      problems.push({ message: `${key} must be a string`, hint: `Quote it: ${key}: "${String(value)}".` });
      continue;
    }
    // The preferred key wins when a container has filters under both prefixes.
    if (filters.has(container) && filterKeysOf(container).indexOf(key) > 0) continue;
    try {
      filters.set(container, parseTagFilter(value));
      invalidFilters.delete(container);
    } catch (e) {
      problems.push({ message: `${key}: ${(e as Error).message}`, hint: (e as { hint?: string }).hint });
      if (!filters.has(container)) invalidFilters.set(container, `${key}: ${(e as Error).message}`);
    }
  }
  return { policies: { automated, locked, prefix }, filters, invalidFilters, problems };
}
