/**
 * Folds the event stream into "views": one per release (image or command commit -> sync -> Helm
 * result, tied by correlation id) and one per failing reconciler. A view is what one chat message
 * shows; every event that changes it re-renders that message (updated in place), which is how a
 * burst of events coalesces into few messages and why an automated release and the sync that
 * applies it are one message.
 */
import type {
  AutoReleaseEvent,
  CommandCommitEvent,
  GitopsEvent,
  HelmEvent,
  ReconcilerEvent,
  SyncEvent,
} from "../core/events.js";
import type { Severity } from "../core/message.js";

export interface View {
  /** Message key: `release:<correlationId>` or `reconciler:<reconciler>:<env>/<app>`. */
  key: string;
  kind: "release" | "reconciler";
  correlationId: string;
  cluster: string;
  env?: string;
  app?: string;
  /** The commit that started the release (a chat command or image automation). */
  origin?: CommandCommitEvent | AutoReleaseEvent;
  sync?: SyncEvent;
  /** The latest Helm result (of any release the commit touched). */
  helm?: HelmEvent;
  /** The latest result of each Helm release the commit touched (`namespace/release`), in arrival order. */
  helms?: HelmEvent[];
  /** True once events of more than one env or app folded into this view (a seed commit, an
   * auto-release of several images): it then names no single env/app and offers no app buttons. */
  mixed?: boolean;
  reconciler?: ReconcilerEvent;
  /** Set when the last reconciler event was a failure, kept to show "recovered" afterwards. */
  failedSince?: string;
  lastEvent: GitopsEvent;
  eventCount: number;
}

/** What folding one event changed. */
export interface Fold {
  /** Views whose message must be (re)rendered; empty when the event is not worth a message. */
  views: View[];
  /** Detail replies to post in those views' threads: `sync-errors`, `helm-error`. */
  details: { view: View; detail: DetailKind }[];
}

export type DetailKind = "sync-errors" | "helm-error";

/** True when a sync changed nothing and failed nothing (not posted: no empty-sync spam). */
export function isEmptySync(e: SyncEvent): boolean {
  return !e.recovered && e.objects.every((o) => o.action === "unchanged");
}

/** Helm phases whose error text is posted as a detail reply (a rolled-back upgrade failed too). */
export const HELM_ERROR_PHASES: ReadonlySet<string> = new Set([
  "failed",
  "test-failed",
  "rolled-back",
  "stalled",
]);

/** Severity of one event on its own (used by routes). */
export function eventSeverity(e: GitopsEvent): Severity {
  switch (e.kind) {
    case "command-commit":
    case "auto-release":
      return "info";
    case "sync":
      return e.objects.some((o) => o.action === "failed") ? "error" : "success";
    case "helm":
      return e.phase === "failed" || e.phase === "test-failed"
        ? "error"
        : e.phase === "rolled-back" || e.phase === "stalled" || e.phase === "unmanaged"
          ? "warning"
          : "success";
    case "reconciler":
      return e.state === "recovered" ? "success" : "error";
    default: {
      const never: never = e;
      return never;
    }
  }
}

/** Severity of a whole view: the worst current outcome, `info` while only committed. */
export function viewSeverity(v: View): Severity {
  if (v.kind === "reconciler") return v.reconciler?.state === "recovered" ? "success" : "error";
  const helms = v.helms ?? (v.helm ? [v.helm] : []);
  if (helms.length > 0) return worst(helms.map(eventSeverity));
  if (v.sync) return eventSeverity(v.sync);
  return "info";
}

const SEVERITY_RANK: Severity[] = ["info", "success", "warning", "error"];
function worst(list: Severity[]): Severity {
  return list.reduce((a, b) => (SEVERITY_RANK.indexOf(b) > SEVERITY_RANK.indexOf(a) ? b : a), "info");
}

/** Namespaces an event touches (for namespace routes). */
export function eventNamespaces(e: GitopsEvent): string[] {
  if (e.kind === "helm") return [e.namespace];
  if (e.kind === "sync") {
    return [
      ...new Set(e.objects.map((o) => o.id.split(":")[0] ?? "").filter((n) => n !== "" && n !== "<cluster>")),
    ];
  }
  return e.env ? [e.env] : [];
}

/** Bounded in-memory store of views. Not persisted: after a restart, new messages start new threads. */
export class ViewStore {
  private readonly views = new Map<string, View>();
  /** Latest release view per `env/app`, to attach Helm results whose correlation id is unknown. */
  private readonly byApp = new Map<string, string>();

  constructor(private readonly max = 2000) {}

  get(key: string): View | undefined {
    return this.views.get(key);
  }

  /** Applies one event; never throws. */
  fold(e: GitopsEvent): Fold {
    switch (e.kind) {
      case "command-commit":
      case "auto-release": {
        const v = this.release(e);
        v.origin = e;
        return { views: [v], details: [] };
      }
      case "sync":
        return this.foldSync(e);
      case "helm": {
        const known =
          this.views.get(`release:${e.correlationId}`) ??
          (e.env && e.app ? this.views.get(this.byApp.get(`${e.env}/${e.app}`) ?? "") : undefined);
        const v = known ?? this.release(e);
        this.touch(v, e);
        v.helm = e;
        v.helms = [
          ...(v.helms ?? []).filter((h) => h.release !== e.release || h.namespace !== e.namespace),
          e,
        ];
        const failed = HELM_ERROR_PHASES.has(e.phase);
        return { views: [v], details: failed && e.error ? [{ view: v, detail: "helm-error" }] : [] };
      }
      case "reconciler": {
        const key = `reconciler:${e.reconciler}:${e.env ?? "*"}/${e.app ?? "*"}`;
        let v = this.views.get(key);
        if (!v && e.state === "recovered") return { views: [], details: [] };
        if (!v)
          v = this.put(
            {
              key,
              kind: "reconciler",
              correlationId: e.correlationId,
              cluster: e.cluster,
              lastEvent: e,
              eventCount: 0,
            },
            e,
          );
        this.touch(v, e);
        if (e.state !== "recovered" && v.reconciler?.state !== e.state) v.failedSince = e.time;
        // The same failure repeated (same state and text) changes nothing a reader needs.
        const same = v.reconciler?.state === e.state && v.reconciler.message === e.message;
        v.reconciler = e;
        return { views: same ? [] : [v], details: [] };
      }
      default: {
        const never: never = e;
        return never;
      }
    }
  }

  private foldSync(e: SyncEvent): Fold {
    const keys = new Set(
      [e.correlationId, e.toRevision, ...e.commits.map((c) => c.sha)].map((s) => `release:${s}`),
    );
    const matched = [...keys].map((k) => this.views.get(k)).filter((v): v is View => v !== undefined);
    const failed = e.objects.some((o) => o.action === "failed");
    if (matched.length === 0) {
      if (isEmptySync(e)) return { views: [], details: [] };
      matched.push(this.release(e));
    }
    for (const v of matched) {
      this.touch(v, e);
      v.sync = e;
    }
    return {
      views: matched,
      details: failed ? matched.map((view) => ({ view, detail: "sync-errors" as const })) : [],
    };
  }

  private release(e: GitopsEvent): View {
    const key = `release:${e.correlationId}`;
    const v =
      this.views.get(key) ??
      this.put(
        {
          key,
          kind: "release",
          correlationId: e.correlationId,
          cluster: e.cluster,
          lastEvent: e,
          eventCount: 0,
        },
        e,
      );
    this.touch(v, e);
    if (v.env && v.app) this.byApp.set(`${v.env}/${v.app}`, key);
    return v;
  }

  private put(v: View, e: GitopsEvent): View {
    if (e.env) v.env = e.env;
    if (e.app) v.app = e.app;
    this.views.set(v.key, v);
    // Evict the oldest views: a Map iterates in insertion order.
    while (this.views.size > this.max) {
      const oldest = this.views.keys().next().value as string;
      this.views.delete(oldest);
    }
    return v;
  }

  private touch(v: View, e: GitopsEvent): void {
    // One event can touch a view twice (created, then updated): count it once.
    if (v.lastEvent !== e || v.eventCount === 0) v.eventCount++;
    v.lastEvent = e;
    if ((e.env && v.env && e.env !== v.env) || (e.app && v.app && e.app !== v.app)) v.mixed = true;
    v.env ??= e.env;
    v.app ??= e.app;
  }
}
