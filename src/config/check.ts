import { parseArgs } from "node:util";
import { loadConfig } from "./load.js";

/**
 * `gitops-bot check [--config F]`: validates the configuration (all problems at once) and
 * prints a summary. Returns the process exit code.
 */
export async function runCheck(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: "string", short: "c" } } });
  const cfg = await loadConfig(values.config);
  process.stdout.write(`configuration ok: cluster ${cfg.clusterName}, repo ${cfg.repo.branch}\n`);
  return 0;
}
