/**
 * Secret redaction used by the logger, notifications and error replies. Two mechanisms:
 * - known secret values (from config: tokens, passwords, webhook secrets) are replaced wherever
 *   they appear;
 * - patterns that look like credentials are replaced even when unknown: user:pass@ in URLs,
 *   `Authorization`/`Bearer` headers, Slack tokens, `token=`/`password=` query params.
 */
const PATTERNS: [RegExp, string][] = [
  // credentials in URLs: scheme://user:pass@host
  [/([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+):([^/\s@]+)@/gi, "$1$2:***@"],
  // bare token in URL userinfo: https://TOKEN@host
  [/([a-z][a-z0-9+.-]*:\/\/)([A-Za-z0-9_-]{20,})@/gi, "$1***@"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, "$1 ***"],
  [/\bxox[abposr]-[A-Za-z0-9-]{8,}/g, "xox*-***"],
  [/\bxapp-[A-Za-z0-9-]{8,}/g, "xapp-***"],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/g, "gh*_***"],
  [/\bglpat-[A-Za-z0-9_-]{16,}/g, "glpat-***"],
  [/([?&](?:token|access_token|password|secret|sig|signature|key)=)[^&\s]+/gi, "$1***"],
];

export class Redactor {
  private readonly secrets: string[];
  constructor(secrets: Iterable<string | undefined> = []) {
    // Longest first so that a secret containing another is replaced whole.
    this.secrets = [...new Set([...secrets].filter((s): s is string => !!s && s.length >= 4))].sort(
      (a, b) => b.length - a.length,
    );
  }

  /** Returns a Redactor that also knows `more` secrets. */
  with(more: Iterable<string | undefined>): Redactor {
    return new Redactor([...this.secrets, ...more]);
  }

  /** Redacts a string. */
  text(s: string): string {
    let out = s;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join("***");
      const enc = encodeURIComponent(secret);
      if (enc !== secret && out.includes(enc)) out = out.split(enc).join("***");
    }
    for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
    return out;
  }

  /** Deeply redacts every string inside a JSON-like value (returns a copy). */
  value<T>(v: T): T {
    return this.walk(v, 0) as T;
  }

  private walk(v: unknown, depth: number): unknown {
    if (depth > 20) return v;
    if (typeof v === "string") return this.text(v);
    if (Array.isArray(v)) return v.map((x) => this.walk(x, depth + 1));
    if (v && typeof v === "object") {
      if (v instanceof Error) return this.text(`${v.name}: ${v.message}`);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        out[k] =
          /^(password|token|secret|authorization|appPassword|botToken|signingSecret|appToken|webhookSecret|identityToken)$/i.test(
            k,
          )
            ? "***"
            : this.walk(x, depth + 1);
      }
      return out;
    }
    return v;
  }
}
