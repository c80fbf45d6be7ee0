/**
 * Whether the config repo's server answers, for `/readyz`: a service whose git server is gone
 * cannot take commands, so it should not say it is ready (issue 11). Fed by every fetch and push.
 */

/** Options of `RemoteHealth.ready`. */
export interface ReadyOptions {
  /** A successful fetch or push this recent counts as healthy without asking again (default 60 s). */
  maxAgeMs?: number;
  /** Answer (false) after this long even when the server hangs (default 1.5 s). */
  timeoutMs?: number;
}

/** Tracks the last answer of the remote and probes it when that is too old or was a failure. */
export class RemoteHealth {
  private okAt: number | undefined;
  private failedAt: number | undefined;
  /** The probe in flight, shared by overlapping readiness calls so they do not pile up. */
  private probe: Promise<boolean> | undefined;

  /** `fetch` talks to the remote (and reports to `ok`/`failed` itself); `now` is the clock in ms. */
  constructor(
    private readonly now: () => number,
    private readonly fetch: () => Promise<unknown>,
  ) {}

  /** The remote answered (a fetch or a push went through). */
  ok(): void {
    this.okAt = this.now();
  }

  /** A fetch failed (unreachable, refused, timed out). */
  failed(): void {
    this.failedAt = this.now();
  }

  /**
   * True when the remote answered within `maxAgeMs` and nothing failed since; otherwise fetches now
   * and answers within `timeoutMs` (the fetch goes on in the background). Never throws.
   */
  async ready(o: ReadyOptions = {}): Promise<boolean> {
    const fresh = this.okAt !== undefined && this.now() - this.okAt <= (o.maxAgeMs ?? 60_000);
    if (fresh && (this.failedAt === undefined || this.failedAt < (this.okAt as number))) return true;
    this.probe ??= this.fetch()
      .then(
        () => true,
        () => false,
      )
      .finally(() => {
        this.probe = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), o.timeoutMs ?? 1_500);
    });
    try {
      return await Promise.race([this.probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
