import { z } from "zod";

/** A duration such as `30s`, `5m`, `1h`, `1h30m`, or a number of milliseconds. */
export const duration = z
  .union([
    z.number().int().nonnegative(),
    z.string().regex(/^(\d+(ms|s|m|h))+$/, "use a duration like 30s, 5m or 1h"),
  ])
  .transform((v) => (typeof v === "number" ? v : parseDuration(v)));

/** Parses `1h30m`, `45s`, `250ms` into milliseconds. */
export function parseDuration(s: string): number {
  let total = 0;
  for (const m of s.matchAll(/(\d+)(ms|s|m|h)/g)) {
    const n = Number(m[1]);
    total += m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n * 3_600_000;
  }
  return total;
}
