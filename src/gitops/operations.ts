/**
 * The release operations over the release model (issue #2), each producing at most one commit
 * with a message in the spirit of Flux v1 plus audit trailers. Chat commands, the CLI, buttons
 * and the image-automation reconciler all call these; none of them knows about chat platforms.
 *
 * Implemented by `ReleaseService` (`src/gitops/release-service.ts`).
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
}

export interface ImageChange {
  container: string;
  repository: string;
  from: string;
  to: string;
}

/** Result of a writing operation. */
export interface OpResult {
  app: string;
  env: string;
  action: "promote" | "release" | "rollback" | "lock" | "unlock" | "automate" | "deautomate" | "policy";
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
  plan(a: { app: string; from: string; to: string }): Promise<PromotionPlan>;
  history(a: { app: string; env: string; limit?: number }): Promise<HistoryEntry[]>;
}
