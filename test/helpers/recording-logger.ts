/** A `Logger` that keeps every entry, for tests that assert on what was (or was not) logged. */
import type { Logger } from "../../src/core/ports.js";

export interface LogRecord {
  level: string;
  obj: object;
  msg?: string;
}

export class RecordingLogger implements Logger {
  readonly records: LogRecord[] = [];

  /** Each entry as one JSON line (what a log shipper would see), for text searches. */
  get lines(): string[] {
    return this.records.map((r) => JSON.stringify({ level: r.level, ...r.obj, msg: r.msg }));
  }

  private log(level: string, obj: object, msg?: string): void {
    this.records.push({ level, obj, ...(msg === undefined ? {} : { msg }) });
  }
  debug(obj: object, msg?: string) {
    this.log("debug", obj, msg);
  }
  info(obj: object, msg?: string) {
    this.log("info", obj, msg);
  }
  warn(obj: object, msg?: string) {
    this.log("warn", obj, msg);
  }
  error(obj: object, msg?: string) {
    this.log("error", obj, msg);
  }
  child() {
    return this;
  }
}
