/**
 * Ports: the small interfaces through which the core talks to the outside world. Implementations
 * live elsewhere (pino logger in `main.ts`, the system clock); tests pass fakes.
 */

/** Structured logger (pino-compatible subset). `obj` fields are redacted by the implementation. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

/** Time source. Inject a fake in tests instead of mocking timers where practical. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A logger that drops everything; for tests and for library use without logging. */
export const nullLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return nullLogger;
  },
};

/**
 * Asks the git -> cluster sync reconciler to run now: the contract between the sync reconciler
 * (which implements it) and the git webhook and the `sync` chat command (which call it).
 * Lives here so that neither side imports the other.
 */
export interface SyncTrigger {
  /** Runs a sync now (or joins the one running) and resolves when it is done (or queued, with
   * `wait: false`). `env` is informational: a sync always covers every path. On a replica that is
   * not the leader nothing runs. */
  trigger(opts?: SyncTriggerOptions): Promise<SyncTriggerResult>;
}

/** What the chat commands get of the sync (injected; absent until a reconciler runs). */
export interface SyncCommands extends SyncTrigger {
  /** The outcome of the last sync, as recorded in the cluster (for `status`). */
  status?(): Promise<SyncSummary>;
}

export interface SyncTriggerOptions {
  env?: string;
  actor?: string;
  reason?: "start" | "interval" | "webhook" | "command" | "retry";
  /** false: resolve as soon as the sync is queued (chat replies that must not wait); default true. */
  wait?: boolean;
}

export interface SyncTriggerResult {
  /** False when this replica is not the leader (or the service is stopped). */
  accepted: boolean;
  /** One line for the chat reply. */
  message: string;
  /** The revision the sync ran at (when it got that far). */
  revision?: string;
  /** The outcome of the run, when the caller waited for it. */
  result?: { status: "ready" | "progressing" | "stalled" | "failed"; message?: string };
}

/** What chat needs of the HelmRelease reconciler (issue #13): `retry` and the phases for `status`. */
export interface HelmCommands {
  /**
   * Forgets the earlier failures of this HelmRelease's chart+values (a stalled or failed release)
   * and reconciles it now. Resolves when the pass is done (`wait` true) or queued.
   */
  retry(
    hr: { namespace: string; name: string },
    opts?: { actor?: string; wait?: boolean },
  ): Promise<{ accepted: boolean; message: string; status?: string }>;
  /** The recorded Helm phase of every HelmRelease (for `status`), by `namespace/name`. */
  releases?(): Promise<HelmReleaseSummary[]>;
  /** The stored Helm revisions of a HelmRelease's release, newest first (for `history`). */
  revisions?(hr: { namespace: string; name: string }): Promise<HelmRevisionSummary[]>;
}

export interface HelmRevisionSummary {
  revision: number;
  /** Helm's status of that revision: deployed, superseded, failed, pending-upgrade, … */
  status: string;
  /** When helm last modified it (ISO), when known. */
  time?: string;
  /** First 12 hex of the chart digest we stored (a git chart's content). */
  chart?: string;
}

export interface HelmReleaseSummary {
  /** The HelmRelease (`namespace/name`) and its file. */
  key: string;
  file: string;
  release: string;
  namespace: string;
  /** Deployed, Failed, RolledBack, Stalled, Progressing, … */
  phase: string;
  revision?: number;
  message?: string;
}

/** What `status` shows of the sync reconciler: the recorded outcome of its last run. */
export interface SyncSummary {
  result: "never" | "success" | "partial" | "failed";
  /** The revision the last completed sync applied. */
  revision?: string;
  /** When the last sync ran in this process, else when the recorded outcome last changed. */
  time?: string;
  message?: string;
  /** Objects that failed to apply in the last sync. */
  errors: number;
  /** Objects changed in the cluster behind git's back, as last seen. */
  drift: number;
}

/** One candidate image tag for `images`. */
export interface ImageCandidate {
  tag: string;
  /** When the image was built (ISO time), for filters that order by time. */
  created?: string;
  /** True for the tag deployed now. */
  current: boolean;
  /** True when it matches the instance's filter. */
  matches: boolean;
  /** True for the tag automation would move to next. */
  next?: boolean;
}

/** The candidates of one container of an instance, newest first. */
export interface ImageCandidates {
  container: string;
  repository: string;
  /** The filter as written (`glob:dev-*`), `glob:*` when none. */
  filter?: string;
  tags: ImageCandidate[];
  /** How the candidates are ordered: by image creation time or by version. */
  order?: "time" | "version";
  /** Tags of the repository not listed (the filter does not admit them, or the list was cut). */
  more?: number;
  /** Why automation does not move this container now (locked, frozen, cannot order, registry
   * error, not automated, …); absent when it runs the newest. */
  waiting?: string;
  /** The planner's reason code for `waiting` (`locked`, `frozen`, `cannot-order`, `registry-error`, …). */
  reason?: string;
}

/** Lists candidate tags from the registries (the image automation's scanner and planner implement it). */
export interface ImageCatalog {
  candidates(a: { app: string; env: string }): Promise<ImageCandidates[]>;
}
