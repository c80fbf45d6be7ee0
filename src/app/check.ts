import { parseArgs } from "node:util";
import { ambiguousIds } from "../bot/authz.js";
import { ConfigError, loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { isUserError, UserError } from "../core/errors.js";
import { nullLogger } from "../core/ports.js";
import { GitConfigRepo } from "../gitops/git-config-repo.js";
import { ReleaseService } from "../gitops/release-service.js";
import { probeHelm } from "../reconciler/helm/service.js";
import { imagesPlan } from "./reconcilers.js";
import { clusterPlan } from "./state.js";

/** One finding of `check --json`: a config key (`path`) or a file in the config repo (`file`). */
export interface CheckFinding {
  path?: string;
  file?: string;
  message: string;
  hint?: string;
}

/** The `check --json` document. `ok` is false when any problem (not warning) was found. */
export interface CheckReport {
  ok: boolean;
  config?: {
    clusterName: string;
    frontEnds: string[];
    sync: string;
    images: string;
    helm?: string;
    destinations: string[];
  };
  repo?: { url: string; branch: string; revision: string; envs: string[]; apps: string[]; instances: number };
  problems: CheckFinding[];
  warnings: CheckFinding[];
}

/** True for an address only this machine can reach (`127.0.0.0/8`, `::1`, `localhost`). */
function isLoopbackBind(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Whether the HelmRelease reconciler would run, by serve's rule; a missing helm binary is a warning. */
async function helmLine(cfg: Config, syncRuns: boolean, report: CheckReport): Promise<string> {
  if (!cfg.helm.enabled) return "off (helm.enabled: false)";
  if (!syncRuns) return "off (it runs with the sync, which is off)";
  const probe = await probeHelm(cfg.helm.binary);
  if (!probe.ok) {
    report.warnings.push({ path: "helm.binary", message: probe.error });
    return "off (no usable helm binary)";
  }
  return `on (${probe.version}), ${cfg.helm.concurrency} release(s) at a time, v2 HelmReleases: ${cfg.helm.v2}`;
}

/** Things that work but are probably not what the operator wants. */
function configWarnings(cfg: Config): CheckFinding[] {
  const out: CheckFinding[] = [];
  if (!cfg.slack && !cfg.teams)
    out.push({ path: "", message: "no chat front end is configured (no `slack` or `teams` section)" });
  if (cfg.teams && !cfg.teams.appId) {
    out.push({
      path: "teams.appId",
      message: "Teams requests are NOT authenticated without appId (local testing only)",
    });
    if (!isLoopbackBind(cfg.http.host))
      out.push({
        path: "http.host",
        message: `the HTTP server listens on ${cfg.http.host === "0.0.0.0" || cfg.http.host === "::" ? "every interface" : cfg.http.host} (${cfg.http.host}:${cfg.http.port}) while Teams runs in test mode: anyone who can reach that port can run any command as any user they name, prod included`,
        hint: "for local testing set `http.host: 127.0.0.1`; anywhere else set teams.appId, teams.appPassword and teams.tenantId",
      });
  }
  for (const a of ambiguousIds(cfg.authz, cfg.approvals))
    out.push({
      path: a.path,
      message: `"${a.id}" has no platform prefix and does not look like a Slack (U…) or Teams (AAD object id) user id; it is taken as a Slack id. Write slack:${a.id}, teams:${a.id}, cli:${a.id} or shell:${a.id}`,
    });
  return out;
}

/**
 * `gitops-bot check [--config F] [--config-only] [--json]`: validates the configuration (every
 * problem at once), then opens the config repo and reads the release model, listing each broken file
 * with its hint. Exit code 0 when everything is usable, 1 when the config or a file in the repo needs
 * fixing. Without `--json` an invalid configuration throws its `ConfigError` (cli.ts prints it);
 * with `--json` every outcome is one JSON object on stdout. Bad flags throw a usage `UserError`.
 */
export async function runCheck(
  argv: string[],
  io: { stdout: NodeJS.WritableStream; env?: Record<string, string | undefined> } = {
    stdout: process.stdout,
  },
): Promise<number> {
  let values: { config?: string; "config-only"?: boolean; json?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: "string", short: "c" },
        "config-only": { type: "boolean" },
        json: { type: "boolean" },
      },
    }));
  } catch (e) {
    throw new UserError((e as Error).message, { code: "usage" });
  }
  const json = values.json === true;
  const report: CheckReport = { ok: true, problems: [], warnings: [] };
  const finish = (): number => {
    report.ok = report.problems.length === 0;
    if (json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : 1;
  };
  const out = (s: string) => {
    if (!json) io.stdout.write(`${s}\n`);
  };

  let cfg: Config;
  try {
    cfg = await loadConfig(values.config, io.env ?? process.env);
  } catch (e) {
    if (!json || !isUserError(e)) throw e;
    if (e instanceof ConfigError) report.problems.push(...e.problems);
    else report.problems.push({ message: e.message, ...(e.hint ? { hint: e.hint } : {}) });
    return finish();
  }
  const frontEnds = [cfg.slack && "slack", cfg.teams && "teams"].filter((x): x is string => !!x);
  // The same rule serve uses: without a cluster to reach, the sync is off (and says why).
  const plan = clusterPlan(cfg, io.env ?? process.env);
  const sync = plan.syncRuns
    ? `every ${cfg.sync.interval / 1000}s, ${plan.line.replace(/^sync: on, /, "")}`
    : plan.line.replace(/^sync: /, "");
  const destinations = cfg.notifications.destinations.map((d) => d.name);
  // Image automation needs no cluster; with one (and leader election) only the leader runs it.
  const images = imagesPlan(cfg, plan.location.kind !== "none").line.replace(/^image automation: /, "");
  const helm = await helmLine(cfg, plan.syncRuns, report);
  report.config = { clusterName: cfg.clusterName, frontEnds, sync, images, helm, destinations };
  report.warnings.push(...configWarnings(cfg));
  out(`configuration ok: cluster ${cfg.clusterName}`);
  out(`  front ends: ${frontEnds.join(", ") || "none"}`);
  out(`  sync: ${sync}`);
  out(`  image automation: ${images}`);
  out(`  helm: ${helm}`);
  out(`  notification destinations: ${destinations.join(", ") || "none"}`);
  for (const w of report.warnings) {
    out(`  warning: ${w.path ? `${w.path}: ` : ""}${w.message}`);
    if (w.hint) out(`    hint: ${w.hint}`);
  }
  if (values["config-only"]) return finish();

  await checkRepo(cfg, report, out, json);
  return finish();
}

/**
 * Opens the config repo and reads the release model into `report`; false when the repo could not
 * be opened with a user error (recorded as a problem; only with `--json`, else it is thrown).
 */
async function checkRepo(
  cfg: Config,
  report: CheckReport,
  out: (s: string) => void,
  json: boolean,
): Promise<boolean> {
  let repo: GitConfigRepo;
  try {
    repo = await GitConfigRepo.open(cfg.repo, { logger: nullLogger });
  } catch (e) {
    if (!json || !isUserError(e)) throw e;
    report.problems.push({ path: "repo.url", message: e.message, ...(e.hint ? { hint: e.hint } : {}) });
    return false;
  }
  try {
    const model = await new ReleaseService({
      repo,
      releasesPath: cfg.repo.releasesPath,
      envsFrom: cfg.repo.envsFrom,
    }).model();
    report.repo = {
      url: repo.publicUrl,
      branch: cfg.repo.branch,
      revision: model.revision,
      envs: model.envs,
      apps: model.apps,
      instances: model.instances.length,
    };
    out(`config repo ok: ${repo.publicUrl} at ${model.revision.slice(0, 7)} (${cfg.repo.branch})`);
    out(`  envs: ${model.envs.join(", ") || "none"}`);
    out(`  apps: ${model.apps.join(", ") || "none"} (${model.instances.length} app instances)`);
    for (const p of model.problems)
      report.problems.push({ file: p.file, message: p.message, ...(p.hint ? { hint: p.hint } : {}) });
    if (model.problems.length > 0) {
      out(`${model.problems.length} problem(s) in the config repo (other apps are unaffected):`);
      for (const p of model.problems) {
        out(`  - ${p.file}: ${p.message}`);
        if (p.hint) out(`    hint: ${p.hint}`);
      }
    }
    return true;
  } finally {
    await repo.close();
  }
}
