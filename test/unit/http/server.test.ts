import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { nullLogger } from "../../../src/core/ports.js";
import { HttpServer, sendJson } from "../../../src/http/server.js";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  base: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe("HttpServer", () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function start(opts: { bodyLimit?: number; shutdownGraceMs?: number } = {}): Promise<string> {
    server = new HttpServer({ host: "127.0.0.1", port: 0, logger: nullLogger, ...opts });
    const { url } = await server.start();
    return url;
  }

  it("serves /healthz, and 404/405 for unknown paths and methods", async () => {
    const base = await start();
    expect(await call(base, "GET", "/healthz")).toMatchObject({ status: 200, body: "ok\n" });
    expect((await call(base, "GET", "/nope")).status).toBe(404);
    expect((await call(base, "POST", "/healthz", "x")).status).toBe(405);
  });

  it("passes the raw body and path params to a route", async () => {
    const base = await start();
    server!.route("POST", "/hooks/git/:repo", ({ res, body, params, url }) => {
      sendJson(res, 202, {
        len: body.length,
        raw: body.toString("latin1"),
        repo: params.repo,
        q: url.searchParams.get("x"),
      });
    });
    const raw = Buffer.from([0x7b, 0xff, 0x00, 0x7d]);
    const r = await call(base, "POST", "/hooks/git/my%20repo?x=1", raw);
    expect(r.status).toBe(202);
    expect(JSON.parse(r.body)).toEqual({ len: 4, raw: raw.toString("latin1"), repo: "my repo", q: "1" });
  });

  it("rejects duplicate routes", async () => {
    await start();
    server!.route("POST", "/a", () => {});
    expect(() => server!.route("post", "/a", () => {})).toThrow(/already mounted/);
  });

  it("answers 413 past the body limit without calling the handler", async () => {
    const base = await start({ bodyLimit: 16 });
    let called = 0;
    server!.route("POST", "/small", ({ res }) => {
      called++;
      sendJson(res, 200, {});
    });
    server!.route("POST", "/big", ({ res, body }) => sendJson(res, 200, { n: body.length }), {
      bodyLimit: 64,
    });
    expect((await call(base, "POST", "/small", "x".repeat(17))).status).toBe(413);
    expect(called).toBe(0);
    expect(JSON.parse((await call(base, "POST", "/big", "x".repeat(40))).body)).toEqual({ n: 40 });
  });

  it("answers 500 when a handler throws and 204 when it does not answer", async () => {
    const base = await start();
    server!.route("POST", "/boom", () => {
      throw new Error("boom");
    });
    server!.route("POST", "/quiet", async () => {});
    expect((await call(base, "POST", "/boom", "")).status).toBe(500);
    expect((await call(base, "POST", "/quiet", "")).status).toBe(204);
  });

  it("reports readiness from registered checks", async () => {
    const base = await start();
    let dbReady = false;
    server!.readiness("db", () => dbReady);
    server!.readiness("throws", async () => true);
    let r = await call(base, "GET", "/readyz");
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toEqual({ ready: false, checks: { db: false, throws: true } });
    dbReady = true;
    r = await call(base, "GET", "/readyz");
    expect(r.status).toBe(200);
    server!.readiness("broken", () => {
      throw new Error("x");
    });
    expect((await call(base, "GET", "/readyz")).status).toBe(503);
  });

  it("exposes request metrics and custom metrics at /metrics", async () => {
    const base = await start();
    const c = server!.metrics.counter("gitops_test_total", "A test counter.", ["kind"]);
    c.inc({ kind: 'a"b' }, 2);
    await call(base, "GET", "/healthz");
    const r = await call(base, "GET", "/metrics");
    expect(r.headers["content-type"]).toMatch(/^text\/plain; version=0.0.4/);
    expect(r.body).toContain('gitops_test_total{kind="a\\"b"} 2');
    expect(r.body).toContain('gitops_http_requests_total{method="GET",route="/healthz",status="200"} 1');
    expect(r.body).toMatch(
      /gitops_http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/healthz"\} 1/,
    );
    expect(r.body).toContain("# TYPE gitops_http_request_duration_seconds histogram");
    // The process's own memory and CPU, for dashboards and the chart's resource sizing (issue #15).
    expect(r.body).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(r.body).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
  });

  it("waits for in-flight requests on stop, then refuses connections", async () => {
    const base = await start({ shutdownGraceMs: 5_000 });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    server!.route("POST", "/slow", async ({ res }) => {
      await gate;
      sendJson(res, 200, { done: true });
    });
    const pending = call(base, "POST", "/slow", "");
    await new Promise((r) => setTimeout(r, 50));
    const stopped = server!.stop();
    setTimeout(release, 100);
    expect(await pending).toMatchObject({ status: 200 });
    await stopped;
    await expect(call(base, "GET", "/healthz")).rejects.toThrow();
    server = undefined;
  });
});

describe("MetricsRegistry", () => {
  it("renders histograms with cumulative buckets and shares metrics by name", async () => {
    const { MetricsRegistry } = await import("../../../src/http/metrics.js");
    const m = new MetricsRegistry();
    const h = m.histogram("x_seconds", "X.", ["op"], [0.1, 1]);
    h.observe({ op: "a" }, 0.05);
    h.observe({ op: "a" }, 0.5);
    h.observe({ op: "a" }, 5);
    expect(m.histogram("x_seconds", "X.", ["op"])).toBe(h);
    expect(() => m.counter("x_seconds", "X.")).toThrow(/already registered/);
    const text = await m.render();
    expect(text).toContain('x_seconds_bucket{le="0.1",op="a"} 1');
    expect(text).toContain('x_seconds_bucket{le="1",op="a"} 2');
    expect(text).toContain('x_seconds_bucket{le="+Inf",op="a"} 3');
    expect(text).toContain('x_seconds_count{op="a"} 3');
    expect(text).toContain('x_seconds_sum{op="a"} 5.55');
  });
  it("renders collected metrics at scrape time and survives a failing collector", async () => {
    const { MetricsRegistry } = await import("../../../src/http/metrics.js");
    const m = new MetricsRegistry();
    let sent = 1;
    m.collect("n_sent_total", "Sent.", "counter", ["destination"], () => [
      { labels: { destination: "deploys" }, value: sent },
      { labels: { destination: 'we"ird' }, value: 0 },
    ]);
    m.collect("n_broken", "Broken.", "gauge", [], () => {
      throw new Error("boom");
    });
    expect(await m.render()).toContain('n_sent_total{destination="deploys"} 1');
    sent = 7;
    const text = await m.render();
    expect(text).toContain('n_sent_total{destination="deploys"} 7');
    expect(text).toContain('n_sent_total{destination="we\\"ird"} 0');
    expect(text).toContain("# TYPE n_broken gauge");
    expect(() => m.collect("n_sent_total", "Again.", "counter", [], () => [])).toThrow(/already registered/);
  });
});
