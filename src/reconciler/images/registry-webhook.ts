/**
 * `POST /hooks/registry`: a registry says a repository got a new tag, so image automation scans
 * at once instead of at the next interval. Each sender is verified the way it can be:
 *
 * - GHCR (`X-GitHub-Event: package`): `X-Hub-Signature-256`, HMAC-SHA256 of the body with the secret;
 * - CNCF distribution notifications and Harbor: the `Authorization` header configured on the
 *   registry's endpoint / webhook policy (the secret itself, or `Bearer <secret>`);
 * - Docker Hub (which cannot sign): the secret in the URL (`/hooks/registry?token=<secret>`) or an
 *   `X-Webhook-Token` header.
 *
 * An unverified request gets 401 and does nothing. A verified one runs a cycle (202 at once:
 * registries time hooks out) that lists only the named repositories and reads the named tags again
 * (`ImageService.rescan`); the cycle lists the registry itself, so a forged or stale payload can at
 * most cause a scan.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { type Logger, nullLogger } from "../../core/ports.js";
import { type HttpServer, sendText } from "../../http/server.js";
import { repositoryIdOf } from "../../images/plan.js";
import type { Headers, WebhookResponse } from "../sync/git-webhook.js";

/** What the webhook needs of image automation. */
export interface Rescanner {
  rescan(repository: string, tags: readonly string[], actor: string): Promise<unknown>;
}

export interface RegistryWebhookOptions {
  secret: string;
  images: Rescanner;
  logger?: Logger;
}

type Sender = "ghcr" | "distribution" | "harbor" | "dockerhub";

/** One pushed repository (`host/path`) and the tags named for it. */
interface Pushed {
  repository: string;
  tags: string[];
}

const header = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether the request proves it knows the secret, by the one means its headers say it uses. */
function verified(h: Headers, url: URL, body: Buffer, secret: string): boolean {
  const sig = header(h, "x-hub-signature-256");
  if (sig !== undefined) {
    return safeEqual(sig, `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
  }
  const auth = header(h, "authorization");
  if (auth !== undefined) return safeEqual(auth, secret) || safeEqual(auth, `Bearer ${secret}`);
  const token = url.searchParams.get("token") ?? header(h, "x-webhook-token");
  return token !== undefined && token !== null && safeEqual(token, secret);
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);
const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** The repository key of `host` + `path` as the scanner keys it (`docker.io/library/nginx`). */
function keyOf(ref: string): string | undefined {
  return repositoryIdOf(ref)?.key;
}

/** Reads the pushed repositories from a payload; `undefined` when it is no push we know. */
function pushed(h: Headers, p: Record<string, unknown>): { sender: Sender; items: Pushed[] } | undefined {
  if (header(h, "x-github-event") !== undefined) {
    if (header(h, "x-github-event") !== "package") return { sender: "ghcr", items: [] };
    const pkg = obj(p.package);
    if (str(pkg.package_type)?.toLowerCase() !== "container") return { sender: "ghcr", items: [] };
    const version = obj(pkg.package_version);
    const tag = str(obj(obj(version.container_metadata).tag).name);
    const owner = str(obj(pkg.owner).login) ?? str(pkg.namespace);
    const name = str(pkg.name);
    const url = str(version.package_url);
    const repo = url
      ? keyOf(url.replace(/^https?:\/\//, ""))
      : owner && name
        ? keyOf(`ghcr.io/${owner.toLowerCase()}/${name}`)
        : undefined;
    return { sender: "ghcr", items: repo ? [{ repository: repo, tags: tag ? [tag] : [] }] : [] };
  }
  if (Array.isArray(p.events)) {
    const items: Pushed[] = [];
    for (const e of p.events.map(obj)) {
      if (e.action !== "push") continue;
      const target = obj(e.target);
      const path = str(target.repository);
      let host = str(obj(e.request).host);
      const url = str(target.url);
      if (url) host = URL.canParse(url) ? new URL(url).host : host;
      const repo = path && host ? keyOf(`${host}/${path}`) : undefined;
      if (repo) items.push({ repository: repo, tags: str(target.tag) ? [str(target.tag) as string] : [] });
    }
    return { sender: "distribution", items };
  }
  if (typeof p.type === "string" && p.event_data) {
    if (!/push/i.test(p.type)) return { sender: "harbor", items: [] };
    const data = obj(p.event_data);
    const items: Pushed[] = [];
    for (const r of Array.isArray(data.resources) ? data.resources.map(obj) : []) {
      const url = str(r.resource_url);
      const repo = url ? keyOf(url.replace(/@.*$/, "").replace(/:[^/:]*$/, "")) : undefined;
      if (repo) items.push({ repository: repo, tags: str(r.tag) ? [str(r.tag) as string] : [] });
    }
    return { sender: "harbor", items };
  }
  const push = obj(p.push_data);
  const repoName = str(obj(p.repository).repo_name);
  if (repoName) {
    const repo = keyOf(`docker.io/${repoName}`);
    const tag = str(push.tag);
    return { sender: "dockerhub", items: repo ? [{ repository: repo, tags: tag ? [tag] : [] }] : [] };
  }
  return undefined;
}

/** Merges the pushes per repository (a distribution batch may name one repository many times). */
function merge(items: Pushed[]): Pushed[] {
  const by = new Map<string, Set<string>>();
  for (const i of items) {
    const s = by.get(i.repository) ?? new Set<string>();
    for (const t of i.tags) s.add(t);
    by.set(i.repository, s);
  }
  return [...by].map(([repository, tags]) => ({ repository, tags: [...tags] }));
}

/** The handler (see the file comment): 401 unverified, 400 not JSON, 200 ignored, 202 rescan. */
export function registryWebhookHandler(
  opts: RegistryWebhookOptions,
): (headers: Headers, rawBody: Buffer | string, url: URL) => Promise<WebhookResponse> {
  if (!opts.secret) throw new Error("the registry webhook needs a secret");
  const logger = opts.logger ?? nullLogger;
  return async (headers, rawBody, url) => {
    const body = typeof rawBody === "string" ? Buffer.from(rawBody) : rawBody;
    if (!verified(headers, url, body, opts.secret)) {
      logger.warn({}, "registry webhook with a missing or wrong secret refused");
      return { status: 401, body: "secret or signature missing or invalid" };
    }
    let payload: Record<string, unknown>;
    try {
      payload = obj(JSON.parse(body.toString("utf8")));
    } catch {
      return { status: 400, body: "body is not JSON" };
    }
    const found = pushed(headers, payload);
    if (!found) return { status: 200, body: "ignored: not a registry push this hook knows" };
    const items = merge(found.items);
    if (items.length === 0)
      return { status: 200, body: `ignored: no pushed image in this ${found.sender} event` };
    for (const i of items) {
      void opts.images.rescan(i.repository, i.tags, found.sender).catch((err) => {
        logger.warn({ err, repository: i.repository }, "rescan after a registry webhook failed");
      });
    }
    logger.info(
      { sender: found.sender, repositories: items.map((i) => i.repository) },
      "registry webhook: rescanning",
    );
    return { status: 202, body: `rescan triggered: ${items.map((i) => i.repository).join(", ")}` };
  };
}

/** Mounts the handler as `POST /hooks/registry`. */
export function mountRegistryWebhook(server: Pick<HttpServer, "route">, opts: RegistryWebhookOptions): void {
  const handle = registryWebhookHandler(opts);
  server.route("POST", "/hooks/registry", async ({ req, res, body, url }) => {
    const out = await handle(req.headers, body, url);
    sendText(res, out.status, `${out.body}\n`);
  });
}
