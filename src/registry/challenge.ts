/**
 * Registry authentication (distribution's token spec): parsing `WWW-Authenticate` challenges and
 * keeping bearer tokens per (realm, service, scope) until shortly before they expire.
 */

/** A parsed `WWW-Authenticate` header. */
export interface Challenge {
  scheme: "bearer" | "basic";
  params: Record<string, string>;
}

/**
 * Parses `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull"`
 * and `Basic realm="…"`. Quoted values may contain commas and escaped quotes. Unknown schemes: undefined.
 */
export function parseChallenge(header: string | null | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = (m[1] ?? "").toLowerCase();
  if (scheme !== "bearer" && scheme !== "basic") return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = m[2] ?? "";
  re.lastIndex = 0;
  while (re.lastIndex < rest.length) {
    const p = re.exec(rest);
    if (p === null) break;
    const key = (p[1] ?? "").toLowerCase();
    params[key] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
  }
  return { scheme, params };
}

interface Cached {
  token: string;
  expiresAt: number;
}

/** Bearer tokens per realm/service/scope, dropped 10 s before they expire (default lifetime 60 s). */
export class TokenCache {
  private readonly tokens = new Map<string, Cached>();

  constructor(private readonly now: () => number = Date.now) {}

  static key(realm: string, service: string | undefined, scope: string): string {
    return `${realm}\u0000${service ?? ""}\u0000${scope}`;
  }

  get(key: string): string | undefined {
    const c = this.tokens.get(key);
    if (!c) return undefined;
    if (c.expiresAt <= this.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return c.token;
  }

  set(key: string, token: string, expiresInS: number | undefined): void {
    const life = Math.max(expiresInS && expiresInS > 0 ? expiresInS : 60, 20);
    this.tokens.set(key, { token, expiresAt: this.now() + (life - 10) * 1000 });
  }

  delete(key: string): void {
    this.tokens.delete(key);
  }
}
