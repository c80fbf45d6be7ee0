/**
 * Commit messages the bot writes (the audit log, DESIGN.md "Conventions"): a subject like
 * `[prod/podinfo] promote stg-9ij63o4c from stg`, a Flux-v1-style body
 * (`Release ghcr.io/x/podinfo:stg-9ij63o4c to prod:helmrelease/podinfo-prod`) and git trailers that
 * history and rollback read back. `readTrailers(buildTrailers(t))` returns `t` for any `t` whose
 * values have no line breaks (they are replaced by spaces when building).
 *
 * Trailers:
 * - `Gitops-Action`: promote | release | rollback | lock | unlock | automate | deautomate | policy |
 *   auto-release | freeze | unfreeze
 * - `Gitops-Env`, `Gitops-App`: the instance changed (repeated for a commit touching several); a
 *   freeze or unfreeze names only its `Gitops-Env` (it changes `.gitops-bot/freezes.yaml`)
 * - `Gitops-From` / `Gitops-To`: the version before and after (main image tag), when it changed
 * - `Gitops-Source-Env`: the env a promotion copied from
 * - `Gitops-Image`: `<container>=<repository>:<tag>`, one per changed image
 * - `Gitops-Change`: `<env>/<app> <container>: <old> -> <new> (<file>)`, one per auto-release change
 * - `Gitops-Chart`: the chart version or ref set, when it changed
 * - `Requested-By`: `slack:U123 (alice)`; `Approved-By`: the same form, one per approver
 */

/** A platform-qualified person as written in trailers. */
export interface TrailerActor {
  id: string;
  name?: string;
}

export interface GitopsTrailers {
  action?: string;
  envs: string[];
  apps: string[];
  from?: string;
  to?: string;
  sourceEnv?: string;
  images: { container: string; image: string }[];
  chart?: string;
  requestedBy?: TrailerActor;
  approvedBy: TrailerActor[];
  /** Trailers that are not ours, in order. */
  other: [string, string][];
}

/** An empty trailer set, to fill in. */
export function emptyTrailers(): GitopsTrailers {
  return { envs: [], apps: [], images: [], approvedBy: [], other: [] };
}

/** Makes a value safe for one trailer line: line breaks and control characters become spaces. */
export function sanitizeTrailerValue(v: string): string {
  return v.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ").trim();
}

/** `slack:U123 (alice)`; the id's whitespace becomes `_` so the id stays one word. */
export function formatActor(a: TrailerActor): string {
  const id = sanitizeTrailerValue(a.id).replace(/\s+/g, "_") || "unknown";
  const name = a.name === undefined ? "" : sanitizeTrailerValue(a.name);
  return name ? `${id} (${name})` : id;
}

/** Parses `slack:U123 (alice)` (the name is optional). */
export function parseActor(s: string): TrailerActor {
  const m = /^(\S+)(?: \((.*)\))?$/s.exec(s.trim());
  if (!m?.[1]) return { id: s.trim() };
  return m[2] !== undefined && m[2] !== "" ? { id: m[1], name: m[2] } : { id: m[1] };
}

/** The trailer pairs for `t`, in a stable order. */
export function buildTrailers(t: GitopsTrailers): [string, string][] {
  const out: [string, string][] = [];
  const add = (k: string, v: string | undefined) => {
    if (v !== undefined) out.push([k, sanitizeTrailerValue(v)]);
  };
  add("Gitops-Action", t.action);
  for (const e of t.envs) add("Gitops-Env", e);
  for (const a of t.apps) add("Gitops-App", a);
  add("Gitops-Source-Env", t.sourceEnv);
  add("Gitops-From", t.from);
  add("Gitops-To", t.to);
  for (const i of t.images) add("Gitops-Image", `${i.container}=${i.image}`);
  add("Gitops-Chart", t.chart);
  if (t.requestedBy) add("Requested-By", formatActor(t.requestedBy));
  for (const a of t.approvedBy) add("Approved-By", formatActor(a));
  for (const [k, v] of t.other) add(k, v);
  return out;
}

/** Reads our trailers back from `[key, value]` pairs (keys compared case-insensitively, as git does). */
export function readTrailers(pairs: readonly [string, string][]): GitopsTrailers {
  const t = emptyTrailers();
  for (const [rawKey, rawValue] of pairs) {
    const value = rawValue.trim();
    switch (rawKey.toLowerCase()) {
      case "gitops-action":
        t.action = value;
        break;
      case "gitops-env":
        t.envs.push(value);
        break;
      case "gitops-app":
        t.apps.push(value);
        break;
      case "gitops-source-env":
        t.sourceEnv = value;
        break;
      case "gitops-from":
        t.from = value;
        break;
      case "gitops-to":
        t.to = value;
        break;
      case "gitops-image": {
        const eq = value.indexOf("=");
        if (eq > 0) t.images.push({ container: value.slice(0, eq), image: value.slice(eq + 1) });
        break;
      }
      case "gitops-chart":
        t.chart = value;
        break;
      case "requested-by":
        t.requestedBy = parseActor(value);
        break;
      case "approved-by":
        t.approvedBy.push(parseActor(value));
        break;
      default:
        t.other.push([rawKey, value]);
    }
  }
  return t;
}

const TRAILER_LINE = /^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]*(.*)$/;

/** The trailer pairs of a full commit message: its last paragraph, when every line is `Key: value`. */
export function parseTrailerBlock(message: string): [string, string][] {
  const paragraphs = message
    .replace(/\r\n/g, "\n")
    .trimEnd()
    .split(/\n[ \t]*\n/);
  if (paragraphs.length < 2) return [];
  const last = paragraphs[paragraphs.length - 1] ?? "";
  const out: [string, string][] = [];
  for (const line of last.split("\n")) {
    const m = TRAILER_LINE.exec(line);
    if (!m?.[1]) return [];
    out.push([m[1], m[2] ?? ""]);
  }
  return out;
}

/** A full commit message: subject, blank line, body (if any), blank line, trailers (if any). */
export function formatCommitMessage(
  subject: string,
  body: string | undefined,
  trailers: readonly [string, string][],
): string {
  const parts = [sanitizeTrailerValue(subject)];
  if (body?.trim()) parts.push(body.trim());
  if (trailers.length) parts.push(trailers.map(([k, v]) => `${k}: ${sanitizeTrailerValue(v)}`).join("\n"));
  return `${parts.join("\n\n")}\n`;
}

/** `[prod/podinfo] promote stg-9ij63o4c from stg` (`[prod] freeze automation` without an app), cut
 * to 100 characters. */
export function commitSubject(env: string, app: string, text: string): string {
  const s = sanitizeTrailerValue(`[${app ? `${env}/${app}` : env}] ${text}`);
  return s.length > 100 ? `${s.slice(0, 99)}…` : s;
}

/** Flux v1's resource id: `prod:helmrelease/podinfo-prod`. */
export function resourceId(w: { namespace: string; kind: string; name: string }): string {
  return `${w.namespace}:${w.kind.toLowerCase()}/${w.name}`;
}
