/**
 * Registry credentials from a Docker `config.json` (a mounted `kubernetes.io/dockerconfigjson`
 * Secret, or `~/.docker/config.json`): `auths[host].auth` (base64 `user:password`, the password may
 * contain `:`), `username`/`password`, `identitytoken` (an OAuth refresh token), the legacy
 * `.dockercfg` form without the `auths` wrapper, and URL keys reduced to their host
 * (`https://index.docker.io/v1/` is docker.io). Credential helpers (`credsStore`, `credHelpers`)
 * would mean running a program per registry; they are reported as unsupported, not run.
 */

/** Credentials for one registry host. */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** A registry token used as `Authorization: Bearer` directly. */
  token?: string;
  /** An OAuth refresh token (`identitytoken`), exchanged at the token realm. */
  identityToken?: string;
}

/** The host a config key names: `https://index.docker.io/v1/` -> `docker.io`, `ghcr.io/v2` -> `ghcr.io`. */
export function hostOfKey(key: string): string {
  let host = key.replace(/^[a-z]+:\/\//i, "");
  host = host.split("/")[0] ?? host;
  host = host.toLowerCase();
  if (host === "index.docker.io" || host === "registry-1.docker.io" || host === "registry.hub.docker.com") {
    return "docker.io";
  }
  return host;
}

/** The credentials in a config.json text, by host. Throws a message naming what is wrong. */
export function parseDockerConfig(text: string, source = "config.json"): Map<string, RegistryCredentials> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${source} is not valid JSON`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new Error(`${source} is not a JSON object`);
  const obj = raw as Record<string, unknown>;
  const auths = (obj.auths && typeof obj.auths === "object" ? obj.auths : obj) as Record<string, unknown>;
  const out = new Map<string, RegistryCredentials>();
  for (const [key, value] of Object.entries(auths)) {
    if (key === "credsStore" || key === "credHelpers" || key === "HttpHeaders") continue;
    if (!value || typeof value !== "object") continue;
    const entry = value as Record<string, unknown>;
    const creds: RegistryCredentials = {};
    if (typeof entry.auth === "string" && entry.auth.length > 0) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const i = decoded.indexOf(":");
      if (i < 0) throw new Error(`${source}: the auth of ${hostOfKey(key)} is not base64 "user:password"`);
      creds.username = decoded.slice(0, i);
      creds.password = decoded.slice(i + 1);
    } else {
      if (typeof entry.username === "string") creds.username = entry.username;
      if (typeof entry.password === "string") creds.password = entry.password;
    }
    if (typeof entry.identitytoken === "string" && entry.identitytoken)
      creds.identityToken = entry.identitytoken;
    if (typeof entry.registrytoken === "string" && entry.registrytoken) creds.token = entry.registrytoken;
    if (Object.keys(creds).length > 0) out.set(hostOfKey(key), creds);
  }
  return out;
}

/** Whether the config delegates to credential helpers, which are not run (for a warning). */
export function usesCredentialHelpers(text: string): boolean {
  try {
    const obj = JSON.parse(text) as Record<string, unknown>;
    return Boolean(obj.credsStore) || Boolean(obj.credHelpers && Object.keys(obj.credHelpers).length > 0);
  } catch {
    return false;
  }
}
