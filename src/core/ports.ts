/**
 * Ports: the small interfaces through which the core talks to the outside world. Implementations
 * live elsewhere (pino logger in `main.ts`, the system clock); tests pass fakes.
 */

/** Structured logger (pino-compatible subset). `obj` fields are redacted by the implementation. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

/** Time source. Inject a fake in tests instead of mocking timers where practical. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A logger that drops everything; for tests and for library use without logging. */
export const nullLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return nullLogger;
  },
};
