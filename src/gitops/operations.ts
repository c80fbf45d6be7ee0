/**
 * The release operations over the release model (issue #2), each producing at most one commit
 * with a message in the spirit of Flux v1 plus audit trailers. Chat commands, the CLI, buttons
 * and the image-automation reconciler all call these; none of them knows about chat platforms.
 *
 * Implemented by `ReleaseService` (`src/gitops/release-service.ts`) over the one-file operations in
 * `src/gitops/operations/`.
 */
import type { AppInstance, ReleaseModel, TagFilter } from "../core/release.js";
import type { CommitResult, Identity } from "./config-repo.js";

/** Who acts: the chat user (author of the commit) and where the request came from. */
export interface Actor {
  /** Platform-qualified id used in trailers: `slack:U123`, `teams:<aad-object-id>`, `cli:alice`, `shell:local`. */
  id: string;
  /** Display name, e.g. `alice`. */
  name: string;
  /** Commit author identity. */
  identity: Identity;
}

/** Common options of every writing operation. */
export interface OpOptions {
  actor: Actor;
  /** People who approved (protected envs); each becomes an `Approved-By:` trailer. */
  approvers?: Actor[];
  dryRun?: boolean;
  /** Free-text reason, kept in the commit body. */
  message?: string;
  /** The invocation id of the command, logged with the commit (not part of the commit). */
  invocation?: string;
}

/** One container moving from one tag to another. */
export interface ImageChange {
  container: string;
  repository: string;
  from: string;
  to: string;
}

/** Result of a writing operation. */
export interface OpResult {
  /** The app changed; empty for an operation on a whole env (freeze, unfreeze). */
  app: string;
  env: string;
  action:
    | "promote"
    | "release"
    | "rollback"
    | "lock"
    | "unlock"
    | "automate"
    | "deautomate"
    | "policy"
    | "freeze"
    | "unfreeze";
  subject: string;
  commit: CommitResult;
  imageChanges: ImageChange[];
  chartChange?: { from?: string; to?: string };
  /** True when the operation also locked the instance (rollback, forced promote). */
  locked: boolean;
}

/** What a promotion from one env to another would change (the `diff` command and promote's preview). */
export interface PromotionPlan {
  app: string;
  from: AppInstance;
  to: AppInstance;
  imageChanges: ImageChange[];
  chartChange?: { from?: string; to?: string };
  /** Containers whose new tag does not match the target's filter while the target is automated. */
  filterConflicts: { container: string; tag: string; filter: TagFilter }[];
  /** Target is locked (by whom, why). */
  targetLocked: boolean;
}

/** One commit in the release history of an app in an env, newest first. */
export interface HistoryEntry {
  sha: string;
  time: string;
  /** Tag(s) deployed by this commit, by container. */
  images: { container: string; tag: string }[];
  chartVersion?: string;
  action: string;
  /** Who: from `Requested-By` trailers, else the commit author. */
  by: string;
  approvers: string[];
  subject: string;
  /** True when read from our trailers; false when inferred from the diff of a foreign commit. */
  fromTrailers: boolean;
}

/** One tag image automation wants to set. */
export interface AutoReleaseUpdate {
  app: string;
  env: string;
  container: string;
  tag: string;
}

/** Why image automation did not apply an update (re-checked on the HEAD the commit is built on). */
export type AutoReleaseSkip =
  | "unknown"
  | "locked"
  | "not-automated"
  | "filter-mismatch"
  | "unchanged"
  | "bad-tag"
  | "frozen";

/** An update image automation applied, with the image's repository and the tag it replaced. */
export type AutoReleaseApplied = AutoReleaseUpdate & { repository: string; from: string };

/** Result of `autoRelease`. */
export interface AutoReleaseResult {
  /** Empty when nothing was applied (no commit). */
  subject: string;
  commit: CommitResult;
  applied: AutoReleaseApplied[];
  skipped: (AutoReleaseUpdate & { reason: AutoReleaseSkip })[];
}

/** The release operations port: what chat commands, the CLI and the reconcilers call. */
export interface ReleaseOperations {
  /** The release model at the current head (re-synced). Never throws for a broken file: see `problems`. */
  model(): Promise<ReleaseModel>;
  release(
    a: { app: string; env: string; tag: string; container?: string; force?: boolean } & OpOptions,
  ): Promise<OpResult>;
  promote(a: { app: string; from: string; to: string; force?: boolean } & OpOptions): Promise<OpResult>;
  /** Without `to`: the version deployed before the current one in that env. Always locks (pins). */
  rollback(a: { app: string; env: string; to?: string } & OpOptions): Promise<OpResult>;
  lock(a: { app: string; env: string } & OpOptions): Promise<OpResult>;
  unlock(a: { app: string; env: string } & OpOptions): Promise<OpResult>;
  automate(a: { app: string; env: string; filter?: string } & OpOptions): Promise<OpResult>;
  deautomate(a: { app: string; env: string } & OpOptions): Promise<OpResult>;
  policy(a: { app: string; env: string; container: string; filter: string } & OpOptions): Promise<OpResult>;
  /** Freezes `env`: no automation changes it until `unfreeze` (`message` is the reason). One commit
   * to `.gitops-bot/freezes.yaml`; refused with `already-frozen` when it is frozen. */
  freeze(a: { env: string } & OpOptions): Promise<OpResult>;
  /** Lifts the freeze of `env`; refused with `not-frozen` when it is not frozen. */
  unfreeze(a: { env: string } & OpOptions): Promise<OpResult>;
  /**
   * Image automation's write: many tags in ONE commit. Each update is re-checked on the HEAD the
   * commit is built on and skipped, not failed, when it must not move (see `AutoReleaseSkip`).
   * `actor` is the automation's identity (e.g. `{ id: "automation:image", name: "image-automation" }`).
   */
  autoRelease(a: {
    updates: AutoReleaseUpdate[];
    actor: Actor;
    dryRun?: boolean;
  }): Promise<AutoReleaseResult>;
  plan(a: { app: string; from: string; to: string }): Promise<PromotionPlan>;
  history(a: { app: string; env: string; limit?: number }): Promise<HistoryEntry[]>;
}
