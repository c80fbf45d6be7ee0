/**
 * `RegistryClient` over the OCI distribution API on Node's `fetch` (no npm client handles
 * pagination, token scopes and rate limits well enough: ../shared/research/image-automation.md §4).
 *
 * - Tags: `GET /v2/<name>/tags/list?n=…`, following `Link: <…>; rel="next"` (same origin only; a next
 *   link that lost its port is put back on ours), every page, never a partial list.
 * - Digests: `HEAD` (Docker Hub does not count HEADs as pulls); `GET` only when HEAD gives no digest.
 * - Config: manifest `GET` by digest (bytes verified against the digest), the platform's child of an
 *   index (attestations `unknown/unknown` skipped), then the config blob.
 * - Auth: anonymous first; a `Bearer` challenge gets a token from its realm (with Basic credentials
 *   or an identity token when configured), cached per realm/service/scope; a `Basic` challenge gets
 *   the configured credentials. Credentials never appear in errors.
 * - Budget: per host concurrency and requests per minute, `Retry-After` and `ratelimit-*` honoured,
 *   429/503 retried after the wait (at most 3 tries).
 */
import { createHash } from "node:crypto";
import { StalledError, TransientError } from "../core/errors.js";
import { BudgetExhausted, RequestBudget } from "./budget.js";
import { parseChallenge, TokenCache } from "./challenge.js";
import {
  apiHost,
  type ImageConfig,
  isLoopbackHost,
  type Platform,
  type RegistryClient,
  type RegistryStats,
  type RepositoryRef,
} from "./client.js";
import type { RegistryCredentials } from "./docker-config.js";
import {
  expectOk,
  fmt,
  json,
  type Manifest,
  name,
  nextLink,
  parseTime,
  pickPlatform,
  reason,
} from "./responses.js";
import { requestToken } from "./token.js";

export { nextLink, parseTime } from "./responses.js";

/** Per-host settings (the `images.registries[]` config). */
export interface RegistryHostOptions {
  host: string;
  insecure?: boolean;
  credentials?: RegistryCredentials;
  maxConcurrency?: number;
  requestsPerMinute?: number;
}

export interface DistributionClientOptions {
  hosts?: RegistryHostOptions[];
  /** Credentials for hosts without their own (from a Docker config.json). */
  credentials?: (host: string) => RegistryCredentials | undefined;
  fetch?: typeof fetch;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** Tags asked per page (default 1000: ECR's maximum). */
  pageSize?: number;
  /** A listing longer than this many pages is refused (default 200). */
  maxPages?: number;
}

export const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];

const CREATED_LABELS = ["org.opencontainers.image.created", "org.label-schema.build-date"];

type Kind = "tagPages" | "manifestHead" | "manifestGet" | "blobGet" | "ping";

interface Host {
  opts: RegistryHostOptions;
  base: string;
  budget: RequestBudget;
  /** `basic` once a Basic challenge was seen: send credentials on every call. */
  basic: boolean;
  /** The bearer challenge's realm/service, once seen. */
  bearer?: { realm: string; service?: string };
}

export class DistributionClient implements RegistryClient {
  private readonly hosts = new Map<string, Host>();
  private readonly tokens = new TokenCache();
  private readonly counters: RegistryStats = {
    ping: 0,
    token: 0,
    tagPages: 0,
    manifestHead: 0,
    manifestGet: 0,
    blobGet: 0,
    throttled: 0,
    waitedMs: 0,
  };
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: DistributionClientOptions = {}) {
    this.fetch = opts.fetch ?? globalThis.fetch;
  }

  /** Requests made so far, by kind. */
  stats(): RegistryStats {
    let waited = 0;
    for (const h of this.hosts.values()) waited += h.budget.waitedMs;
    return { ...this.counters, waitedMs: waited };
  }

  /** `GET /v2/`: whether the registry answers (401 counts: it is there and wants credentials). */
  async ping(host: string): Promise<void> {
    const h = this.host(host);
    const res = await this.send(h, undefined, "GET", `${h.base}/v2/`, "ping");
    await res.body?.cancel();
  }

  async tags(repo: RepositoryRef): Promise<string[]> {
    const h = this.host(repo.host);
    let pageSize = this.opts.pageSize ?? 1000;
    const maxPages = this.opts.maxPages ?? 200;
    const seen = new Set<string>();
    let url: string | undefined = `${h.base}/v2/${repo.path}/tags/list?n=${pageSize}`;
    for (let page = 1; url; page++) {
      if (page > maxPages) {
        throw new TransientError(
          `${name(repo)}: more than ${maxPages} pages of tags; the listing was not used`,
        );
      }
      let res = await this.send(h, repo, "GET", url, "tagPages");
      if (res.status === 400 && page === 1 && pageSize > 100) {
        // Quay refuses n above 100 ("max is 100"); ask again with what it takes.
        await res.body?.cancel();
        pageSize = 100;
        url = `${h.base}/v2/${repo.path}/tags/list?n=${pageSize}`;
        res = await this.send(h, repo, "GET", url, "tagPages");
      }
      if (res.status === 404) {
        await res.body?.cancel();
        throw new StalledError(`${name(repo)}: repository not found in the registry (check the image name)`);
      }
      await expectOk(res, repo, "list tags");
      const body = await json(res, repo, "tag list");
      const tags = (body as { tags?: unknown }).tags;
      if (
        tags !== null &&
        tags !== undefined &&
        (!Array.isArray(tags) || tags.some((t) => typeof t !== "string"))
      ) {
        throw new TransientError(`${name(repo)}: the registry sent a tag list that is not a list of strings`);
      }
      for (const t of (tags as string[] | null | undefined) ?? []) seen.add(t);
      url = nextLink(res.headers.get("link"), h.base, repo);
    }
    return [...seen];
  }

  async digest(repo: RepositoryRef, tag: string): Promise<string> {
    const h = this.host(repo.host);
    const url = `${h.base}/v2/${repo.path}/manifests/${encodeURIComponent(tag)}`;
    const head = await this.send(h, repo, "HEAD", url, "manifestHead", MANIFEST_TYPES.join(", "));
    if (head.status === 404) throw new StalledError(`${name(repo)}:${tag}: tag not found in the registry`);
    await expectOk(head, repo, `HEAD ${tag}`);
    const d = head.headers.get("docker-content-digest");
    if (d && /^sha256:[a-f0-9]{64}$/.test(d)) return d;
    const get = await this.send(h, repo, "GET", url, "manifestGet", MANIFEST_TYPES.join(", "));
    await expectOk(get, repo, `GET ${tag}`);
    return `sha256:${createHash("sha256")
      .update(Buffer.from(await get.arrayBuffer()))
      .digest("hex")}`;
  }

  async config(repo: RepositoryRef, reference: string, platform?: Platform): Promise<ImageConfig> {
    const h = this.host(repo.host);
    const top = await this.manifest(h, repo, reference);
    const digest = top.digest;
    let manifest = top.manifest;
    let annotations = manifest.annotations ?? {};
    if (Array.isArray(manifest.manifests)) {
      const child = pickPlatform(manifest.manifests, platform ?? { os: "linux", architecture: "amd64" });
      if (!child) {
        throw new StalledError(
          `${name(repo)}@${digest}: the image index has no ${fmt(platform ?? { os: "linux", architecture: "amd64" })} image (set images.platform)`,
        );
      }
      manifest = (await this.manifest(h, repo, child)).manifest;
      annotations = { ...annotations, ...(manifest.annotations ?? {}) };
    }
    const cfgDigest = manifest.config?.digest;
    if (!cfgDigest) throw new TransientError(`${name(repo)}@${digest}: the manifest has no config`);
    const res = await this.send(h, repo, "GET", `${h.base}/v2/${repo.path}/blobs/${cfgDigest}`, "blobGet");
    await expectOk(res, repo, "get the image config");
    const cfg = (await json(res, repo, "image config")) as {
      created?: unknown;
      config?: { Labels?: Record<string, unknown> | null };
    };
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...annotations, ...(cfg.config?.Labels ?? {}) })) {
      if (typeof v === "string") labels[k] = v;
    }
    const out: ImageConfig = { digest, labels };
    for (const l of CREATED_LABELS) {
      const t = parseTime(labels[l]);
      if (t) {
        out.created = t;
        out.createdFrom = "label";
        return out;
      }
    }
    const t = parseTime(typeof cfg.created === "string" ? cfg.created : undefined);
    if (t) {
      out.created = t;
      out.createdFrom = "config";
    }
    return out;
  }

  /** GET of a manifest by tag or digest; its bytes must hash to the digest asked for (or, by tag,
   * to the `Docker-Content-Digest` the registry names). */
  private async manifest(
    h: Host,
    repo: RepositoryRef,
    reference: string,
  ): Promise<{ digest: string; manifest: Manifest }> {
    const byDigest = reference.includes(":");
    const url = `${h.base}/v2/${repo.path}/manifests/${byDigest ? reference : encodeURIComponent(reference)}`;
    const what = byDigest ? `manifest ${reference.slice(0, 19)}…` : `manifest of ${reference}`;
    const res = await this.send(h, repo, "GET", url, "manifestGet", MANIFEST_TYPES.join(", "));
    if (res.status === 404) {
      await res.body?.cancel();
      throw new StalledError(`${name(repo)}: ${what} not found in the registry`);
    }
    await expectOk(res, repo, `get the ${what}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const actual = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const header = res.headers.get("docker-content-digest") ?? undefined;
    const expected = byDigest ? reference : header;
    if (expected?.startsWith("sha256:") && actual !== expected) {
      throw new TransientError(`${name(repo)}: the ${what} does not match its digest (truncated?)`);
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(bytes.toString("utf8")) as Manifest;
    } catch {
      throw new TransientError(`${name(repo)}: the registry sent a ${what} that is not JSON`);
    }
    if (!manifest || typeof manifest !== "object") {
      throw new TransientError(`${name(repo)}: the registry sent a ${what} that is not a JSON object`);
    }
    return { digest: byDigest ? reference : (header ?? actual), manifest };
  }

  private host(host: string): Host {
    let h = this.hosts.get(host);
    if (h) return h;
    const opts = this.opts.hosts?.find((x) => x.host === host) ?? { host };
    const scheme = isLoopbackHost(host) || opts.insecure ? "http" : "https";
    h = {
      opts,
      base: `${scheme}://${apiHost(host)}`,
      budget: new RequestBudget({
        ...(opts.maxConcurrency ? { maxConcurrency: opts.maxConcurrency } : {}),
        ...(opts.requestsPerMinute ? { requestsPerMinute: opts.requestsPerMinute } : {}),
      }),
      basic: false,
    };
    this.hosts.set(host, h);
    return h;
  }

  private credentials(h: Host): RegistryCredentials | undefined {
    return h.opts.credentials ?? this.opts.credentials?.(h.opts.host);
  }

  /** One request within the host's budget: auth challenges answered, 429/503 waited out and retried. */
  private async send(
    h: Host,
    repo: RepositoryRef | undefined,
    method: string,
    url: string,
    kind: Kind,
    accept?: string,
  ): Promise<Response> {
    const scope = repo ? `repository:${repo.path}:pull` : "";
    const where = repo ? name(repo) : h.opts.host;
    if (h.bearer && scope && !this.tokens.get(TokenCache.key(h.bearer.realm, h.bearer.service, scope))) {
      // The host wants bearer tokens: get this scope's token first instead of a 401 round trip.
      const token = await this.fetchToken(h, h.bearer.realm, h.bearer.service, scope, this.credentials(h));
      this.tokens.set(TokenCache.key(h.bearer.realm, h.bearer.service, scope), token.token, token.expiresIn);
    }
    for (let attempt = 1; ; attempt++) {
      // Whether this request carries Basic credentials: a concurrent request may turn them on meanwhile.
      const sentBasic = h.basic;
      let res = await this.once(h, scope, method, url, kind, where, accept);
      if (res.status === 401) {
        await res.body?.cancel();
        const retried = await this.answerChallenge(h, scope, res, sentBasic);
        res = retried ? await this.once(h, scope, method, url, kind, where, accept) : res;
        if (res.status === 401) {
          await res.body?.cancel();
          if (kind === "ping") return res;
          throw new StalledError(
            `${where}: the registry refused ${this.credentials(h) ? "the configured credentials" : "anonymous access"} (401); configure credentials for ${h.opts.host} under images.registries`,
          );
        }
      }
      const throttled = res.status === 429 || res.status === 503;
      const wait = h.budget.observe(res.status, res.headers);
      if (!throttled) return res;
      this.counters.throttled++;
      await res.body?.cancel();
      if (attempt >= 3) {
        throw new TransientError(
          `${where}: the registry is rate limiting or unavailable (HTTP ${res.status})`,
          {
            ...(wait !== undefined ? { retryAfterMs: wait } : {}),
          },
        );
      }
      // The budget's pause makes the next try wait.
    }
  }

  private async once(
    h: Host,
    scope: string,
    method: string,
    url: string,
    kind: Kind,
    where: string,
    accept?: string,
  ): Promise<Response> {
    try {
      return await this.budgeted(h, scope, method, url, kind, where, accept);
    } catch (err) {
      if (!(err instanceof BudgetExhausted)) throw err;
      throw new TransientError(`${where}: the registry asked to wait; ${err.message}`, {
        retryAfterMs: err.retryAfterMs,
      });
    }
  }

  private async budgeted(
    h: Host,
    scope: string,
    method: string,
    url: string,
    kind: Kind,
    where: string,
    accept?: string,
  ): Promise<Response> {
    return h.budget.run(async () => {
      this.counters[kind]++;
      const headers: Record<string, string> = {};
      if (accept) headers.accept = accept;
      const auth = this.authorization(h, scope);
      if (auth) headers.authorization = auth;
      try {
        return await this.fetch(url, {
          method,
          headers,
          redirect: "follow",
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
        });
      } catch (err) {
        throw new TransientError(`${where}: the registry did not answer (${reason(err)})`, {
          cause: err,
        });
      }
    });
  }

  private authorization(h: Host, scope: string): string | undefined {
    const creds = this.credentials(h);
    if (h.bearer) {
      const t = this.tokens.get(TokenCache.key(h.bearer.realm, h.bearer.service, scope));
      if (t) return `Bearer ${t}`;
    }
    if (creds?.token && !h.bearer) return `Bearer ${creds.token}`;
    if (h.basic && creds?.username !== undefined && creds.password !== undefined) {
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
    }
    return undefined;
  }

  /** Handles a 401's challenge; true when the request should be tried again. */
  private async answerChallenge(h: Host, scope: string, res: Response, sentBasic: boolean): Promise<boolean> {
    const ch = parseChallenge(res.headers.get("www-authenticate"));
    const creds = this.credentials(h);
    if (!ch) return false;
    if (ch.scheme === "basic") {
      if (sentBasic || creds?.username === undefined || creds.password === undefined) return false;
      h.basic = true;
      return true;
    }
    const realm = ch.params.realm;
    if (!realm) return false;
    h.bearer = { realm, ...(ch.params.service ? { service: ch.params.service } : {}) };
    const want = ch.params.scope ?? scope;
    const key = TokenCache.key(realm, ch.params.service, scope);
    const token = await this.fetchToken(h, realm, ch.params.service, want, creds);
    this.tokens.set(key, token.token, token.expiresIn);
    return true;
  }

  /** One token request for `h` (counted), see `requestToken`. */
  private fetchToken(
    h: Host,
    realm: string,
    service: string | undefined,
    scope: string,
    creds: RegistryCredentials | undefined,
  ): Promise<{ token: string; expiresIn?: number }> {
    this.counters.token++;
    const ctx = {
      host: h.opts.host,
      fetch: this.fetch,
      ...(h.opts.insecure ? { insecure: true } : {}),
      ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
    };
    return requestToken(ctx, realm, service, scope, creds);
  }
}
