/**
 * Benchmark runner: `npm run bench -- [name …]`. Discovers `bench/*.ts` (except this file); each
 * module's default export `run(): Promise<string>` performs one benchmark (ours vs a peer, in this
 * process run) and returns its summary line:
 *
 *   <name>: ours=<value><unit> peer=<value><unit> ratio=<ours/peer> [other=value …]
 *
 * With no names, every benchmark runs in file-name order. Progress goes to stderr, summary lines
 * to stdout (one per benchmark), so scripts can read stdout. Exit code 1 if any benchmark failed
 * or a requested name does not exist.
 */
import { readdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The contract of a benchmark module. */
export type Benchmark = () => Promise<string>;

const SUMMARY = /^[\w.-]+: ours=\S+ peer=\S+ ratio=\S+( \S+=\S+)*$/;

async function main(argv: string[]): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  const available = (await readdir(here))
    .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.endsWith(".d.ts"))
    .map((f) => basename(f, ".ts"))
    .sort();
  const wanted = argv.filter((a) => !a.startsWith("-"));
  const unknown = wanted.filter((w) => !available.includes(w));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(", ")}; available: ${available.join(", ")}\n`);
    return 1;
  }
  let failed = 0;
  for (const name of wanted.length > 0 ? wanted : available) {
    process.stderr.write(`[bench] ${name} …\n`);
    const started = Date.now();
    try {
      const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { default?: Benchmark };
      if (typeof mod.default !== "function") throw new Error(`bench/${name}.ts has no default export run()`);
      const line = (await mod.default()).trim();
      if (!SUMMARY.test(line))
        process.stderr.write(`[bench] warning: ${name} summary does not follow the format\n`);
      process.stdout.write(`${line}\n`);
      process.stderr.write(`[bench] ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    } catch (e) {
      failed++;
      process.stderr.write(
        `[bench] ${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
    }
  }
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
