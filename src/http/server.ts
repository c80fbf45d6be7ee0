/**
 * The one HTTP server of the process (DESIGN.md `http/`). It serves:
 *
 *   GET  /healthz        liveness: 200 while the process runs
 *   GET  /readyz         readiness: 200 when every registered check passes, else 503 (JSON details)
 *   GET  /metrics        Prometheus text from `server.metrics`
 *   POST /slack/events   mounted by `SlackPlatform` (HTTP mode)
 *   POST /api/messages   mounted by `TeamsPlatform`
 *   POST /hooks/git      mounted by the git webhook (another component)
 *
 * Mounting a route:
 *
 *   server.route("POST", "/hooks/git", async ({ req, res, body }) => {
 *     // body: the raw request body as a Buffer (already size-limited); verify signatures on it
 *     sendJson(res, 202, { ok: true });
 *   });
 *
 * Paths match exactly, or with `:name` segments (`/hooks/git/:repo` -> `params.repo`). The query string
 * is ignored for matching (`ctx.url` has it). A handler that throws gets a 500 (logged); a handler that
 * returns without answering gets a 204 once its promise settles. Bodies larger than the route's
 * `bodyLimit` (default 1 MiB) get 413 before the handler runs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../core/ports.js";
import { MetricsRegistry } from "./metrics.js";

/** What a route handler receives. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** The raw body, unparsed (signature checks need the exact bytes). Empty for GET. */
  body: Buffer;
  /** Values of `:name` path segments. */
  params: Record<string, string>;
  /** The parsed request URL (relative to the server). */
  url: URL;
}

/** Handles one request. Must answer through `ctx.res` (or let the server answer 204). */
export type RouteHandler = (ctx: RouteContext) => void | Promise<void>;

export interface RouteOptions {
  /** Maximum body size in bytes for this route (default: the server's `bodyLimit`). */
  bodyLimit?: number;
}

/** A readiness check: resolves true when the component can serve. Throwing counts as not ready. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface HttpServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Default body limit in bytes (1 MiB). */
  bodyLimit?: number;
  /** Registry served at /metrics; a new one by default. */
  metrics?: MetricsRegistry;
  /** How long `stop()` waits for in-flight requests before closing sockets (ms, default 10 s). */
  shutdownGraceMs?: number;
  /** Per-check timeout for /readyz (ms, default 2 s). */
  readinessTimeoutMs?: number;
}

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
  bodyLimit: number;
  /** The pattern, used as the `route` label so metrics have bounded cardinality. */
  pattern: string;
}

class BodyTooLarge extends Error {}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** Writes a plain-text response. */
export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = "text/plain; charset=utf-8",
): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a request body into a Buffer, failing with `BodyTooLarge` past `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Stop buffering but keep draining, so the 413 can be written on a healthy socket.
        req.removeAllListeners("data");
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks, size)));
    req.once("error", reject);
  });
}

/**
 * The HTTP server. Construct it, let components `route(...)` and `readiness(...)`, then `start()`.
 * Routes may be added before or after `start()`. `stop()` stops accepting, waits for in-flight
 * requests (up to `shutdownGraceMs`) and then closes the remaining sockets.
 */
export class HttpServer {
  /** Metrics served at /metrics; components register theirs here. */
  readonly metrics: MetricsRegistry;
  private readonly routes: Route[] = [];
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly server: Server;
  private readonly log: Logger;
  private readonly bodyLimit: number;
  private readonly graceMs: number;
  private readonly readinessTimeoutMs: number;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private stopping = false;
  private address: AddressInfo | undefined;
  private readonly requests;
  private readonly duration;

  constructor(private readonly opts: HttpServerOptions) {
    this.log = opts.logger.child({ component: "http" });
    this.bodyLimit = opts.bodyLimit ?? 1024 * 1024;
    this.graceMs = opts.shutdownGraceMs ?? 10_000;
    this.readinessTimeoutMs = opts.readinessTimeoutMs ?? 2_000;
    this.metrics = opts.metrics ?? new MetricsRegistry({ process: true });
    this.requests = this.metrics.counter(
      "gitops_http_requests_total",
      "HTTP requests served, by route and status.",
      ["method", "route", "status"],
    );
    this.duration = this.metrics.histogram(
      "gitops_http_request_duration_seconds",
      "Time from request start to response end, by route.",
      ["method", "route"],
    );
    this.server = createServer((req, res) => void this.handle(req, res));
    // Slack and Teams keep connections alive; Node's defaults (5 s keep-alive) are fine, but a
    // slow-loris client must not hold a socket forever.
    this.server.headersTimeout = 15_000;
    this.server.requestTimeout = 30_000;

    this.route("GET", "/healthz", ({ res }) => sendText(res, 200, "ok\n"));
    this.route("GET", "/readyz", ({ res }) => this.ready(res));
    this.route("GET", "/metrics", async ({ res }) =>
      sendText(res, 200, await this.metrics.render(), this.metrics.contentType),
    );
  }

  /** Builds the server from the `http` config section. */
  static fromConfig(
    cfg: { host: string; port: number },
    deps: { logger: Logger; metrics?: MetricsRegistry },
  ): HttpServer {
    return new HttpServer({
      host: cfg.host,
      port: cfg.port,
      logger: deps.logger,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    });
  }

  /** Mounts `handler` at `method path`. Throws if the same method and path are already mounted. */
  route(method: string, path: string, handler: RouteHandler, opts: RouteOptions = {}): void {
    const m = method.toUpperCase();
    if (!path.startsWith("/")) throw new Error(`route path must start with "/": ${path}`);
    const segments = path.split("/").slice(1);
    if (this.routes.some((r) => r.method === m && r.pattern === path))
      throw new Error(`route ${m} ${path} is already mounted`);
    this.routes.push({
      method: m,
      segments,
      handler,
      bodyLimit: opts.bodyLimit ?? this.bodyLimit,
      pattern: path,
    });
  }

  /** Registers a readiness check shown (by name) at /readyz. */
  readiness(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  async start(): Promise<{ host: string; port: number; url: string }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.address = this.server.address() as AddressInfo;
    this.log.info({ host: this.address.address, port: this.address.port }, "http server listening");
    return { host: this.address.address, port: this.address.port, url: this.url };
  }

  /** `http://host:port` of the running server (loopback when bound to all interfaces). */
  get url(): string {
    if (!this.address) throw new Error("http server not started");
    const host =
      this.address.address === "0.0.0.0" || this.address.address === "::"
        ? "127.0.0.1"
        : this.address.family === "IPv6"
          ? `[${this.address.address}]`
          : this.address.address;
    return `http://${host}:${this.address.port}`;
  }

  /** Stops accepting connections, lets in-flight requests finish (up to the grace period), then closes. */
  async stop(): Promise<void> {
    if (this.stopping || !this.server.listening) return;
    this.stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.server.closeAllConnections();
    await closed;
    this.log.info({}, "http server stopped");
  }

  private match(
    method: string,
    pathname: string,
  ): { route: Route; params: Record<string, string> } | "method" | undefined {
    const segs = pathname.split("/").slice(1);
    let pathMatched = false;
    for (const r of this.routes) {
      if (r.segments.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const pat = r.segments[i] as string;
        const seg = segs[i] as string;
        if (pat.startsWith(":")) {
          if (seg === "") {
            ok = false;
            break;
          }
          try {
            params[pat.slice(1)] = decodeURIComponent(seg);
          } catch {
            ok = false;
            break;
          }
        } else if (pat !== seg) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      pathMatched = true;
      if (r.method === method || (method === "HEAD" && r.method === "GET")) return { route: r, params };
    }
    return pathMatched ? "method" : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++;
    const method = (req.method ?? "GET").toUpperCase();
    let routeLabel = "unmatched";
    const stopTimer = this.duration.startTimer();
    res.once("close", () => {
      this.requests.inc({ method, route: routeLabel, status: res.statusCode });
      stopTimer({ method, route: routeLabel });
      this.inFlight--;
      if (this.inFlight === 0 && this.idleWaiters.length) {
        for (const w of this.idleWaiters.splice(0)) w();
      }
    });
    if (this.stopping) res.setHeader("connection", "close");
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      sendText(res, 400, "bad request\n");
      return;
    }
    const found = this.match(method, url.pathname);
    if (found === undefined) {
      req.resume();
      sendText(res, 404, "not found\n");
      return;
    }
    if (found === "method") {
      req.resume();
      sendText(res, 405, "method not allowed\n");
      return;
    }
    const { route, params } = found;
    routeLabel = route.pattern;
    let body: Buffer;
    try {
      body = method === "GET" || method === "HEAD" ? Buffer.alloc(0) : await readBody(req, route.bodyLimit);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        this.log.warn({ route: route.pattern, limit: route.bodyLimit }, "request body too large");
        res.setHeader("connection", "close");
        sendText(res, 413, "payload too large\n");
      } else {
        sendText(res, 400, "bad request\n");
      }
      return;
    }
    try {
      await route.handler({ req, res, body, params, url });
      if (!res.headersSent && !res.writableEnded) {
        res.writeHead(204);
        res.end();
      }
    } catch (e) {
      this.log.error({ err: e, route: route.pattern }, "http handler failed");
      if (!res.headersSent) sendText(res, 500, "internal error\n");
      else res.end();
    }
  }

  private async ready(res: ServerResponse): Promise<void> {
    const results: Record<string, boolean> = {};
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          results[name] = await Promise.race([
            Promise.resolve().then(check),
            new Promise<boolean>((resolve) => {
              timer = setTimeout(() => resolve(false), this.readinessTimeoutMs);
            }),
          ]);
        } catch {
          results[name] = false;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const ok = !this.stopping && Object.values(results).every(Boolean);
    sendJson(res, ok ? 200 : 503, { ready: ok, checks: results });
  }
}
