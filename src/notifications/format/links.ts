/**
 * Commit links and `{placeholder}` templates for notification messages.
 *
 * The commit link template (default `{repoUrl}/commit/{sha}`, fluxcloud's `{VCSLink}/commit/{sha}`)
 * is applied to every commit link a message contains: the title, the commit list and the facts.
 */
import type { RichText, Span } from "../../core/message.js";

/** Default commit link: GitHub and GitLab (which redirects `/commit/` to `/-/commit/`). */
export const DEFAULT_COMMIT_LINK = "{repoUrl}/commit/{sha}";
/** Bitbucket Cloud spells it `/commits/`. */
export const BITBUCKET_COMMIT_LINK = "{repoUrl}/commits/{sha}";

/**
 * A browsable https URL for a repo URL as configured: credentials removed (they must never reach
 * a message), `.git` dropped, `git@host:org/repo` turned into `https://host/org/repo`.
 * Returns undefined for local paths (no links then).
 */
export function browsableRepoUrl(repoUrl: string | undefined): string | undefined {
  if (!repoUrl) return undefined;
  let u = repoUrl.trim();
  const scp = /^(?:ssh:\/\/)?[^@/\s]+@([^:/\s]+)[:/](.+)$/.exec(u);
  if (scp && !/^https?:/i.test(u)) u = `https://${scp[1]}/${scp[2]}`;
  if (!/^https?:\/\//i.test(u)) return undefined;
  try {
    const url = new URL(u);
    url.username = "";
    url.password = "";
    url.search = "";
    url.hash = "";
    return url
      .toString()
      .replace(/\/+$/, "")
      .replace(/\.git$/, "");
  } catch {
    return undefined;
  }
}

/** Picks the commit link template: the configured one, else by host (Bitbucket differs). */
export function commitLinkTemplate(configured: string | undefined, repoUrl: string | undefined): string {
  if (configured) return configured;
  return repoUrl && /bitbucket\.org/i.test(repoUrl) ? BITBUCKET_COMMIT_LINK : DEFAULT_COMMIT_LINK;
}

/** Fills `{name}` placeholders from `vars`; unknown placeholders are left as written. */
export function fill(template: string, vars: Record<string, string | undefined>): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (m, name: string) => vars[name] ?? m);
}

/** Builds commit links for one message. */
export class CommitLinker {
  readonly repoUrl: string | undefined;
  private readonly template: string;
  constructor(repoUrl: string | undefined, template?: string) {
    this.repoUrl = browsableRepoUrl(repoUrl);
    this.template = commitLinkTemplate(template, this.repoUrl);
  }

  /** URL of a commit, or undefined when there is no browsable repo URL. */
  url(sha: string): string | undefined {
    if (!this.repoUrl && this.template.includes("{repoUrl}")) return undefined;
    return fill(this.template, { repoUrl: this.repoUrl, sha, shortSha: sha.slice(0, 7) });
  }

  /** A span showing the short SHA, linked when possible. */
  span(sha: string, text = sha.slice(0, 7)): Span {
    const url = this.url(sha);
    return url ? { kind: "link", text, url } : { kind: "code", text };
  }
}

/**
 * Expands a template into rich text: literal parts become text spans, `{name}` placeholders are
 * replaced by `vars[name]` (rich text, so links survive). Unknown placeholders stay literal.
 */
export function fillRich(template: string, vars: Record<string, RichText>): RichText {
  const out: RichText = [];
  let last = 0;
  for (const m of template.matchAll(/\{([A-Za-z]+)\}/g)) {
    const value = vars[m[1] ?? ""];
    if (!value) continue;
    if (m.index > last) out.push({ kind: "text", text: template.slice(last, m.index) });
    out.push(...value);
    last = m.index + m[0].length;
  }
  if (last < template.length) out.push({ kind: "text", text: template.slice(last) });
  return out;
}

/** Splits rich text into paragraphs at blank lines (one text block each, so each fits a platform's limit). */
export function paragraphs(text: RichText): RichText[] {
  const out: RichText[] = [[]];
  for (const s of text) {
    if (s.kind !== "text" || !s.text.includes("\n\n")) {
      out[out.length - 1]?.push(s);
      continue;
    }
    const parts = s.text.split(/\n{2,}/);
    parts.forEach((p, idx) => {
      if (idx > 0) out.push([]);
      if (p !== "") out[out.length - 1]?.push({ kind: "text", text: p });
    });
  }
  return out.filter((p) => p.some((s) => s.kind !== "text" || s.text.trim() !== ""));
}
