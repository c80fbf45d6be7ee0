/** Helpers for registry answers: errors named after the repository, JSON bodies, paging links,
 * image times and the platform child of an index. */
import { StalledError, TransientError } from "../core/errors.js";
import type { Platform, RepositoryRef } from "./client.js";

export interface Descriptor {
  digest?: string;
  mediaType?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
}
export interface Manifest {
  mediaType?: string;
  manifests?: Descriptor[];
  config?: { digest?: string };
  annotations?: Record<string, string>;
}

export function pickPlatform(list: Descriptor[], want: Platform): string | undefined {
  const real = list.filter(
    (d) => d.digest && d.platform?.os !== "unknown" && d.platform?.architecture !== "unknown",
  );
  const exact = real.find(
    (d) =>
      d.platform?.os === want.os &&
      d.platform.architecture === want.architecture &&
      (want.variant === undefined || d.platform.variant === want.variant),
  );
  return exact?.digest;
}

export function fmt(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

export function name(repo: RepositoryRef): string {
  return `${repo.host}/${repo.path}`;
}

export function reason(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string }; message?: string };
  if (e?.name === "TimeoutError") return "timed out";
  return e?.cause?.code ?? e?.message ?? String(err);
}

export async function expectOk(res: Response, repo: RepositoryRef, what: string): Promise<void> {
  if (res.ok) return;
  await res.body?.cancel();
  if (res.status === 403)
    throw new StalledError(
      `${name(repo)}: the registry forbids ${what} (403); check the credentials' access`,
    );
  if (res.status >= 500)
    throw new TransientError(`${name(repo)}: the registry failed to ${what} (HTTP ${res.status})`);
  throw new StalledError(`${name(repo)}: could not ${what} (HTTP ${res.status})`);
}

export async function json(res: Response, repo: RepositoryRef, what: string): Promise<unknown> {
  const text = await res.text();
  try {
    const v: unknown = JSON.parse(text);
    if (!v || typeof v !== "object") throw new Error("not an object");
    return v;
  } catch {
    throw new TransientError(
      `${name(repo)}: the registry sent a ${what} that is not valid JSON (truncated?)`,
    );
  }
}

/** The next page from a `Link` header: same origin only; a link that lost its port gets ours back. */
export function nextLink(link: string | null, base: string, repo: RepositoryRef): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (!m || !/\brel="?next"?/i.test(m[2] ?? "")) continue;
    const next = new URL(m[1] ?? "", base);
    const ours = new URL(base);
    if (next.origin === ours.origin) return next.toString();
    if (next.hostname === ours.hostname && next.port === "" && ours.port !== "") {
      next.protocol = ours.protocol;
      next.port = ours.port;
      return next.toString();
    }
    throw new TransientError(
      `${name(repo)}: the registry's next page is on another host (${next.origin}); not followed`,
    );
  }
  return undefined;
}

/** An RFC 3339 time that can order images: not zero, not 1970 (reproducible builds), else undefined. */
export function parseTime(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t) || t <= 86_400_000) return undefined;
  return new Date(t);
}
