import { hostname } from "node:os";
import { type Logger, nullLogger } from "../core/ports.js";
import { isStatus, type KubeClient, type KubeObject } from "./client.js";

export interface LeaderElectionOptions {
  namespace: string;
  /** Lease name (default `gitops-bot-leader`). */
  name?: string;
  /** This replica's identity (default: hostname + random suffix). */
  identity?: string;
  /** A lease not renewed for this long may be taken over (default 15 s). */
  leaseDurationMs?: number;
  /** The leader gives up (and stops writing) if it could not renew for this long; < leaseDuration (default 10 s). */
  renewDeadlineMs?: number;
  /** Interval between renewals / acquisition attempts (default 2 s). */
  retryPeriodMs?: number;
  logger?: Logger;
}

/** What the elector calls. `onStartedLeading` gets a signal that aborts the moment leadership ends. */
export interface LeaderCallbacks {
  onStartedLeading(signal: AbortSignal): void;
  onStoppedLeading?(): void;
  onNewLeader?(identity: string): void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** MicroTime as the API server wants it (RFC 3339 with microseconds). */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, with client-go's algorithm: a candidate
 * takes the lease only after it has seen the same record unchanged for a whole lease duration
 * (measured on its own monotonic clock, so clocks need not agree). The leader renews every retry
 * period; if it cannot renew for `renewDeadlineMs` it aborts the leading signal *before* anybody
 * could take the lease (renewDeadline < leaseDuration), so a deposed leader stops writing first.
 * Lease requests time out (max(1 s, retry period)); the step-down itself is a timer, so a hung call cannot delay it.
 */
export class LeaderElector {
  readonly identity: string;
  private readonly name: string;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private readonly logger: Logger;
  private leading: AbortController | undefined;
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;
  private loop: Promise<void> | undefined;
  private stopping = new AbortController();
  private deadline: NodeJS.Timeout | undefined;
  private knownLeader: string | undefined;

  constructor(
    private readonly kube: KubeClient,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.identity = opts.identity ?? `${hostname()}-${Math.random().toString(36).slice(2, 8)}`;
    this.name = opts.name ?? "gitops-bot-leader";
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    if (this.renewMs >= this.leaseMs) throw new Error("renewDeadline must be shorter than leaseDuration");
    this.logger = (opts.logger ?? nullLogger).child({ lease: this.name, identity: this.identity });
  }

  /** True while this replica holds the lease (and has renewed within the deadline). */
  isLeader(): boolean {
    return this.leading !== undefined && !this.leading.signal.aborted;
  }

  /** The last leader seen (this replica or another). */
  leader(): string | undefined {
    return this.knownLeader;
  }

  /** Starts campaigning in the background until `stop()`. */
  run(cb: LeaderCallbacks): void {
    if (this.loop) throw new Error("leader election already running");
    this.stopping = new AbortController();
    this.loop = this.campaign(cb);
  }

  /** Stops campaigning; a leader stops leading and releases the lease so a peer takes over at once. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    this.loop = undefined;
  }

  private async campaign(cb: LeaderCallbacks): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      // The deadline counts from when the renewal was sent: peers may see it from then on.
      const sent = performance.now();
      try {
        const ok = await this.tryAcquireOrRenew();
        if (ok) {
          this.lastRenew = sent;
          this.armDeadline(cb, sent);
          if (!this.leading) {
            this.leading = new AbortController();
            this.logger.info({}, "became leader");
            cb.onStartedLeading(this.leading.signal);
          }
        } else if (this.leading) {
          this.stepDown(cb, "lease taken by another replica");
        }
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, "lease request failed");
        if (this.leading && performance.now() - this.lastRenew >= this.renewMs)
          this.stepDown(cb, "renew deadline passed");
      }
      await sleep(this.retryMs, stop);
    }
    if (this.leading) {
      this.stepDown(cb, "stopping");
      await this.release().catch((err) =>
        this.logger.warn({ err: (err as Error).message }, "could not release lease"),
      );
    }
    if (this.deadline) clearTimeout(this.deadline);
  }

  /** A timer, not the loop, enforces the renew deadline: a hung request must not delay the step-down. */
  private armDeadline(cb: LeaderCallbacks, sent: number): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = setTimeout(
      () => {
        if (this.leading) this.stepDown(cb, "renew deadline passed");
      },
      Math.max(0, this.renewMs - (performance.now() - sent)),
    );
    this.deadline.unref?.();
  }

  private stepDown(cb: LeaderCallbacks, why: string): void {
    if (!this.leading) return;
    this.logger.warn({ why }, "stopped leading");
    this.leading.abort(new Error(`leadership lost: ${why}`));
    this.leading = undefined;
    if (this.deadline) clearTimeout(this.deadline);
    cb.onStoppedLeading?.();
  }

  /** The Lease this elector campaigns for. */
  private leaseRef() {
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: this.opts.namespace,
      name: this.name,
    };
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    // Bounded, but not so tight that a slow API server deposes a healthy leader: the renew
    // deadline timer, not this timeout, is what guarantees the step-down.
    // `stop()` ends a request in flight at once: a hanging API server must not hold up a shutdown.
    const signal = AbortSignal.any([
      AbortSignal.timeout(Math.max(1_000, this.retryMs)),
      this.stopping.signal,
    ]);
    const ref = this.leaseRef();
    const now = new Date();
    const lease = await this.kube.get(ref, { signal });
    const mine: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    if (!lease) {
      try {
        await this.kube.create(
          {
            apiVersion: ref.apiVersion,
            kind: ref.kind,
            metadata: { name: this.name, namespace: this.opts.namespace },
            spec: mine,
          },
          { signal },
        );
      } catch (err) {
        if (isStatus(err, 409)) return false;
        if (isStatus(err, 404)) {
          // The namespace does not exist yet: create it, and try again next period.
          await this.kube
            .create(
              { apiVersion: "v1", kind: "Namespace", metadata: { name: this.opts.namespace } },
              { signal },
            )
            .catch((e) => {
              if (!isStatus(e, 409)) throw e;
            });
          return false;
        }
        throw err;
      }
      this.knownLeader = this.identity;
      return true;
    }
    const spec = (lease.spec ?? {}) as LeaseSpec;
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime]);
    if (this.observed?.record !== record) this.observed = { record, at: performance.now() };
    const holder = spec.holderIdentity ?? "";
    if (holder && holder !== this.knownLeader) this.logger.info({ leader: holder }, "leader seen");
    this.knownLeader = holder || undefined;
    const held = holder !== "" && holder !== this.identity;
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseMs / 1000) * 1000;
    if (held && performance.now() - this.observed.at < durationMs) return false;
    const next: KubeObject = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
        renewTime: microTime(now),
        acquireTime: holder === this.identity ? spec.acquireTime : microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === this.identity ? 0 : 1),
      },
    };
    try {
      // PUT with the resourceVersion we read: of two candidates only one wins.
      await this.kube.replace(next, { signal });
    } catch (err) {
      if (isStatus(err, 409)) return false;
      throw err;
    }
    this.knownLeader = this.identity;
    return true;
  }

  private async release(): Promise<void> {
    const ref = this.leaseRef();
    const lease = await this.kube.get(ref, { signal: AbortSignal.timeout(this.retryMs) });
    const spec = (lease?.spec ?? {}) as LeaseSpec;
    if (!lease || spec.holderIdentity !== this.identity) return;
    // client-go's ReleaseOnCancel: an empty holder with a 1 s duration lets a peer take over now.
    await this.kube.replace(
      {
        ...lease,
        spec: { ...spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(new Date()) },
      },
      { signal: AbortSignal.timeout(this.retryMs) },
    );
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Something that reconciles only while this replica leads (e.g. `SyncService`). */
export interface Leadable {
  /** Start working; stop by itself when `signal` aborts. No signal: run until `pause()`. */
  lead(signal?: AbortSignal): void;
  pause(): void;
  /** After `pause()` at shutdown: wait for work that must not be cut off (a helm upgrade). */
  drain?(): Promise<unknown>;
}

/**
 * Runs `participants` while this replica holds the lease (`elector`), or right away and for good
 * when leader election is off (`undefined`). Returns the shutdown function main.ts calls on
 * SIGTERM: it pauses the participants, then releases the lease so a peer takes over at once.
 */
export function runWhileLeading(
  elector: LeaderElector | undefined,
  participants: Leadable[],
): () => Promise<void> {
  if (!elector) {
    for (const p of participants) p.lead();
  } else {
    elector.run({
      onStartedLeading: (signal) => {
        for (const p of participants) p.lead(signal);
      },
      onStoppedLeading: () => {
        for (const p of participants) p.pause();
      },
    });
  }
  return async () => {
    for (const p of participants) p.pause();
    // Still the leader while draining: nobody else starts on a release we are upgrading.
    await Promise.all(participants.map((p) => p.drain?.()));
    await elector?.stop();
  };
}
