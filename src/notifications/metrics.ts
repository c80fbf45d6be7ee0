/**
 * Prometheus text exposition of the notification counters, for the `/metrics` endpoint.
 * Counter names are stable (dashboards and alerts use them).
 */
import type { NotificationCounters, NotificationMetrics } from "./router.js";

const COUNTERS: Record<keyof NotificationCounters, string> = {
  sent: "Messages (posts, updates, thread replies) the platform accepted.",
  coalesced: "Event updates merged into a message that was still waiting to be sent.",
  rateLimited: "429 answers received (the destination then waits for Retry-After).",
  retries: "Retries after a 5xx or network error.",
  undeliverable: "Messages given up on (permanent error or attempts exhausted), each logged once.",
};

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const label = (s: string) => s.replace(/["\\\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));

/** Renders the router's counters as Prometheus text (one series per destination). */
export function notificationMetricsText(m: NotificationMetrics): string {
  const lines = [
    "# HELP gitops_notification_events_total Events received by the notification router.",
    "# TYPE gitops_notification_events_total counter",
    `gitops_notification_events_total ${m.events}`,
    "# HELP gitops_notification_events_skipped_total Events posted nowhere (empty sync, no matching route).",
    "# TYPE gitops_notification_events_skipped_total counter",
    `gitops_notification_events_skipped_total ${m.skipped}`,
  ];
  for (const [key, help] of Object.entries(COUNTERS) as [keyof NotificationCounters, string][]) {
    const name = `gitops_notification_${snake(key)}_total`;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const [dest, c] of Object.entries(m.destinations))
      lines.push(`${name}{destination="${label(dest)}"} ${c[key]}`);
  }
  return `${lines.join("\n")}\n`;
}
