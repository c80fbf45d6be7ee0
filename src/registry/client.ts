/**
 * The narrow registry port (DESIGN.md `RegistryClient`): what image automation needs from a
 * container registry and nothing more. `DistributionClient` implements it over the OCI
 * distribution API; tests use the real Debian `docker-registry`.
 *
 * Costs, because registries meter them (Docker Hub counts manifest GETs as pulls, not HEADs):
 * `tags` is one request per page, `digest` one HEAD, `config` at most one manifest GET per
 * manifest level (index, then the platform's manifest) plus one blob GET, and callers cache
 * `config` by digest for good (a digest's content never changes).
 */

import type { Platform } from "../core/platform.js";

export { type Platform, parsePlatform } from "../core/platform.js";

/** Where a repository lives: `host` as written in image references (`docker.io`, `127.0.0.1:5000`). */
export interface RepositoryRef {
  host: string;
  /** `library/nginx`, `team/app`. */
  path: string;
}

/** What an image's config says about when it was built. */
export interface ImageConfig {
  /** The manifest digest of the reference asked for (the index's, for a multi-arch image). */
  digest?: string;
  /** The config's `created`, overridden by the `org.opencontainers.image.created` / `org.label-schema.build-date` label. */
  created?: Date;
  /** Where `created` came from. */
  createdFrom?: "config" | "label";
  labels: Record<string, string>;
}

export interface RegistryClient {
  /** Every tag of the repository (all pages). Throws when the listing is incomplete: never a partial list. */
  tags(repo: RepositoryRef): Promise<string[]>;
  /** The manifest digest of a tag (one HEAD; GET only when the registry gives no digest on HEAD). */
  digest(repo: RepositoryRef, tag: string): Promise<string>;
  /** The image config of a tag or manifest digest (for `platform`, default linux/amd64, when it is
   * an index; attestations `unknown/unknown` skipped): one manifest GET (two for an index) and one
   * config blob GET. Throws an error naming the registry and repository. */
  config(repo: RepositoryRef, reference: string, platform?: Platform): Promise<ImageConfig>;
}

/** Request counters per kind, for metrics and the benchmark. */
export interface RegistryStats {
  ping: number;
  token: number;
  tagPages: number;
  manifestHead: number;
  manifestGet: number;
  blobGet: number;
  throttled: number;
  /** Total time spent waiting for a budget or `Retry-After`, ms. */
  waitedMs: number;
}

/** The API host of a registry host: Docker Hub's registry is not at `docker.io`. */
export function apiHost(host: string): string {
  return host === "docker.io" || host === "index.docker.io" ? "registry-1.docker.io" : host;
}

/**
 * Loopback registries speak plain HTTP, as Docker allows them to; everything else HTTPS unless
 * configured `insecure`.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : (host.split(":")[0] ?? host);
  return name === "localhost" || name === "::1" || /^127(\.\d{1,3}){3}$/.test(name);
}
