/**
 * The one event model every part of gitops-bot emits into the notification pipeline (issue #5).
 * Every event carries the cluster name, env/app when known, and a correlation id that ties an
 * image commit -> sync -> Helm result together (the id of the commit that started the chain).
 */

export interface EventBase {
  /** Unique id of this event (for idempotent delivery and logs). */
  id: string;
  time: string;
  cluster: string;
  env?: string;
  app?: string;
  /** Ties related events together; by convention the full SHA of the triggering commit. */
  correlationId: string;
}

export interface CommitRef {
  sha: string;
  subject: string;
  author?: string;
}

/** A chat command (or CLI) committed a change to the config repo. */
export interface CommandCommitEvent extends EventBase {
  kind: "command-commit";
  action: "promote" | "release" | "rollback" | "lock" | "unlock" | "automate" | "deautomate" | "policy";
  actor: string;
  approvers: string[];
  commit: CommitRef;
  /** Image changes made by the commit. */
  changes: { container: string; image: string; from?: string; to: string }[];
  message?: string;
  locked?: { user?: string; message?: string };
  /** The new tag filter for `policy` (e.g. `glob:dev-*`), as written in the annotation. */
  policy?: string;
}

export interface SyncObjectResult {
  /** `namespace:kind/name` (fluxcloud's id form); cluster-scoped objects use `<cluster>`. */
  id: string;
  file: string;
  action: "created" | "configured" | "pruned" | "unchanged" | "failed";
  error?: string;
  /** Fields changed in the cluster behind git's back (`*`: replaced, `deleted`); set when drift was seen. */
  drift?: string[];
}

export interface SyncEvent extends EventBase {
  kind: "sync";
  fromRevision?: string;
  toRevision: string;
  commits: CommitRef[];
  objects: SyncObjectResult[];
  /** True when the previous sync failed and this one succeeded. */
  recovered?: boolean;
  /** Things the reader should know, e.g. that the branch was force-pushed. */
  warnings?: string[];
}

/** Image automation committed a new tag. */
export interface AutoReleaseEvent extends EventBase {
  kind: "auto-release";
  image: string;
  from: string;
  to: string;
  policy: string;
  commit: CommitRef;
  workload: string;
}

/** What the HelmRelease reconciler did to one release (correlationId: the commit the sync applied). */
export interface HelmEvent extends EventBase {
  kind: "helm";
  /** The Helm release name and the namespace it lives in (helm's `-n`). */
  release: string;
  namespace: string;
  /** The HelmRelease file in the config repo. */
  file?: string;
  /** The Helm revision after this pass. */
  revision?: number;
  /** The chart's name (from Chart.yaml or the repository). */
  chart?: string;
  chartVersion?: string;
  /** Content digest of a git chart directory (12 hex): a template edit without a version bump shows. */
  chartDigest?: string;
  /** The config repo revision the release was reconciled at. */
  gitRevision?: string;
  /** The commit that caused this (the newest one the sync applied with it), when known. */
  commit?: CommitRef;
  /** Image tags that changed in the values, when derivable (`image.tag`, `image.repository`). */
  images?: { image: string; from?: string; to: string }[];
  /**
   * deployed: installed or upgraded; rolled-back: an upgrade failed and was rolled back (its error
   * in `error`); stalled: the same chart+values failed before and wait for a change or `retry`;
   * uninstalled: the HelmRelease left git; unmanaged: a release of that name not made by us.
   */
  phase:
    | "deployed"
    | "failed"
    | "rolled-back"
    | "stalled"
    | "uninstalled"
    | "unmanaged"
    | "tested"
    | "test-failed";
  /** Helm's error text, redacted. */
  error?: string;
}

export interface ReconcilerEvent extends EventBase {
  kind: "reconciler";
  reconciler: "sync" | "image" | "helm";
  state: "failed" | "recovered" | "stalled";
  message: string;
}

export type GitopsEvent = CommandCommitEvent | SyncEvent | AutoReleaseEvent | HelmEvent | ReconcilerEvent;

/** Anything that accepts events (the notification router, a recorder in tests). */
export interface EventSink {
  emit(event: GitopsEvent): void;
}
