/**
 * A loopback HTTP proxy in front of a real registry that counts requests by kind and can inject
 * faults (a status with headers, garbage or truncated bodies, rewritten Link headers). With
 * `bearer`, it also plays a token service: requests need `Authorization: Bearer <token>` obtained
 * from its `/token` realm with Basic credentials, which is how Docker Hub, GHCR and Harbor work
 * (docker-registry itself only does htpasswd Basic). With `paginate`, it serves the registry's tag
 * list in pages with `Link` headers, as distribution v3, GHCR or ECR do (docker-registry 2.8 returns
 * every tag in one answer and ignores `n`). Used by the image integration tests and bench/image-scan.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type RequestKind = "ping" | "tags" | "manifestHead" | "manifestGet" | "blobGet" | "token" | "other";

/** What a fault does to one request: answer instead of the registry, or alter its answer. */
export interface Fault {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Forward, then cut the body to this many bytes (a truncated page). */
  truncateTo?: number;
  /** Forward, then replace the Link header. */
  link?: string;
}

export interface RegistryProxyOptions {
  /** `http://127.0.0.1:<port>` of the registry. */
  target: string;
  /** Basic credentials the registry wants (added upstream; clients of the proxy never see them). */
  upstreamAuth?: { username: string; password: string };
  /** Require bearer tokens from `/token`, issued for these Basic credentials. */
  bearer?: { username: string; password: string; expiresIn?: number };
}

export interface RegistryProxy {
  /** `127.0.0.1:<port>`, the host image references use. */
  host: string;
  url: string;
  counts: Record<RequestKind, number>;
  /** Every request as `METHOD path`. */
  log: string[];
  /** Decides a fault per request (undefined: forward as is). */
  fault: ((kind: RequestKind, req: IncomingMessage) => Fault | undefined) | undefined;
  /** Authorization headers seen (to check what the client sends). */
  authorizations: string[];
  /** Serve tag lists in pages of at most `pageSize` (also when the client asks for more), the next
   * link relative, or absolute without the port (`dropPort`, as Nexus does). */
  paginate: { pageSize: number; dropPort?: boolean } | undefined;
  resetCounts(): void;
  close(): Promise<void>;
}

export function kindOf(method: string, path: string): RequestKind {
  if (path === "/token" || path.startsWith("/token?")) return "token";
  if (path === "/v2/" || path === "/v2") return "ping";
  if (/\/tags\/list(\?|$)/.test(path)) return "tags";
  if (/\/manifests\//.test(path)) return method === "HEAD" ? "manifestHead" : "manifestGet";
  if (/\/blobs\/sha256:/.test(path) && method === "GET") return "blobGet";
  return "other";
}

function emptyCounts(): Record<RequestKind, number> {
  return { ping: 0, tags: 0, manifestHead: 0, manifestGet: 0, blobGet: 0, token: 0, other: 0 };
}

export async function startRegistryProxy(opts: RegistryProxyOptions): Promise<RegistryProxy> {
  const tokens = new Set<string>();
  const proxy: RegistryProxy = {
    host: "",
    url: "",
    counts: emptyCounts(),
    log: [],
    fault: undefined,
    authorizations: [],
    paginate: undefined,
    resetCounts() {
      proxy.counts = emptyCounts();
      proxy.log = [];
      proxy.authorizations = [];
    },
    close: async () => {},
  };
  const basic = (c: { username: string; password: string }) =>
    `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/";
    const method = req.method ?? "GET";
    const kind = kindOf(method, path);
    proxy.counts[kind]++;
    proxy.log.push(`${method} ${path}`);
    if (req.headers.authorization) proxy.authorizations.push(req.headers.authorization);
    const fault = proxy.fault?.(kind, req);
    if (fault?.status !== undefined && fault.truncateTo === undefined && fault.link === undefined) {
      res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
      res.end(method === "HEAD" ? undefined : (fault.body ?? `{"errors":[{"code":"INJECTED"}]}`));
      return;
    }
    if (opts.bearer) {
      if (kind === "token") {
        const ok = req.headers.authorization === basic(opts.bearer);
        if (!ok) {
          res.writeHead(401, { "content-type": "application/json" });
          res.end(`{"details":"incorrect username or password"}`);
          return;
        }
        const token = randomBytes(16).toString("hex");
        tokens.add(token);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ token, expires_in: opts.bearer.expiresIn ?? 300 }));
        return;
      }
      const auth = req.headers.authorization ?? "";
      if (!auth.startsWith("Bearer ") || !tokens.has(auth.slice(7))) {
        const scope = /^\/v2\/(.+?)\/(?:tags|manifests|blobs)\//.exec(path)?.[1];
        res.writeHead(401, {
          "content-type": "application/json",
          "www-authenticate": `Bearer realm="${proxy.url}/token",service="test-registry"${scope ? `,scope="repository:${scope}:pull"` : ""}`,
        });
        res.end(`{"errors":[{"code":"UNAUTHORIZED"}]}`);
        return;
      }
    }
    const headers: Record<string, string> = {};
    for (const h of ["accept", "content-type"]) {
      const v = req.headers[h];
      if (typeof v === "string") headers[h] = v;
    }
    if (opts.upstreamAuth) headers.authorization = basic(opts.upstreamAuth);
    else if (!opts.bearer && req.headers.authorization) headers.authorization = req.headers.authorization;
    const page = kind === "tags" ? proxy.paginate : undefined;
    const upstreamPath = page ? (path.split("?")[0] ?? path) : path;
    const upstream = await fetch(new URL(upstreamPath, opts.target), { method, headers, redirect: "manual" });
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (k !== "content-length" && k !== "transfer-encoding" && k !== "connection") out[k] = v;
    });
    // An htpasswd registry behind a bearer front must not leak its own Basic challenge.
    if (opts.bearer) delete out["www-authenticate"];
    if (fault?.link !== undefined) out.link = fault.link;
    let body = method === "HEAD" ? Buffer.alloc(0) : Buffer.from(await upstream.arrayBuffer());
    if (page && upstream.status === 200) {
      const q = new URL(path, "http://x").searchParams;
      const all = (
        (JSON.parse(body.toString()) as { name: string; tags: string[] | null }).tags ?? []
      ).sort();
      const n = Math.min(Number(q.get("n") ?? page.pageSize) || page.pageSize, page.pageSize);
      const last = q.get("last");
      const from = last === null ? 0 : all.findIndex((t) => t > last);
      const slice = from < 0 ? [] : all.slice(from, from + n);
      const name = upstreamPath.replace(/^\/v2\//, "").replace(/\/tags\/list$/, "");
      body = Buffer.from(JSON.stringify({ name, tags: slice }));
      const end = slice[slice.length - 1];
      if (from >= 0 && from + n < all.length && end !== undefined) {
        const next = `/v2/${name}/tags/list?last=${encodeURIComponent(end)}&n=${n}`;
        out.link = `<${page.dropPort ? `http://127.0.0.1${next}` : next}>; rel="next"`;
      } else delete out.link;
    }
    if (fault?.truncateTo !== undefined) body = body.subarray(0, fault.truncateTo);
    if (method === "HEAD") {
      const len = upstream.headers.get("content-length");
      if (len) out["content-length"] = len;
    } else out["content-length"] = String(body.length);
    res.writeHead(fault?.status ?? upstream.status, { ...out, ...fault?.headers });
    res.end(method === "HEAD" ? undefined : body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.writeHead(502);
      res.end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  proxy.host = `127.0.0.1:${port}`;
  proxy.url = `http://${proxy.host}`;
  proxy.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return proxy;
}
