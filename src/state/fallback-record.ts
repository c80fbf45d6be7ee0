/**
 * A shared record (the cluster's ConfigMap) that never makes chat wait on the cluster (issue #11).
 *
 * Every call goes to the primary with a deadline. When the primary fails for a reason other than
 * the caller's own mistake (a `UserError`, e.g. the record is full), or does not answer in time,
 * the record is "degraded": it says so once, and from then on calls are served at once by a local
 * record holding the last data read from the primary plus the edits made since. A background probe
 * (every `probeMs`) reads the primary; when it answers, the keys edited while degraded are written
 * to it (the local value wins for those keys, others keep the primary's), and it says so once.
 *
 * The records of one cluster share a `ClusterOutage`: once one of them finds the cluster
 * unavailable, the others serve locally at once instead of each waiting out its own deadline (a
 * command touches several stores; against an API server that hangs, each would add one deadline).
 *
 * What replicas do not see while the cluster is away: each other's edits made during the outage,
 * until it is back. That is the price of answering chat during an outage, and it is logged.
 */
import { UserError } from "../core/errors.js";
import { type Logger, nullLogger } from "../core/ports.js";
import { type KeyValueRecord, MemoryRecord } from "./record.js";

export interface FallbackRecordOptions {
  /** How long a call waits for the primary before it is served locally (default 3 s). */
  timeoutMs?: number;
  /** How often a degraded record probes the primary (default 15 s). */
  probeMs?: number;
  /** Where edits go while degraded (default in memory). */
  local?: KeyValueRecord;
  /** What the record holds, for the log lines ("pending approvals"). */
  what: string;
  logger?: Logger;
  /** Shared by the records of one cluster (see the file comment). */
  outage?: ClusterOutage;
}

/** Whether the records of one cluster found it unavailable: set by the first to degrade, cleared by a recovery. */
export class ClusterOutage {
  private down = false;

  get isDown(): boolean {
    return this.down;
  }

  markDown(): void {
    this.down = true;
  }

  markUp(): void {
    this.down = false;
  }
}

const DELETED = "\u0000deleted";

export class FallbackRecord implements KeyValueRecord {
  private degraded = false;
  private readonly local: KeyValueRecord;
  /** Keys edited while degraded: value, or `DELETED`. */
  private readonly dirty = new Map<string, string>();
  private probe: NodeJS.Timeout | undefined;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly probeMs: number;

  constructor(
    private readonly primary: KeyValueRecord,
    private readonly opts: FallbackRecordOptions,
  ) {
    this.local = opts.local ?? new MemoryRecord(`${primary.name} (local)`);
    this.logger = opts.logger ?? nullLogger;
    this.timeoutMs = opts.timeoutMs ?? 3000;
    this.probeMs = opts.probeMs ?? 15_000;
  }

  get name(): string {
    return this.primary.name;
  }

  /** Whether calls are served locally because the primary is unavailable. */
  get isDegraded(): boolean {
    return this.degraded;
  }

  async read(): Promise<Record<string, string>> {
    this.followOutage();
    if (!this.degraded) {
      try {
        const d = await this.withDeadline(this.primary.read());
        await this.mirror(d);
        return d;
      } catch (err) {
        if (err instanceof UserError) throw err;
        this.degrade(err);
      }
    }
    return this.local.read();
  }

  async modify(edit: (d: Record<string, string>) => boolean): Promise<boolean> {
    this.followOutage();
    if (!this.degraded) {
      try {
        let written: Record<string, string> | undefined;
        const changed = await this.withDeadline(
          this.primary.modify((d) => {
            const c = edit(d);
            written = d;
            return c;
          }),
        );
        // What the primary holds now, so an outage starts from it.
        if (changed && written) await this.mirror(written);
        return changed;
      } catch (err) {
        if (err instanceof UserError) throw err;
        // The primary may still apply it after our deadline; the edit is applied again locally
        // and written back on recovery, so edits must be idempotent (set a key, not add to it).
        this.degrade(err);
      }
    }
    return this.modifyLocal(edit);
  }

  /** Stops the probe (the service's stop). */
  close(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
  }

  private async modifyLocal(edit: (d: Record<string, string>) => boolean): Promise<boolean> {
    let before: Record<string, string> = {};
    let after: Record<string, string> = {};
    const changed = await this.local.modify((d) => {
      before = { ...d };
      const c = edit(d);
      after = d;
      return c;
    });
    if (changed) {
      for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
        if (before[k] !== after[k]) this.dirty.set(k, after[k] ?? DELETED);
      }
    }
    return changed;
  }

  private async mirror(d: Record<string, string>): Promise<void> {
    await this.local.modify((l) => {
      for (const k of Object.keys(l)) if (!(k in d)) delete l[k];
      Object.assign(l, d);
      return true;
    });
  }

  /** Another record of this cluster found it unavailable: do not wait for it here either. */
  private followOutage(): void {
    if (!this.degraded && this.opts.outage?.isDown)
      this.degrade(new Error("another record found the cluster unavailable"));
  }

  private degrade(err: unknown): void {
    if (this.degraded) return;
    this.degraded = true;
    this.opts.outage?.markDown();
    this.logger.warn(
      { err, record: this.primary.name },
      `the cluster is unavailable: ${this.opts.what} are kept in this process until it is back (other replicas do not see changes made meanwhile)`,
    );
    this.probe = setInterval(() => void this.recover(), this.probeMs);
    this.probe.unref?.();
  }

  private recovering = false;

  /** Probes the primary; on success writes the keys edited while degraded and leaves degraded mode. */
  async recover(): Promise<boolean> {
    if (!this.degraded || this.recovering) return !this.degraded;
    this.recovering = true;
    try {
      const pending = new Map(this.dirty);
      if (pending.size > 0) {
        await this.withDeadline(
          this.primary.modify((d) => {
            for (const [k, v] of pending) {
              if (v === DELETED) delete d[k];
              else d[k] = v;
            }
            return true;
          }),
        );
      }
      const d = await this.withDeadline(this.primary.read());
      for (const [k, v] of pending) if (this.dirty.get(k) === v) this.dirty.delete(k);
      if (this.dirty.size > 0) return false; // edited again meanwhile: the next probe writes it
      await this.mirror(d);
      this.degraded = false;
      this.opts.outage?.markUp();
      this.close();
      this.logger.info(
        { record: this.primary.name, written: pending.size },
        `the cluster is back: ${this.opts.what} are shared again`,
      );
      return true;
    } catch {
      return false;
    } finally {
      this.recovering = false;
    }
  }

  private withDeadline<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer from the cluster within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    // A late rejection of `p` after the deadline must not become an unhandled rejection.
    p.catch(() => undefined);
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }
}
