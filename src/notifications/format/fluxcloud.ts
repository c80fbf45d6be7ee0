/**
 * fluxcloud-compatible layout (REFERENCE.md §4): title `Applied flux changes to cluster` linked
 * to the commit, an `Event:` line, `Commits:` with linked short SHAs, `Resources updated:` and
 * `Errors:`. Title and body are `{placeholder}` templates; the commit link template applies to
 * every link. Built from a view, so an automated release and the sync that applies it are one
 * message (fluxcloud posted two).
 */
import type { SyncObjectResult } from "../../core/events.js";
import { type Block, b, type Message, type RichText, t } from "../../core/message.js";
import { HELM_ERROR_PHASES, type View, viewSeverity } from "../state.js";
import { type CommitLinker, fill, fillRich, paragraphs } from "./links.js";

export const FLUXCLOUD_TITLE = "Applied flux changes to cluster";

export interface FluxcloudTemplates {
  /** Plain text with placeholders `{cluster} {env} {app} {event} {sha} {shortSha}`. */
  title?: string;
  /** Text with placeholders `{event} {commits} {resources} {errors} {helm} {cluster} {env} {app}`;
   * blank lines separate paragraphs. Unset: the fluxcloud layout. */
  body?: string;
}

const changed = (o: SyncObjectResult) =>
  o.action === "created" || o.action === "configured" || o.action === "pruned";

function ids(v: View): string[] {
  const fromSync = v.sync?.objects.filter((o) => changed(o) || o.action === "failed").map((o) => o.id) ?? [];
  if (fromSync.length > 0) return fromSync;
  if (v.origin?.kind === "auto-release") return [v.origin.workload];
  if (v.env && v.app) return [`${v.env}:${v.app}`];
  return [];
}

/** The fluxcloud `Event:` string for a view. */
export function fluxcloudEvent(v: View): string {
  const list = ids(v).join(", ");
  const o = v.origin;
  if (o?.kind === "auto-release") return `Automated release of ${o.image}:${o.to}`;
  if (o?.kind === "command-commit") {
    if (
      (o.action === "release" || o.action === "promote" || o.action === "rollback") &&
      o.changes.length > 0
    ) {
      const imgs = o.changes.map((c) => `${c.image}:${c.to}`).join(", ");
      const msg = o.message ? `, with message "${o.message}"` : "";
      return `Released: ${imgs} to ${list}, by ${o.actor}${msg}`;
    }
    return `Commit: ${o.commit.sha.slice(0, 7)}, ${list}`;
  }
  if (v.sync) {
    const rev = v.sync.fromRevision
      ? `${v.sync.fromRevision.slice(0, 7)}..${v.sync.toRevision.slice(0, 7)}`
      : v.sync.toRevision.slice(0, 7);
    return `Sync: ${rev}, ${list}`;
  }
  if (v.helm) return `Helm: ${v.helm.namespace}:helmrelease/${v.helm.release} ${v.helm.phase}`;
  if (v.reconciler) return `Reconciler ${v.reconciler.reconciler}: ${v.reconciler.state}`;
  return "";
}

function headSha(v: View): string | undefined {
  return (
    v.origin?.commit.sha ??
    v.sync?.toRevision ??
    (/^[0-9a-f]{7,40}$/.test(v.correlationId) ? v.correlationId : undefined)
  );
}

function commitsOf(v: View) {
  if (v.sync && v.sync.commits.length > 0) return v.sync.commits;
  return v.origin ? [v.origin.commit] : [];
}

function bullets(lines: RichText[]): RichText {
  return lines.flatMap((l, n) => [t(n === 0 ? "* " : "\n* "), ...l]);
}

/** `podinfo 6.5.0 (git 1a2b3c4d5e6f)`; empty when the event names no chart. */
export function chartText(h: NonNullable<View["helm"]>, prefix: string): string {
  const parts = [h.chart, h.chartVersion].filter(Boolean).join(" ");
  const digest = h.chartDigest ? `git ${h.chartDigest.slice(0, 12)}` : "";
  if (!parts && !digest) return "";
  return `${prefix}${parts}${parts && digest ? ` (${digest})` : digest}`;
}

function helmLine(v: View): string | undefined {
  const h = v.helm;
  if (!h) return undefined;
  const rev = h.revision !== undefined ? `, revision ${h.revision}` : "";
  return `Helm: ${h.namespace}:helmrelease/${h.release} ${h.phase}${rev}${chartText(h, ", chart ")}`;
}

interface ErrorItem {
  head: string;
  text: string;
}

function errorsOf(v: View): ErrorItem[] {
  const out: ErrorItem[] = (v.sync?.objects ?? [])
    .filter((o) => o.action === "failed")
    .map((o) => ({ head: `Resource ${o.id}, file: ${o.file}:`, text: o.error ?? "failed" }));
  if (v.helm?.error && HELM_ERROR_PHASES.has(v.helm.phase)) {
    out.push({ head: `Resource ${v.helm.namespace}:helmrelease/${v.helm.release}:`, text: v.helm.error });
  }
  if (v.reconciler && v.reconciler.state !== "recovered")
    out.push({ head: `Reconciler ${v.reconciler.reconciler}:`, text: v.reconciler.message });
  return out;
}

/** Builds the fluxcloud-style message for a view. */
export function fluxcloudMessage(v: View, linker: CommitLinker, templates: FluxcloudTemplates = {}): Message {
  const sha = headSha(v);
  const vars = {
    cluster: v.cluster,
    env: v.env,
    app: v.app,
    event: fluxcloudEvent(v),
    sha,
    shortSha: sha?.slice(0, 7),
  };
  const titleText = fill(templates.title ?? FLUXCLOUD_TITLE, vars);
  const titleUrl = sha ? linker.url(sha) : undefined;
  const title: RichText = titleUrl ? [{ kind: "link", text: titleText, url: titleUrl }] : [b(titleText)];

  const commits = commitsOf(v).map((c) => [linker.span(c.sha), t(`: ${c.subject}`)]);
  const resources = (v.sync?.objects.filter(changed) ?? []).map((o) => [t(o.id)]);
  const errors = errorsOf(v);
  const helm = helmLine(v);

  const blocks: Block[] = [];
  if (templates.body !== undefined) {
    const rich = fillRich(templates.body, {
      cluster: [t(v.cluster)],
      env: [t(v.env ?? "")],
      app: [t(v.app ?? "")],
      event: [t(vars.event)],
      commits: bullets(commits),
      resources: bullets(resources),
      errors: [t(errors.map((e) => `${e.head}\n\n${e.text.replace(/^/gm, "> ")}`).join("\n\n"))],
      helm: [t(helm ?? "")],
    });
    for (const p of paragraphs(rich)) blocks.push({ kind: "text", text: p });
  } else {
    blocks.push({ kind: "text", text: [t(`Event: ${vars.event}`)] });
    if (helm) blocks.push({ kind: "text", text: [t(helm)] });
    if (commits.length > 0) blocks.push({ kind: "text", text: [t("Commits:\n\n"), ...bullets(commits)] });
    if (resources.length > 0)
      blocks.push({ kind: "text", text: [t("Resources updated:\n\n"), ...bullets(resources)] });
    if (errors.length > 0) {
      blocks.push({ kind: "text", text: [t("Errors:")] });
      for (const e of errors) {
        blocks.push({ kind: "text", text: [t(e.head)] });
        blocks.push({ kind: "code", text: e.text });
      }
    }
  }
  const fallback = `${titleText}: ${vars.event}`;
  return { title, severity: viewSeverity(v), blocks, fallbackText: fallback, updateKey: v.key };
}
