/**
 * The Prometheus registry `GET /metrics` renders (text exposition format 0.0.4), on `prom-client`.
 * Any component registers its metrics through the `HttpServer.metrics` instance it is given; the
 * small interface below is all they see, so the library stays behind this file.
 *
 *   const sent = metrics.counter("gitops_notifications_total", "Notifications sent.", ["provider"]);
 *   sent.inc({ provider: "slack" });
 *   const dur = metrics.histogram("gitops_commit_seconds", "Commit duration.", [], [0.1, 0.5, 1, 5]);
 *   dur.observe({}, 0.42);
 *
 * Labels a metric was not declared with are dropped and missing ones are empty, so a caller's extra
 * context never breaks a scrape. `new MetricsRegistry({ process: true })` adds prom-client's
 * process and Node.js runtime metrics (`process_resident_memory_bytes`, `nodejs_heap_*`, …).
 */
import * as prom from "prom-client";
import type { Counter, Gauge, Histogram, Labels, Metrics } from "../core/metrics.js";

export type { Counter, Gauge, Histogram, Labels, Metrics } from "../core/metrics.js";

/** Default buckets in seconds: HTTP-ish latencies from 5 ms to 10 s. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type Kind = "counter" | "gauge" | "histogram";

/** The declared labels only, each a string (missing: empty). */
function only(labelNames: string[], labels: Labels | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of labelNames) out[n] = String(labels?.[n] ?? "");
  return out;
}

/** A set of metrics rendered together. Registering the same name twice returns the first metric
 * when the type matches (so independent components can share a metric) and throws otherwise. */
export class MetricsRegistry implements Metrics {
  /** The prom-client registry (for `collectDefaultMetrics`-style integrations). */
  readonly registry = new prom.Registry();
  private readonly handles = new Map<string, { kind: Kind; handle: unknown }>();

  constructor(opts: { process?: boolean } = {}) {
    if (opts.process) prom.collectDefaultMetrics({ register: this.registry });
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter {
    const existing = this.existing<Counter>(name, "counter");
    if (existing) return existing;
    this.check(name, labelNames);
    const c = new prom.Counter({ name, help, labelNames, registers: [this.registry] });
    const handle: Counter = {
      inc: (labels, by = 1) => {
        if (by < 0) throw new Error(`counter ${name} cannot decrease`);
        c.inc(only(labelNames, labels), by);
      },
    };
    this.handles.set(name, { kind: "counter", handle });
    return handle;
  }

  gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    const existing = this.existing<Gauge>(name, "gauge");
    if (existing) return existing;
    this.check(name, labelNames);
    const g = new prom.Gauge({ name, help, labelNames, registers: [this.registry] });
    const handle: Gauge = {
      set: (labels, value) => g.set(only(labelNames, labels), value),
      inc: (labels, by = 1) => g.inc(only(labelNames, labels), by),
      dec: (labels, by = 1) => g.dec(only(labelNames, labels), by),
    };
    this.handles.set(name, { kind: "gauge", handle });
    return handle;
  }

  histogram(
    name: string,
    help: string,
    labelNames: string[] = [],
    buckets: number[] = DEFAULT_BUCKETS,
  ): Histogram {
    const existing = this.existing<Histogram>(name, "histogram");
    if (existing) return existing;
    if (labelNames.includes("le")) throw new Error(`histogram ${name}: "le" is reserved`);
    this.check(name, labelNames);
    const bounds = [...new Set(buckets)].sort((a, b) => a - b);
    const h = new prom.Histogram({ name, help, labelNames, buckets: bounds, registers: [this.registry] });
    const observe = (labels: Labels, value: number) => h.observe(only(labelNames, labels), value);
    const handle: Histogram = {
      observe,
      startTimer: (labels = {}) => {
        const start = process.hrtime.bigint();
        return (extra = {}) => {
          const secs = Number(process.hrtime.bigint() - start) / 1e9;
          observe({ ...labels, ...extra }, secs);
          return secs;
        };
      },
    };
    this.handles.set(name, { kind: "histogram", handle });
    return handle;
  }

  /**
   * A metric whose samples are read when `/metrics` is scraped, for components that keep their
   * own counters (the notification router, the sync state). `read` must be cheap and must not throw;
   * a throwing collector renders no samples rather than breaking the whole scrape.
   */
  collect(
    name: string,
    help: string,
    type: "counter" | "gauge",
    labelNames: string[],
    read: () => Iterable<{ labels?: Labels; value: number }>,
  ): void {
    if (this.handles.has(name)) throw new Error(`metric ${name} is already registered`);
    this.check(name, labelNames);
    const samples = () => {
      try {
        return [...read()];
      } catch {
        return [];
      }
    };
    if (type === "counter") {
      new prom.Counter({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const s of samples()) this.inc(only(labelNames, s.labels), s.value);
        },
      });
    } else {
      new prom.Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const s of samples()) this.set(only(labelNames, s.labels), s.value);
        },
      });
    }
    this.handles.set(name, { kind: type, handle: undefined });
  }

  /** The content type of `render()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The whole registry in Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  private existing<T>(name: string, kind: Kind): T | undefined {
    const found = this.handles.get(name);
    if (!found) return undefined;
    if (found.kind !== kind || found.handle === undefined)
      throw new Error(`metric ${name} is already registered as a ${found.kind}`);
    return found.handle as T;
  }

  private check(name: string, labelNames: string[]): void {
    if (!NAME_RE.test(name)) throw new Error(`invalid metric name ${name}`);
    for (const l of labelNames) if (!LABEL_RE.test(l)) throw new Error(`invalid label name ${l}`);
  }
}
