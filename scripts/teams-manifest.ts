/**
 * Generates the Teams app manifest's command list (`bots[0].commandLists`) from the command
 * registry, so the commands Teams suggests are exactly the ones the engine runs.
 *
 *   npx tsx scripts/teams-manifest.ts           rewrite manifest.json in place
 *   npx tsx scripts/teams-manifest.ts --check   exit 1 when manifest.json is out of date (CI)
 *
 * Teams limits (manifest schema v1.17 and later): at most 10 commands per list, title ≤ 32 characters,
 * description ≤ 128 characters.
 */
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { commands } from "../src/bot/commands/index.js";
import type { AnyCommand } from "../src/bot/registry.js";

/** One entry of a Teams command list. */
export interface TeamsCommand {
  title: string;
  description: string;
}

const MAX_COMMANDS = 10;
const SCOPES = ["personal", "team", "groupChat"];

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** The command list: `help` first, then the registry order, at most 10 entries. */
export function teamsCommands(list: AnyCommand[] = commands): TeamsCommand[] {
  const ordered = [...list.filter((c) => c.name === "help"), ...list.filter((c) => c.name !== "help")];
  return ordered.slice(0, MAX_COMMANDS).map((c) => {
    const summary = `${c.summary[0]?.toUpperCase() ?? ""}${c.summary.slice(1)}`;
    // The usage without flags keeps the description short; `help <command>` shows the rest.
    const usage = c.usage.replace(/\s*\[--[a-z-]+\]/g, "");
    return {
      title: clip(c.name, 32),
      description: clip(c.name === "help" ? summary : `${summary}: ${usage}`, 128),
    };
  });
}

/** Returns `manifest` with its first bot's command lists replaced by the generated one. */
export function withCommands(
  manifest: Record<string, unknown>,
  list: TeamsCommand[] = teamsCommands(),
): Record<string, unknown> {
  const bots = (manifest["bots"] as Record<string, unknown>[] | undefined) ?? [];
  const [first, ...rest] = bots;
  const bot = { ...(first ?? {}), commandLists: [{ scopes: SCOPES, commands: list }] };
  return { ...manifest, bots: [bot, ...rest] };
}

async function main(argv: string[]): Promise<number> {
  const path = resolve(fileURLToPath(import.meta.url), "../../manifest.json");
  const before = await readFile(path, "utf8");
  const after = `${JSON.stringify(withCommands(JSON.parse(before) as Record<string, unknown>), null, 2)}\n`;
  if (argv.includes("--check")) {
    if (after !== before) {
      process.stderr.write(
        "manifest.json: the command list is out of date; run `npx tsx scripts/teams-manifest.ts`\n",
      );
      return 1;
    }
    return 0;
  }
  if (after !== before) await writeFile(path, after);
  process.stdout.write(`manifest.json: ${after === before ? "up to date" : "command list updated"}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((c) => {
    process.exitCode = c;
  });
}
