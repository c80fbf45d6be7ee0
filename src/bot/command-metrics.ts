/**
 * What the engine records when a command ends: `gitops_commands_total{verb,result,platform}`,
 * `gitops_command_duration_seconds{verb,platform}` and the "command done" log line (outcome,
 * duration, commits; the logger carries the invocation id, which the commit's log line also has).
 */

import type { Counter, Histogram, Metrics } from "../core/metrics.js";
import type { Logger } from "../core/ports.js";
import type { EngineResult } from "./engine.js";
import type { Invocation } from "./platform.js";

export class CommandMetrics {
  private readonly total: Counter | undefined;
  private readonly seconds: Histogram | undefined;

  constructor(metrics: Metrics | undefined) {
    this.total = metrics?.counter(
      "gitops_commands_total",
      "Commands handled, by verb, outcome (ok, user-error, internal-error, approval-requested, confirmation-needed) and platform.",
      ["verb", "result", "platform"],
    );
    this.seconds = metrics?.histogram(
      "gitops_command_duration_seconds",
      "Time from a command's start to its reply being ready, by verb and platform.",
      ["verb", "platform"],
      [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    );
  }

  /** Counts, times and logs one finished command; `log` carries the invocation id. */
  record(inv: Invocation, r: EngineResult, seconds: number, log: Logger): void {
    // Only a known verb sets `command` (a bounded label); text that did not parse is "unknown".
    const verb = r.command?.split(" ")[0] ?? "unknown";
    this.total?.inc({ verb, result: r.outcome, platform: inv.platform });
    this.seconds?.observe({ verb, platform: inv.platform }, seconds);
    log.info(
      {
        verb,
        outcome: r.outcome,
        ms: Math.round(seconds * 1000),
        commits: r.results.filter((x) => x.commit.sha).length,
        ...(r.error?.ref ? { ref: r.error.ref } : {}),
      },
      "command done",
    );
  }
}
