/**
 * A tiny Prometheus registry (counters, gauges and histograms) rendered in the text exposition
 * format 0.0.4 by `GET /metrics`. Deliberately small: no summaries, no exemplars, no timestamps.
 * Any component may register metrics through the `HttpServer.metrics` instance it is given.
 *
 *   const sent = metrics.counter("gitops_notifications_total", "Notifications sent.", ["provider"]);
 *   sent.inc({ provider: "slack" });
 *   const dur = metrics.histogram("gitops_commit_seconds", "Commit duration.", [], [0.1, 0.5, 1, 5]);
 *   dur.observe({}, 0.42);
 */

export type Labels = Record<string, string | number>;

/** A monotonically increasing value per label set. */
export interface Counter {
  inc(labels?: Labels, by?: number): void;
}

/** A value that goes up and down per label set. */
export interface Gauge {
  set(labels: Labels, value: number): void;
  inc(labels?: Labels, by?: number): void;
  dec(labels?: Labels, by?: number): void;
}

/** Observations counted into cumulative buckets (upper bounds, in the metric's unit). */
export interface Histogram {
  observe(labels: Labels, value: number): void;
  /** Starts a timer; calling the returned function observes the elapsed seconds. */
  startTimer(labels?: Labels): (extra?: Labels) => number;
}

/** Default buckets in seconds: HTTP-ish latencies from 5 ms to 10 s. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Metric {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  labelNames: string[];
  render(lines: string[]): void;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelKey(labelNames: string[], labels: Labels | undefined): string {
  // A stable key independent of the caller's property order; unknown labels are dropped, missing ones empty.
  return labelNames.map((n) => String(labels?.[n] ?? "")).join("\u0000");
}

function renderLabels(labelNames: string[], key: string, extra?: [string, string]): string {
  const values = key === "" && labelNames.length === 0 ? [] : key.split("\u0000");
  const parts = labelNames.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function fmt(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  return Number.isNaN(n) ? "NaN" : String(n);
}

/** A set of metrics rendered together. Registering the same name twice returns the first metric
 * when the type matches (so independent components can share a metric) and throws otherwise. */
export class MetricsRegistry {
  private readonly metrics = new Map<string, { metric: Metric; handle: unknown }>();

  counter(name: string, help: string, labelNames: string[] = []): Counter {
    const existing = this.existing<Counter>(name, "counter");
    if (existing) return existing;
    const values = new Map<string, number>();
    const handle: Counter = {
      inc: (labels, by = 1) => {
        if (by < 0) throw new Error(`counter ${name} cannot decrease`);
        const k = labelKey(labelNames, labels);
        values.set(k, (values.get(k) ?? 0) + by);
      },
    };
    this.add(
      {
        name,
        help,
        type: "counter",
        labelNames,
        render: (lines) => {
          for (const [k, v] of values) lines.push(`${name}${renderLabels(labelNames, k)} ${fmt(v)}`);
        },
      },
      handle,
    );
    return handle;
  }

  gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    const existing = this.existing<Gauge>(name, "gauge");
    if (existing) return existing;
    const values = new Map<string, number>();
    const add = (labels: Labels | undefined, by: number) => {
      const k = labelKey(labelNames, labels);
      values.set(k, (values.get(k) ?? 0) + by);
    };
    const handle: Gauge = {
      set: (labels, value) => values.set(labelKey(labelNames, labels), value),
      inc: (labels, by = 1) => add(labels, by),
      dec: (labels, by = 1) => add(labels, -by),
    };
    this.add(
      {
        name,
        help,
        type: "gauge",
        labelNames,
        render: (lines) => {
          for (const [k, v] of values) lines.push(`${name}${renderLabels(labelNames, k)} ${fmt(v)}`);
        },
      },
      handle,
    );
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
    const bounds = [...new Set(buckets)].sort((a, b) => a - b);
    const series = new Map<string, { counts: number[]; sum: number; count: number }>();
    const observe = (labels: Labels, value: number) => {
      const k = labelKey(labelNames, labels);
      let s = series.get(k);
      if (!s) {
        s = { counts: bounds.map(() => 0), sum: 0, count: 0 };
        series.set(k, s);
      }
      for (let i = 0; i < bounds.length; i++)
        if (value <= (bounds[i] as number)) s.counts[i] = (s.counts[i] ?? 0) + 1;
      s.sum += value;
      s.count += 1;
    };
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
    this.add(
      {
        name,
        help,
        type: "histogram",
        labelNames,
        render: (lines) => {
          for (const [k, s] of series) {
            for (let i = 0; i < bounds.length; i++) {
              const le = fmt(bounds[i] as number);
              lines.push(`${name}_bucket${renderLabels(labelNames, k, ["le", le])} ${s.counts[i] ?? 0}`);
            }
            lines.push(`${name}_bucket${renderLabels(labelNames, k, ["le", "+Inf"])} ${s.count}`);
            lines.push(`${name}_sum${renderLabels(labelNames, k)} ${fmt(s.sum)}`);
            lines.push(`${name}_count${renderLabels(labelNames, k)} ${s.count}`);
          }
        },
      },
      handle,
    );
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
    if (this.metrics.has(name)) throw new Error(`metric ${name} is already registered`);
    this.add(
      {
        name,
        help,
        type,
        labelNames,
        render: (lines) => {
          let samples: { labels?: Labels; value: number }[];
          try {
            samples = [...read()];
          } catch {
            return;
          }
          for (const s of samples)
            lines.push(`${name}${renderLabels(labelNames, labelKey(labelNames, s.labels))} ${fmt(s.value)}`);
        },
      },
      undefined,
    );
  }

  /** The whole registry in Prometheus text format (ends with a newline). */
  render(): string {
    const lines: string[] = [];
    for (const { metric } of this.metrics.values()) {
      lines.push(`# HELP ${metric.name} ${metric.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
      lines.push(`# TYPE ${metric.name} ${metric.type}`);
      metric.render(lines);
    }
    return `${lines.join("\n")}\n`;
  }

  private existing<T>(name: string, type: Metric["type"]): T | undefined {
    const found = this.metrics.get(name);
    if (!found) return undefined;
    if (found.metric.type !== type)
      throw new Error(`metric ${name} is already registered as a ${found.metric.type}`);
    return found.handle as T;
  }

  private add(metric: Metric, handle: unknown): void {
    if (!NAME_RE.test(metric.name)) throw new Error(`invalid metric name ${metric.name}`);
    for (const l of metric.labelNames) if (!LABEL_RE.test(l)) throw new Error(`invalid label name ${l}`);
    this.metrics.set(metric.name, { metric, handle });
  }
}
