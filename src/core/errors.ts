/**
 * The three kinds of failure gitops-bot distinguishes (DESIGN.md "Errors").
 *
 * - `UserError`: bad input or forbidden. Shown to the user as is, with a hint saying what to do.
 * - `StalledError`: misconfiguration (in the config repo or the cluster). Not retried until the
 *   input changes.
 * - `TransientError`: network, conflict, rate limit. Retried with backoff.
 *
 * Anything else is an internal error: the user sees "internal error (ref …)" and the log has it all.
 */
export class UserError extends Error {
  override readonly name = "UserError";
  /** What the user should do about it, one sentence. */
  readonly hint: string | undefined;
  /** A stable machine-readable code, e.g. `unknown-app`, `forbidden`, `filter-mismatch`. */
  readonly code: string;
  constructor(message: string, opts: { hint?: string; code?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.hint = opts.hint;
    this.code = opts.code ?? "user-error";
  }
}

export class StalledError extends Error {
  override readonly name = "StalledError";
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
  }
}

export class TransientError extends Error {
  override readonly name = "TransientError";
  /** Server-suggested delay before the next try, if any (e.g. from `Retry-After`). */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, opts: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** True for errors whose message may be shown to a user verbatim. */
export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/** A short random id that ties a user-visible "internal error (ref …)" to the log line. */
export function correlationId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  for (let i = 0; i < 10; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}
