/** Jittered exponential backoff: 25 ms, 50 ms, 100 ms … capped at 2 s, each scaled by 0.5–1.0 (`random` in [0, 1)). */
export function backoff(attempt: number, random: () => number): number {
  const base = Math.min(2000, 25 * 2 ** (attempt - 1));
  return Math.round(base * (0.5 + random() * 0.5));
}
