/**
 * The rich notification layout (our default, "better than fluxcloud"): one message per release
 * that is updated as the commit, sync and Helm result arrive; colour by outcome; facts for env,
 * app, old -> new tag, chart version, Helm phase, trigger, approvers and lock state; and buttons
 * that run chat commands through the normal pipeline. Details (per-object errors, Helm error
 * text) go in thread replies built by `detailMessage`.
 */
import type { SyncObjectResult } from "../../core/events.js";
import {
  type Action,
  type Block,
  b,
  code,
  type Message,
  type RichText,
  type Severity,
  t,
} from "../../core/message.js";
import type { Lock } from "../../core/release.js";
import { type DetailKind, HELM_ERROR_PHASES, type View, viewSeverity } from "../state.js";
import { chartText } from "./fluxcloud.js";
import type { CommitLinker } from "./links.js";

export interface RichOptions {
  linker: CommitLinker;
  /** Environment order (e.g. dev, stg, prod): the "Promote to next env" button targets the next one. */
  envOrder?: string[];
  /** Current lock of an app in an env, when the caller knows it (release model). */
  lockOf?: (env: string, app: string) => Lock | undefined;
  /**
   * Whether a reconciler reports on commits here (a sync runs). Default true; false: a commit's
   * message does not say "waiting for sync", since no sync will come (issue #11).
   */
  awaitsSync?: boolean;
}

/** Maximum failed objects listed in one detail reply (the rest are counted). */
export const MAX_ERROR_OBJECTS = 20;

const VERB: Record<string, string> = {
  promote: "Promoted",
  release: "Released",
  rollback: "Rolled back",
  lock: "Locked",
  unlock: "Unlocked",
  automate: "Automated",
  deautomate: "Deautomated",
  policy: "Policy changed for",
};

function tagChange(v: View): { image?: string; from?: string; to: string } | undefined {
  const o = v.origin;
  if (o?.kind === "auto-release") return { image: o.image, from: o.from, to: o.to };
  const c = o?.kind === "command-commit" ? o.changes[0] : undefined;
  return c ? { image: c.image, from: c.from, to: c.to } : undefined;
}

function where(v: View): RichText {
  if (v.mixed) return [b("changes")];
  const out: RichText = [b(v.app ?? "changes")];
  if (v.env) out.push(t(" in "), b(v.env));
  return out;
}

function title(v: View): RichText {
  if (v.kind === "reconciler") {
    const r = v.reconciler;
    const state = r?.state === "recovered" ? "recovered" : r?.state === "stalled" ? "stalled" : "failing";
    return [
      t(`${r?.reconciler ?? "Reconciler"} reconciler ${state}`),
      ...(v.app || v.env ? [t(" for "), ...where(v)] : []),
    ];
  }
  const o = v.origin;
  const change = tagChange(v);
  if (o?.kind === "auto-release") {
    return [t("Automated release of "), ...where(v), t(": "), code(o.from), t(" → "), code(o.to)];
  }
  if (o?.kind === "command-commit") {
    const head: RichText = [t(`${VERB[o.action] ?? o.action} `), ...where(v)];
    if (change && (o.action === "promote" || o.action === "release" || o.action === "rollback")) {
      head.push(t(": "));
      if (change.from) head.push(code(change.from), t(" → "));
      head.push(code(change.to));
    }
    return head;
  }
  if (v.sync) return [t("Applied changes to cluster "), b(v.cluster)];
  if (v.helm) return [t("Helm release "), b(v.helm.release), t(` ${v.helm.phase}`)];
  return [t("Changes in cluster "), b(v.cluster)];
}

const countBy = (objs: SyncObjectResult[], action: SyncObjectResult["action"]) =>
  objs.filter((o) => o.action === action).length;

/** One-line progress: committed -> synced -> Helm. */
function status(v: View, awaitsSync: boolean): RichText {
  const parts: string[] = [];
  if (v.origin) parts.push(`committed ${v.origin.commit.sha.slice(0, 7)}`);
  if (v.sync) {
    const o = v.sync.objects;
    const n = [
      ["created", countBy(o, "created")],
      ["configured", countBy(o, "configured")],
      ["pruned", countBy(o, "pruned")],
      ["failed", countBy(o, "failed")],
    ]
      .filter(([, c]) => (c as number) > 0)
      .map(([k, c]) => `${c} ${k}`);
    const state =
      countBy(o, "failed") > 0 ? "sync failed" : v.sync.recovered ? "synced (recovered)" : "synced";
    parts.push(n.length > 0 ? `${state}: ${n.join(", ")}` : `${state}: no changes`);
  } else if (v.origin && awaitsSync) parts.push("waiting for sync");
  const helms = v.helms ?? [];
  if (helms.length > 1) {
    const byPhase = new Map<string, number>();
    for (const h of helms) byPhase.set(h.phase, (byPhase.get(h.phase) ?? 0) + 1);
    parts.push(`Helm: ${[...byPhase].map(([phase, n]) => `${n} ${phase}`).join(", ")}`);
  } else if (v.helm)
    parts.push(
      `Helm ${v.helm.phase}${v.helm.revision !== undefined ? ` (revision ${v.helm.revision})` : ""}`,
    );
  return [t(parts.join(" → "))];
}

/** Lock state as far as the view (or the caller's release model) tells; undefined when unknown. */
function lockState(v: View, opts: RichOptions): { locked: boolean; text: RichText } | undefined {
  const o = v.origin;
  if (o?.kind === "command-commit" && o.action === "unlock") return { locked: false, text: [t("unlocked")] };
  let lock: Lock | undefined;
  if (o?.kind === "command-commit" && (o.locked || o.action === "lock"))
    lock = { ...o.locked, user: o.locked?.user ?? o.actor };
  else if (v.env && v.app && opts.lockOf) lock = opts.lockOf(v.env, v.app);
  if (!lock) return undefined;
  const text: RichText = [t("🔒 locked")];
  if (lock.user) text.push(t(" by "), b(lock.user));
  if (lock.message) text.push(t(`: ${lock.message}`));
  return { locked: true, text };
}

function facts(v: View, opts: RichOptions): { label: string; value: RichText }[] {
  const f: { label: string; value: RichText }[] = [];
  if (v.env && !v.mixed) f.push({ label: "Env", value: [t(v.env)] });
  if (v.app && !v.mixed) f.push({ label: "App", value: [t(v.app)] });
  const change = tagChange(v);
  if (change) {
    const value: RichText = change.from ? [code(change.from), t(" → "), code(change.to)] : [code(change.to)];
    f.push({ label: "Tag", value });
  }
  const helms = v.helms ?? (v.helm ? [v.helm] : []);
  if (helms.length > 1) {
    // One commit, several releases (a seed commit, an auto-release of several images): one line each.
    for (const h of helms) f.push({ label: "Helm", value: [t(helmLine(h, true))] });
  } else if (v.helm) {
    const chart = chartText(v.helm, "");
    if (chart) f.push({ label: "Chart", value: [t(chart)] });
    for (const i of v.helm.images ?? []) {
      if (change && change.to === i.to) continue;
      const tags = i.from ? [code(i.from), t(" → "), code(i.to)] : [code(i.to)];
      f.push({ label: "Image", value: [t(`${i.image} `), ...tags] });
    }
    f.push({ label: "Helm", value: [t(helmLine(v.helm, false))] });
  }
  const o = v.origin;
  if (o?.kind === "auto-release")
    f.push({ label: "Triggered by", value: [t("image automation, policy "), code(o.policy)] });
  if (o?.kind === "command-commit") {
    f.push({ label: "Triggered by", value: [t(`${o.actor} (${o.action})`)] });
    if (o.approvers.length > 0) f.push({ label: "Approved by", value: [t(o.approvers.join(", "))] });
    if (o.action === "policy" && o.policy) f.push({ label: "Policy", value: [code(o.policy)] });
    if (o.message) f.push({ label: "Message", value: [t(o.message)] });
  }
  const lock = lockState(v, opts);
  if (lock) f.push({ label: "Lock", value: lock.text });
  // The subject says what a commit without image changes did (`policy chart-image semver:~0.4`).
  const commit =
    v.origin?.commit ??
    (v.sync ? v.sync.commits.find((c) => c.sha === v.sync?.toRevision) : undefined) ??
    v.helm?.commit;
  const sha = commit?.sha ?? v.sync?.toRevision;
  if (sha)
    f.push({
      label: "Commit",
      value: [opts.linker.span(sha), ...(commit?.subject ? [t(` ${commit.subject}`)] : [])],
    });
  f.push({ label: "Cluster", value: [t(v.cluster)] });
  return f;
}

/** `podinfo-dev: deployed (revision 2)`; with `where`, also the namespace and chart. */
function helmLine(h: NonNullable<View["helm"]>, where: boolean): string {
  const rev = h.revision !== undefined ? ` (revision ${h.revision})` : "";
  const chart = where ? chartText(h, ", chart ") : "";
  return `${h.release}${where ? ` in ${h.namespace}` : ""}: ${h.phase}${rev}${chart}`;
}

function nextEnv(v: View, opts: RichOptions): string | undefined {
  if (!v.env || !opts.envOrder) return undefined;
  const i = opts.envOrder.indexOf(v.env);
  return i >= 0 ? opts.envOrder[i + 1] : undefined;
}

/** Buttons; each runs a chat command, re-authorized at click time. */
function actions(v: View, opts: RichOptions): Action[] {
  if (!v.env || !v.app || v.mixed || v.kind !== "release") return [];
  const { env, app } = v;
  const out: Action[] = [];
  const o = v.origin;
  const released =
    o?.kind === "auto-release" ||
    (o?.kind === "command-commit" && ["promote", "release", "rollback"].includes(o.action)) ||
    v.helm !== undefined;
  if (released) out.push({ label: "Rollback", command: `rollback ${app} ${env}`, style: "danger" });
  const locked = lockState(v, opts)?.locked === true;
  out.push(
    locked
      ? { label: "Unlock", command: `unlock ${app} ${env}` }
      : { label: "Lock", command: `lock ${app} ${env}` },
  );
  const next = nextEnv(v, opts);
  const failed = viewSeverity(v) === "error";
  if (next && released && !failed)
    out.push({ label: `Promote to ${next}`, command: `promote ${app} ${env} ${next}`, style: "primary" });
  if (next) out.push({ label: "View diff", command: `diff ${app} ${env} ${next}` });
  return out;
}

/** The root message of a view (release or reconciler), re-rendered on every change. */
export function richMessage(v: View, opts: RichOptions): Message {
  const blocks: Block[] = [];
  const severity = viewSeverity(v);
  if (v.kind === "reconciler" && v.reconciler) {
    const r = v.reconciler;
    if (r.state === "recovered")
      blocks.push({
        kind: "text",
        text: [t("Recovered"), ...(v.failedSince ? [t(` (failing since ${v.failedSince})`)] : [])],
      });
    else blocks.push({ kind: "code", text: r.message });
    const f = [
      ...(v.env ? [{ label: "Env", value: [t(v.env)] }] : []),
      ...(v.app ? [{ label: "App", value: [t(v.app)] }] : []),
      { label: "Cluster", value: [t(v.cluster)] },
    ];
    blocks.push({ kind: "facts", facts: f });
  } else {
    blocks.push({ kind: "text", text: status(v, opts.awaitsSync !== false) });
    blocks.push({ kind: "facts", facts: facts(v, opts) });
    const failed = v.sync?.objects.filter((o) => o.action === "failed") ?? [];
    if (failed.length > 0)
      blocks.push({
        kind: "text",
        text: [
          b(`${failed.length} object(s) failed to apply`),
          t(": "),
          t(
            failed
              .slice(0, 5)
              .map((o) => o.id)
              .join(", "),
          ),
          t(failed.length > 5 ? ", …" : ""),
        ],
      });
    if (v.helm?.error && HELM_ERROR_PHASES.has(v.helm.phase)) {
      blocks.push({ kind: "text", text: [b("Helm error"), t(": "), t(firstLine(v.helm.error))] });
    }
    const acts = actions(v, opts);
    if (acts.length > 0) blocks.push({ kind: "actions", actions: acts });
  }
  blocks.push({
    kind: "context",
    text: [t(`cluster ${v.cluster} · ref ${v.correlationId.slice(0, 12)} · ${v.eventCount} event(s)`)],
  });
  const ttl = title(v);
  return {
    title: ttl,
    severity,
    blocks,
    fallbackText: `${ttl.map((s) => ("text" in s ? s.text : "")).join("")} (${severity})`,
    updateKey: v.key,
  };
}

function firstLine(s: string): string {
  const line = s.split("\n")[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/** A thread reply with details: every failed object with its file and error, or the Helm error text. */
export function detailMessage(v: View, detail: DetailKind): Message {
  const blocks: Block[] = [];
  if (detail === "sync-errors") {
    const failed = v.sync?.objects.filter((o) => o.action === "failed") ?? [];
    for (const o of failed.slice(0, MAX_ERROR_OBJECTS)) {
      blocks.push({ kind: "text", text: [t("Resource "), b(o.id), t(", file: "), code(o.file)] });
      blocks.push({ kind: "code", text: o.error ?? "failed" });
    }
    if (failed.length > MAX_ERROR_OBJECTS)
      blocks.push({ kind: "context", text: [t(`… and ${failed.length - MAX_ERROR_OBJECTS} more`)] });
    return {
      title: [t("Sync errors")],
      severity: "error",
      blocks,
      fallbackText: `Sync errors: ${failed.length} object(s) failed`,
      updateKey: `${v.key}:sync-errors`,
      threadKey: v.key,
    };
  }
  const h = v.helm;
  blocks.push({ kind: "code", text: h?.error ?? "" });
  return {
    title: [t("Helm "), b(h?.release ?? "release"), t(` ${h?.phase ?? "failed"}`)],
    severity: "error",
    blocks,
    fallbackText: `Helm ${h?.release ?? ""} ${h?.phase ?? ""}`,
    updateKey: `${v.key}:helm-error`,
    threadKey: v.key,
  };
}

const SEVERITY_ORDER: Severity[] = ["info", "success", "warning", "error"];

/** Short status of one release for a digest row. */
function shortStatus(v: View): string {
  if (v.kind === "reconciler") return v.reconciler?.state ?? "";
  if (v.helm)
    return `Helm ${v.helm.phase}${v.helm.revision !== undefined ? ` (revision ${v.helm.revision})` : ""}`;
  if (v.sync) return v.sync.objects.some((o) => o.action === "failed") ? "sync failed" : "synced";
  return "committed";
}

/**
 * Several releases in one message (the router's overload valve for bursts): a table with each
 * release's tag change and current status, updated in place; colour = the worst outcome.
 */
export function digestMessage(key: string, views: View[], linker: CommitLinker): Message {
  let severity: Severity = "info";
  for (const v of views) {
    const sev = viewSeverity(v);
    if (SEVERITY_ORDER.indexOf(sev) > SEVERITY_ORDER.indexOf(severity)) severity = sev;
  }
  const cluster = views[0]?.cluster ?? "";
  const rows: RichText[][] = views.map((v) => {
    const change = tagChange(v);
    const sha = v.origin?.commit.sha ?? v.sync?.toRevision;
    return [
      [t(v.app ?? v.reconciler?.reconciler ?? "changes")],
      [t(v.env ?? "")],
      change ? [t(`${change.from ? `${change.from} → ` : ""}${change.to}`)] : [t("")],
      [t(shortStatus(v))],
      sha ? [linker.span(sha)] : [t("")],
    ];
  });
  const failed = views.filter((v) => viewSeverity(v) === "error").length;
  return {
    title: [
      t(`${views.length} releases in cluster `),
      b(cluster),
      ...(failed > 0 ? [t(`: ${failed} failed`)] : []),
    ],
    severity,
    blocks: [
      { kind: "table", columns: ["App", "Env", "Tag", "Status", "Commit"], rows },
      {
        kind: "context",
        text: [t("Many changes at once: grouped in one message that is updated as they progress.")],
      },
    ],
    fallbackText: `${views.length} releases in cluster ${cluster}${failed > 0 ? `, ${failed} failed` : ""}`,
    updateKey: key,
  };
}

/** Failure details of the releases in a digest: one reply under it. */
export function digestDetailsMessage(key: string, views: View[]): Message {
  const blocks: Block[] = [];
  for (const v of views) {
    for (const o of v.sync?.objects.filter((x) => x.action === "failed").slice(0, 5) ?? []) {
      blocks.push({
        kind: "text",
        text: [b(`${v.app ?? ""} ${v.env ?? ""}`), t(": resource "), b(o.id), t(", file: "), code(o.file)],
      });
      blocks.push({ kind: "code", text: o.error ?? "failed" });
    }
    if (v.helm?.error && HELM_ERROR_PHASES.has(v.helm.phase)) {
      blocks.push({
        kind: "text",
        text: [b(`${v.app ?? ""} ${v.env ?? ""}`), t(`: Helm ${v.helm.release} ${v.helm.phase}`)],
      });
      blocks.push({ kind: "code", text: v.helm.error });
    }
  }
  return {
    title: [t("Errors")],
    severity: "error",
    blocks,
    fallbackText: "Errors in grouped releases",
    updateKey: `${key}:details`,
    threadKey: key,
  };
}
