import { pino } from "pino";
import type { Logger } from "./core/ports.js";
import { Redactor } from "./core/redact.js";

/**
 * Creates the process logger: JSON lines on stderr (stdout stays free for command output),
 * every string field passed through the redactor so no configured secret and no
 * credential-looking value (URL userinfo, bearer tokens, Slack tokens) is ever written.
 */
export function createLogger(
  opts: { level?: string; secrets?: string[]; destination?: NodeJS.WritableStream } = {},
): Logger {
  const redactor = new Redactor(opts.secrets ?? []);
  const base = pino(
    {
      level: opts.level ?? "info",
      base: undefined,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        // Redact the message and every argument, whatever its shape.
        logMethod(args, method) {
          const cleaned = args.map((a) => (typeof a === "string" ? redactor.text(a) : redactor.value(a)));
          return method.apply(this, cleaned as Parameters<typeof method>);
        },
      },
      serializers: { err: (e: unknown) => redactor.value(serializeError(e)) },
    },
    (opts.destination ?? process.stderr) as NodeJS.WritableStream & { write(s: string): boolean },
  );
  return wrap(base);
}

function serializeError(e: unknown): unknown {
  if (e instanceof Error)
    return {
      type: e.name,
      message: e.message,
      stack: e.stack,
      cause: e.cause ? serializeError(e.cause) : undefined,
    };
  return e;
}

function wrap(p: pino.Logger): Logger {
  return {
    debug: (o, m) => p.debug(o, m),
    info: (o, m) => p.info(o, m),
    warn: (o, m) => p.warn(o, m),
    error: (o, m) => p.error(o, m),
    child: (b) => wrap(p.child(b)),
  };
}
