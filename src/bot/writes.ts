/**
 * The writes a command makes: a `ReleaseOperations` wrapper that records every result (and forces
 * dry runs in previews), the `command-commit` events those results become, and the fingerprint of
 * a change that an approval binds to.
 */
import { createHash, randomUUID } from "node:crypto";
import type { CommandCommitEvent, EventSink } from "../core/events.js";
import { type Clock, type Logger, nullLogger, systemClock } from "../core/ports.js";
import type { Actor, OpOptions, OpResult, ReleaseOperations } from "../gitops/operations.js";

const WRITE_METHODS = [
  "release",
  "promote",
  "rollback",
  "lock",
  "unlock",
  "automate",
  "deautomate",
  "policy",
  "freeze",
  "unfreeze",
] as const;

/** What `WriteRecorder` needs. */
export interface WriteRecorderDeps {
  ops: ReleaseOperations;
  events?: EventSink | undefined;
  cluster?: string | undefined;
  clock?: Clock;
  logger?: Logger;
}

/** Records the writes of commands and turns their commits into events. One per engine. */
export class WriteRecorder {
  /** The free-text reason a write was made with (lock messages), for its event. */
  private readonly reasons = new WeakMap<OpResult, string>();
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly deps: WriteRecorderDeps) {
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? nullLogger;
  }

  /** The operations a command runs with: reads pass through, writes are recorded into `results`. */
  ops(results: OpResult[], preview: boolean): ReleaseOperations {
    const inner = this.deps.ops;
    const wrapped: ReleaseOperations = {
      model: () => inner.model(),
      plan: (a) => inner.plan(a),
      history: (a) => inner.history(a),
    } as ReleaseOperations;
    for (const m of WRITE_METHODS) {
      (wrapped as unknown as Record<string, (a: OpOptions) => Promise<OpResult>>)[m] = async (
        a: OpOptions,
      ) => {
        // A preview must never commit, whatever the command passes.
        const r = await (inner[m] as (a: OpOptions) => Promise<OpResult>).call(
          inner,
          preview ? { ...a, dryRun: true } : a,
        );
        if (a.message) this.reasons.set(r, a.message);
        results.push(r);
        return r;
      };
    }
    return wrapped;
  }

  /** Emits one `command-commit` event per result that made a commit. Never throws. */
  emit(results: OpResult[], actor: Actor, approvers: Actor[]): void {
    const sink = this.deps.events;
    if (!sink) return;
    for (const r of results) {
      // An env-wide change (freeze) is no release of an app: the channel sees the command's reply.
      if (!r.commit.sha || !isAppChange(r)) continue;
      try {
        sink.emit(this.event(r, actor, approvers));
      } catch (e) {
        this.logger.warn({ err: e }, "event sink failed");
      }
    }
  }

  private event(
    r: OpResult & { action: CommandCommitEvent["action"] },
    actor: Actor,
    approvers: Actor[],
  ): CommandCommitEvent {
    const reason = this.reasons.get(r);
    return {
      kind: "command-commit",
      id: randomUUID(),
      time: this.clock.now().toISOString(),
      cluster: this.deps.cluster ?? "default",
      env: r.env,
      app: r.app,
      correlationId: r.commit.sha as string,
      action: r.action,
      actor: actor.name,
      approvers: approvers.map((a) => a.name),
      commit: { sha: r.commit.sha as string, subject: r.subject, author: actor.name },
      changes: r.imageChanges.map((c) => ({
        container: c.container,
        image: c.repository,
        from: c.from,
        to: c.to,
      })),
      ...(reason !== undefined ? { message: reason } : {}),
      ...(r.locked
        ? {
            locked: {
              user: actor.name,
              ...(r.action === "lock" && reason !== undefined ? { message: reason } : {}),
            },
          }
        : {}),
    };
  }
}

/** True for a change to one app (every write but the env-wide freeze and unfreeze). */
function isAppChange(r: OpResult): r is OpResult & { action: CommandCommitEvent["action"] } {
  return r.action !== "freeze" && r.action !== "unfreeze";
}

/**
 * The fingerprint of what a set of (dry-run) writes would change: per write its app, env, action,
 * image changes, chart change and lock. An approval binds to it: if the same command would now do
 * something else (someone released to the source env meanwhile), the approval does not apply.
 */
export function changeFingerprint(results: OpResult[]): string {
  const facts = results.map((r) => ({
    app: r.app,
    env: r.env,
    action: r.action,
    images: r.imageChanges.map((c) => [c.container, c.repository, c.from, c.to]),
    chart: r.chartChange ? [r.chartChange.from ?? "", r.chartChange.to ?? ""] : null,
    locked: r.locked,
  }));
  return createHash("sha256").update(JSON.stringify(facts)).digest("hex").slice(0, 32);
}
