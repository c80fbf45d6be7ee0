/**
 * "Did you mean": the one suggestion grammar for chat commands, names in the config repo and
 * configuration keys. Pure; no project imports.
 */

/** Edit distance (Damerau-Levenshtein, optimal string alignment) for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      let v = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = v;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** Candidates close to `input` (typos, prefixes), best first, at most three. */
export function didYouMean(input: string, candidates: Iterable<string>): string[] {
  const x = input.toLowerCase();
  const scored: [string, number][] = [];
  for (const c of candidates) {
    const dist = editDistance(x, c.toLowerCase());
    const limit = Math.max(1, Math.floor(c.length / 3));
    if (dist <= limit) scored.push([c, dist]);
    else if (x.length >= 2 && c.toLowerCase().startsWith(x)) scored.push([c, limit + 0.5]);
  }
  return scored
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .slice(0, 3)
    .map(([c]) => c);
}
