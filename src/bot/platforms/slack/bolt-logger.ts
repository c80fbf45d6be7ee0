/**
 * Bolt's logger interface on our `Logger`.
 */
import type { Logger as BoltLogger, LogLevel } from "@slack/bolt";
import type { Logger } from "../../../core/ports.js";

/** Bolt's logger interface on top of ours (so Bolt's messages are redacted like everything else). */
export class BoltLoggerAdapter implements BoltLogger {
  private level = "info" as LogLevel;
  constructor(private readonly log: Logger) {}
  private msg(parts: unknown[]): string {
    return parts
      .map((p) => (typeof p === "string" ? p : p instanceof Error ? p.message : JSON.stringify(p)))
      .join(" ");
  }
  debug(...m: unknown[]): void {
    this.log.debug({}, this.msg(m));
  }
  info(...m: unknown[]): void {
    this.log.info({}, this.msg(m));
  }
  warn(...m: unknown[]): void {
    this.log.warn({}, this.msg(m));
  }
  error(...m: unknown[]): void {
    this.log.error({}, this.msg(m));
  }
  setLevel(level: LogLevel): void {
    this.level = level;
  }
  getLevel(): LogLevel {
    return this.level;
  }
  setName(): void {}
}
