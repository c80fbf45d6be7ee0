/**
 * The notification router's counters on `/metrics`, read at scrape time. Counter names are stable
 * (dashboards and alerts use them): `gitops_notification_<counter>_total{destination="…"}`.
 */
import type { NotificationCounters } from "./lane.js";
import type { NotificationMetrics } from "./router.js";

const COUNTERS: Record<keyof NotificationCounters, string> = {
  sent: "Messages (posts, updates, thread replies) the platform accepted.",
  coalesced: "Event updates merged into a message that was still waiting to be sent.",
  rateLimited: "429 answers received (the destination then waits for Retry-After).",
  retries: "Retries after a 5xx or network error.",
  undeliverable: "Messages given up on (permanent error or attempts exhausted), each logged once.",
};

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Anything with `MetricsRegistry.collect` (the HTTP server's registry). */
export interface MetricsCollector {
  collect(
    name: string,
    help: string,
    type: "counter",
    labelNames: string[],
    read: () => Iterable<{ labels?: Record<string, string>; value: number }>,
  ): void;
}

/** How `gitops_notification_deliveries_total` names each counter as a `result`. */
const RESULTS: [keyof NotificationCounters, string][] = [
  ["sent", "delivered"],
  ["rateLimited", "rate_limited"],
  ["retries", "retried"],
  ["undeliverable", "undeliverable"],
];

/** Registers the router's counters (one series per destination) with `metrics`; `providerOf`
 * names a destination's provider (`slack`, `teams`, `webhook`) for the deliveries counter. */
export function registerNotificationMetrics(
  metrics: MetricsCollector,
  router: { metrics(): NotificationMetrics },
  providerOf: (destination: string) => string = () => "",
): void {
  metrics.collect(
    "gitops_notification_deliveries_total",
    "Delivery attempts by destination, provider and result (delivered, rate_limited, retried, undeliverable).",
    "counter",
    ["destination", "provider", "result"],
    () =>
      Object.entries(router.metrics().destinations).flatMap(([destination, c]) =>
        RESULTS.map(([k, result]) => ({
          labels: { destination, provider: providerOf(destination), result },
          value: c[k],
        })),
      ),
  );
  metrics.collect(
    "gitops_notification_events_total",
    "Events received by the notification router.",
    "counter",
    [],
    () => [{ value: router.metrics().events }],
  );
  metrics.collect(
    "gitops_notification_events_skipped_total",
    "Events posted nowhere (empty sync, no matching route).",
    "counter",
    [],
    () => [{ value: router.metrics().skipped }],
  );
  for (const [key, help] of Object.entries(COUNTERS) as [keyof NotificationCounters, string][]) {
    metrics.collect(`gitops_notification_${snake(key)}_total`, help, "counter", ["destination"], () =>
      Object.entries(router.metrics().destinations).map(([destination, c]) => ({
        labels: { destination },
        value: c[key],
      })),
    );
  }
}
