/**
 * The bearer token request of the distribution auth flow: a GET to the challenge's realm (with Basic
 * credentials when configured) or, with an identity token, the OAuth2 refresh-token POST. Credentials
 * are only sent to an HTTPS realm (or loopback / an `insecure` registry) and never appear in errors.
 */
import { StalledError, TransientError } from "../core/errors.js";
import { isLoopbackHost } from "./client.js";
import type { RegistryCredentials } from "./docker-config.js";
import { reason } from "./responses.js";

/** What the token request needs of the registry host it is for. */
export interface TokenContext {
  /** The registry host as configured (for messages and the `insecure` rule). */
  host: string;
  insecure?: boolean;
  fetch: typeof fetch;
  timeoutMs?: number;
}

export async function requestToken(
  ctx: TokenContext,
  realm: string,
  service: string | undefined,
  scope: string,
  creds: RegistryCredentials | undefined,
): Promise<{ token: string; expiresIn?: number }> {
  const u = new URL(realm);
  if (u.protocol !== "https:" && !(u.protocol === "http:" && (isLoopbackHost(u.host) || ctx.insecure))) {
    throw new StalledError(
      `${ctx.host}: the token realm ${u.origin} is not HTTPS; credentials are not sent there`,
    );
  }
  let res: Response;
  try {
    if (creds?.identityToken) {
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: creds.identityToken,
        client_id: "gitops-bot",
        ...(service ? { service } : {}),
        ...(scope ? { scope } : {}),
      });
      res = await ctx.fetch(u, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form,
        signal: AbortSignal.timeout(ctx.timeoutMs ?? 30_000),
      });
    } else {
      if (service) u.searchParams.set("service", service);
      if (scope) u.searchParams.set("scope", scope);
      const headers: Record<string, string> = {};
      if (creds?.username !== undefined && creds.password !== undefined) {
        headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
      }
      res = await ctx.fetch(u, { headers, signal: AbortSignal.timeout(ctx.timeoutMs ?? 30_000) });
    }
  } catch (err) {
    throw new TransientError(`${ctx.host}: the token service ${u.origin} did not answer (${reason(err)})`, {
      cause: err,
    });
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw new StalledError(`${ctx.host}: the token service refused the credentials (HTTP ${res.status})`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new TransientError(`${ctx.host}: the token service answered HTTP ${res.status}`);
  }
  const body = (await res.json().catch(() => ({}))) as {
    token?: unknown;
    access_token?: unknown;
    expires_in?: unknown;
  };
  const token = typeof body.token === "string" ? body.token : body.access_token;
  if (typeof token !== "string" || token.length === 0) {
    throw new TransientError(`${ctx.host}: the token service sent no token`);
  }
  return { token, ...(typeof body.expires_in === "number" ? { expiresIn: body.expires_in } : {}) };
}
