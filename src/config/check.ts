import { parseArgs } from "node:util";
import { nullLogger } from "../core/ports.js";
import { GitConfigRepo } from "../gitops/git-config-repo.js";
import { ReleaseService } from "../gitops/release-service.js";
import { loadConfig } from "./load.js";

/**
 * `gitops-bot check [--config F] [--env-only]`: validates the configuration (every problem at once),
 * then opens the config repo and reads the release model, listing each broken file with its hint.
 * Exit code 0 when everything is usable, 1 when the config or a file in the repo needs fixing.
 */
export async function runCheck(
  argv: string[],
  io: { stdout: NodeJS.WritableStream; env?: Record<string, string | undefined> } = {
    stdout: process.stdout,
  },
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: "string", short: "c" }, "config-only": { type: "boolean" } },
  });
  const cfg = await loadConfig(values.config, io.env ?? process.env);
  const out = (s: string) => io.stdout.write(`${s}\n`);
  out(`configuration ok: cluster ${cfg.clusterName}`);
  out(`  front ends: ${[cfg.slack && "slack", cfg.teams && "teams"].filter(Boolean).join(", ") || "none"}`);
  out(`  sync: ${cfg.sync.enabled ? `every ${cfg.sync.interval / 1000}s` : "off"}`);
  out(
    `  notification destinations: ${cfg.notifications.destinations.map((d) => d.name).join(", ") || "none"}`,
  );
  if (values["config-only"]) return 0;

  const repo = await GitConfigRepo.open(cfg.repo, { logger: nullLogger });
  try {
    const model = await new ReleaseService({
      repo,
      releasesPath: cfg.repo.releasesPath,
      envsFrom: cfg.repo.envsFrom,
    }).model();
    out(`config repo ok: ${repo.publicUrl} at ${model.revision.slice(0, 7)} (${cfg.repo.branch})`);
    out(`  envs: ${model.envs.join(", ") || "none"}`);
    out(`  apps: ${model.apps.join(", ") || "none"} (${model.instances.length} app instances)`);
    if (model.problems.length === 0) return 0;
    out(`${model.problems.length} problem(s) in the config repo (other apps are unaffected):`);
    for (const p of model.problems) {
      out(`  - ${p.file}: ${p.message}`);
      if (p.hint) out(`    hint: ${p.hint}`);
    }
    return 1;
  } finally {
    await repo.close();
  }
}
