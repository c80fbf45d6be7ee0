/**
 * The metrics port: what components register their Prometheus series through. The implementation
 * is `MetricsRegistry` (src/http/metrics.ts, on prom-client), served at `GET /metrics`; components
 * get it through their deps, never a global.
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

/** Registers metrics; the same name twice returns the first one (when the type matches). */
export interface Metrics {
  counter(name: string, help: string, labelNames?: string[]): Counter;
  gauge(name: string, help: string, labelNames?: string[]): Gauge;
  histogram(name: string, help: string, labelNames?: string[], buckets?: number[]): Histogram;
  /** A metric whose samples `read` returns at scrape time (cheap, must not throw). */
  collect(
    name: string,
    help: string,
    type: "counter" | "gauge",
    labelNames: string[],
    read: () => Iterable<{ labels?: Labels; value: number }>,
  ): void;
}
