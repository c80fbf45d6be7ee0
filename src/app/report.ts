/**
 * `gitops-bot report [<name>] [--config FILE] [--print | --json]`: builds a sync report now, for a
 * shell or a script, from the same builder and sections as the scheduled post and the `report`
 * chat command. The state comes from where `serve` keeps it (the same rule, `app/state.ts`): the
 * cluster's records when there is a cluster, else the files beside the repo workdir.
 *
 * Exit codes: 0 printed, 1 user error (unknown report, unreadable config or repo), 2 usage error.
 */
import { parseArgs } from "node:util";
import { configSecrets, loadConfig } from "../config/load.js";
import { UserError } from "../core/errors.js";
import { Redactor } from "../core/redact.js";
import { GitConfigRepo } from "../gitops/git-config-repo.js";
import { ReleaseService } from "../gitops/release-service.js";
import { createLogger } from "../logging.js";
import { CommitLinker } from "../notifications/format/links.js";
import { FIELD_MANAGER } from "../reconciler/sync/service.js";
import { SyncStateStore } from "../reconciler/sync/state.js";
import { buildReports } from "./reports.js";
import { buildState } from "./state.js";

/** The sections `report` reads; chat front ends (and their tokens) do not matter to it. */
const SECTIONS = ["clusterName", "repo", "log", "approvals", "sync", "kube", "notifications"] as const;

export interface ReportIO {
  stdout: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

/** Runs `gitops-bot report`; returns the exit code (user errors are thrown to cli.ts). */
export async function runReport(argv: string[], io: ReportIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      print: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (values.print && values.json)
    throw new UserError("--print and --json exclude each other", { code: "usage" });
  if (positionals.length > 1)
    throw new UserError(`one report name at most, got ${positionals.length}`, { code: "usage" });
  const cfg = await loadConfig(values.config, io.env, { sections: SECTIONS });
  const secrets = configSecrets(cfg);
  const logger = createLogger({ level: "warn", secrets, destination: process.stderr });
  const state = await buildState(cfg, { env: io.env, logger });
  const repo = await GitConfigRepo.open(cfg.repo, { logger });
  try {
    const linker = new CommitLinker(
      cfg.notifications.repoUrl ?? repo.publicUrl,
      cfg.notifications.templates?.commitLink,
    );
    const syncStatus =
      state.syncRuns && state.kube
        ? new SyncStateStore(state.kube, {
            namespace: cfg.sync.namespace,
            name: cfg.sync.name,
            source: `${repo.publicUrl}#${cfg.repo.branch}`,
            fieldManager: FIELD_MANAGER,
          })
        : undefined;
    const reports = buildReports(cfg, {
      ops: new ReleaseService({ repo, releasesPath: cfg.repo.releasesPath, envsFrom: cfg.repo.envsFrom }),
      repo,
      approvals: state.approvals,
      ...(syncStatus ? { syncStatus } : {}),
      commitUrl: (sha) => linker.url(sha),
      logger,
    });
    const built = await reports.runner.build(positionals[0]);
    const redactor = new Redactor(secrets);
    io.stdout.write(
      values.json ? `${JSON.stringify(redactor.value(built.data), null, 2)}\n` : redactor.text(built.text),
    );
    return 0;
  } finally {
    await repo.close();
    await state.stop();
  }
}
