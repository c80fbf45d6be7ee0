import type { ReconcilerEvent } from "../core/events.js";

/**
 * Conditions (DESIGN.md `Reconciler<T>`): what a reconcile says about its object, in the spirit of
 * Kubernetes' `status.conditions` and Flux's Ready condition. A reconciler returns one per run; only
 * the controller compares it with the previous one (`sameCondition`, `transitionOf`) and decides
 * whether anything is announced.
 */

/** `ready`/`progressing` are fine; `failed` is retried with backoff; `stalled` waits for new input. */
export type ConditionStatus = "ready" | "progressing" | "stalled" | "failed";

export interface Condition<R extends string = string> {
  status: ConditionStatus;
  /** A CamelCase word from the reconciler's `defineReasons` list (why it is in this status). */
  reason?: R;
  /** What happened, or why it failed (shown in events and status). */
  message?: string;
  /** The input revision the condition was observed at (e.g. the git head a sync ran at). */
  observedRevision?: string;
  /**
   * The items the condition stands for, by kind (`{ failed: ["id|error", …], drift: […] }`): two
   * conditions with the same status and message but a different set of items are different, so a
   * new failure is announced even when the summary line repeats. Undefined: this run could not
   * look (e.g. git was unreachable), and the controller keeps what the previous condition had.
   */
  findings?: Record<string, string[]>;
  /** When `status` last changed (set by the controller). */
  lastTransitionTime?: string;
}

/** The reasons of one reconciler, declared once: `Reasons.Synced === "Synced"`. */
export type Reasons<R extends string> = { readonly [K in R]: K };

/**
 * Declares a reconciler's reasons once, so each one is a typed constant instead of a string
 * literal repeated across files: `const SyncReasons = defineReasons(["Synced", "FetchFailed"] as const)`.
 */
export function defineReasons<const R extends readonly string[]>(names: R): Reasons<R[number]> {
  const out: Record<string, string> = {};
  for (const n of names) {
    if (!/^[A-Z][A-Za-z0-9]*$/.test(n)) throw new Error(`reason ${JSON.stringify(n)} is not CamelCase`);
    out[n] = n;
  }
  return Object.freeze(out) as Reasons<R[number]>;
}

const key = (items: string[] | undefined) => [...(items ?? [])].sort().join("\n");

function sameFindings(a: Condition["findings"], b: Condition["findings"]): boolean {
  const kinds = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
  for (const k of kinds) if (key(a?.[k]) !== key(b?.[k])) return false;
  return true;
}

/** True when nothing worth announcing differs: status, reason, message and findings (not times or revisions). */
export function sameCondition(a: Condition | undefined, b: Condition | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.status === b.status &&
    a.reason === b.reason &&
    a.message === b.message &&
    sameFindings(a.findings, b.findings)
  );
}

const bad = (c?: Condition) => c?.status === "failed" || c?.status === "stalled";

/**
 * The transition from `prev` to `next` that the controller announces, if any: a new or different
 * failure (`failed` / `stalled`), or the way back from one (`recovered`). Ready -> ready with a new
 * message is no transition.
 */
export function transitionOf(
  prev: Condition | undefined,
  next: Condition,
): ReconcilerEvent["state"] | undefined {
  if (bad(next)) return sameCondition(prev, next) ? undefined : (next.status as "failed" | "stalled");
  return bad(prev) ? "recovered" : undefined;
}

/** Finding kinds of `next` that are non-empty and differ from `prev`'s: what is new to announce. */
export function newFindings(prev: Condition | undefined, next: Condition): Set<string> {
  const out = new Set<string>();
  for (const [k, items] of Object.entries(next.findings ?? {})) {
    if (items.length > 0 && key(items) !== key(prev?.findings?.[k])) out.add(k);
  }
  return out;
}
