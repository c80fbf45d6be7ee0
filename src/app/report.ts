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
import type { Config } from "../config/schema.js";
import { UserError } from "../core/errors.js";
import type { HelmReleaseSummary, Logger } from "../core/ports.js";
import type { KeyValueRecord } from "../core/record.js";
import { Redactor } from "../core/redact.js";
import { frozenInModel } from "../gitops/freezes.js";
import { GitConfigRepo } from "../gitops/git-config-repo.js";
import { ReleaseService } from "../gitops/release-service.js";
import type { KubeClient } from "../kube/client.js";
import { createLogger } from "../logging.js";
import { CommitLinker } from "../notifications/format/links.js";
import { HELM_FIELD_MANAGER } from "../reconciler/helm/service.js";
import { HelmStateStore, releaseSummaries } from "../reconciler/helm/state.js";
import { ImageCatalogService } from "../reconciler/images/catalog.js";
import { imageScanner, registryClient } from "../reconciler/images/registries.js";
import { ImageStateStore } from "../reconciler/images/state.js";
import { FIELD_MANAGER } from "../reconciler/sync/service.js";
import { SyncStateStore } from "../reconciler/sync/state.js";
import { buildReports, helmOff, IMAGES_OFF, type ReportsDeps } from "./reports.js";
import { buildState } from "./state.js";

/** The sections `report` reads; chat front ends (and their tokens) do not matter to it. */
const SECTIONS = [
  "clusterName",
  "repo",
  "log",
  "approvals",
  "sync",
  "kube",
  "notifications",
  "images",
  "helm",
] as const;

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
    const ops = new ReleaseService({
      repo,
      releasesPath: cfg.repo.releasesPath,
      envsFrom: cfg.repo.envsFrom,
    });
    const reports = buildReports(cfg, {
      ops,
      repo,
      approvals: state.approvals,
      ...(syncStatus ? { syncStatus } : {}),
      images: imagesReadSide(cfg, state.imageStatus, logger),
      helm:
        state.syncRuns && state.kube && cfg.helm.enabled
          ? { releases: helmReleases(state.kube, cfg) }
          : { off: helmOff(cfg, state.syncRuns) },
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

/**
 * Image automation's read side as `serve` has it: the `images` catalog over the registries of
 * `images` (the same scanner and planner, freezes from the model) and its status record.
 */
function imagesReadSide(
  cfg: Pick<Config, "images">,
  record: KeyValueRecord,
  logger: Logger,
): NonNullable<ReportsDeps["images"]> {
  if (cfg.images.enabled === false) return { off: IMAGES_OFF };
  const scanner = imageScanner(cfg.images, registryClient(cfg.images, logger));
  return {
    catalog: (model) =>
      new ImageCatalogService({
        ops: model,
        scanner,
        frozenEnvs: async () => frozenInModel(await model.model()),
      }),
    status: () => new ImageStateStore(record).load(),
  };
}

/** The HelmRelease reconciler's status record, as `HelmCommands.releases` reports it. */
function helmReleases(kube: KubeClient, cfg: Pick<Config, "sync">): () => Promise<HelmReleaseSummary[]> {
  const store = new HelmStateStore(kube, {
    namespace: cfg.sync.namespace,
    name: cfg.sync.name,
    fieldManager: HELM_FIELD_MANAGER,
  });
  return () => releaseSummaries(store);
}
