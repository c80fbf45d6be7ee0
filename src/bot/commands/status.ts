import { z } from "zod";
import { b, code, type Message, type RichText, t } from "../../core/message.js";
import type { HelmReleaseSummary } from "../../core/ports.js";
import { type AppInstance, type EnvFreeze, findInstance, type ReleaseModel } from "../../core/release.js";
import { type CommandContext, defineCommand, type SyncSummary } from "../registry.js";
import { checkName, lockText, short, tagsText } from "./format.js";

const USAGE = "status [<app>] [<env>]";

/** The Helm phase of a HelmRelease instance, when the Helm reconciler recorded one. */
type HelmPhases = Map<string, HelmReleaseSummary>;
const helmOf = (phases: HelmPhases, inst: AppInstance) =>
  inst.workload.kind === "HelmRelease"
    ? phases.get(`${inst.workload.namespace}/${inst.workload.name}`)
    : undefined;
const helmText = (h: HelmReleaseSummary) =>
  `Helm ${h.phase}${h.revision !== undefined ? ` r${h.revision}` : ""}`;

async function helmPhases(ctx: CommandContext): Promise<HelmPhases> {
  if (!ctx.helm?.releases) return new Map();
  try {
    return new Map((await ctx.helm.releases()).map((h) => [h.key, h]));
  } catch (err) {
    ctx.logger.warn({ err }, "could not read the Helm release status");
    return new Map();
  }
}

function cell(inst: AppInstance | undefined, phases: HelmPhases): RichText {
  if (!inst) return [t("-")];
  const out: RichText = [code(tagsText(inst))];
  const chart = inst.workload.chart?.version;
  if (chart) out.push(t(` chart ${chart}`));
  const helm = helmOf(phases, inst);
  if (helm) out.push(t(` · ${helmText(helm)}`));
  if (inst.workload.policies.automated) out.push(t(" · automated"));
  const lock = lockText(inst);
  if (lock) out.push(t(" · "), b(lock));
  return out;
}

function details(inst: AppInstance, phases: HelmPhases): Message["blocks"] {
  const w = inst.workload;
  const facts: { label: string; value: RichText }[] = [
    { label: "workload", value: [t(`${w.kind} ${w.namespace}/${w.name}`)] },
    { label: "file", value: [code(w.file)] },
  ];
  for (const img of w.images) {
    facts.push({
      label: img.container,
      value: [
        code(`${img.repository}:${img.tag}`),
        ...(img.filter ? [t(` filter ${img.filter.kind}:${img.filter.expr}`)] : []),
      ],
    });
  }
  if (w.chart)
    facts.push({
      label: "chart",
      value: [t(`${w.chart.name ?? w.chart.path ?? "?"} ${w.chart.version ?? ""}`.trim())],
    });
  const helm = helmOf(phases, inst);
  if (helm) {
    facts.push({
      label: "helm",
      value: [
        t(
          `${helmText(helm)} (release ${helm.namespace}/${helm.release})${helm.message ? `: ${helm.message}` : ""}`,
        ),
      ],
    });
  }
  facts.push({ label: "automated", value: [t(w.policies.automated ? "yes" : "no")] });
  facts.push({ label: "locked", value: [t(lockText(inst) ?? "no")] });
  return [{ kind: "facts", facts }];
}

/** `2026-12-07 01:00 UTC`, or the text as written when it is no time. */
function utc(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** "prod is frozen by alice since 2026-12-07 01:00 UTC (2 h ago): release weekend" (one line). */
export function freezeLine(f: EnvFreeze, now: Date): string {
  const since = f.at
    ? ` since ${utc(f.at)}${Number.isNaN(Date.parse(f.at)) ? "" : ` (${ago(f.at, now)})`}`
    : "";
  return `${f.env} is frozen${f.by ? ` by ${f.by}` : ""}${since}${f.reason ? `: ${f.reason}` : ""}`;
}

/** The freezes of `envs`: each with who, since when and why, and what it means; then the freezes
 * file's mistakes, if any. */
function freezeBlocks(model: ReleaseModel, envs: string[], now: Date): Message["blocks"] {
  const out: Message["blocks"] = [];
  const frozen = (model.freezes ?? []).filter((f) => envs.includes(f.env));
  for (const f of frozen) {
    out.push({
      kind: "text",
      text: [
        b(freezeLine(f, now)),
        t(". Automation changes nothing there until "),
        code(`unfreeze ${f.env}`),
        t("; manual releases still work."),
      ],
    });
  }
  const problems = (model.freezeProblems ?? []).filter((p) => p.env === undefined || envs.includes(p.env));
  if (problems.length > 0) {
    const shown = problems.slice(0, 3).map((p) => p.message);
    // Without a readable env list automation cannot tell which env was meant, so it stops everywhere.
    const everywhere = problems.some((p) => p.env === undefined);
    out.push({
      kind: "context",
      text: [
        t(`${problems[0]?.file} has ${problems.length} mistake(s): ${shown.join("; ")}. `),
        ...(everywhere ? [b("Automation is stopped in every env until it is fixed. ")] : []),
        t(problems[0]?.hint ?? ""),
      ],
    });
  }
  return out;
}

/** The sync reconciler's last outcome; a reason instead when it cannot be read (no cluster access). */
async function syncSummary(ctx: CommandContext): Promise<SyncSummary | { unavailable: string } | undefined> {
  if (!ctx.sync?.status) return undefined;
  try {
    return await ctx.sync.status();
  } catch (err) {
    ctx.logger.warn({ err }, "could not read the sync state");
    return { unavailable: "the sync state could not be read from the cluster" };
  }
}

function ago(iso: string, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (Number.isNaN(s)) return iso;
  if (s < 90) return `${s}s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** One line: what the cluster runs, whether it is behind the config repo, errors and drift. */
function syncText(s: SyncSummary | { unavailable: string }, head: string, now: Date): RichText {
  if ("unavailable" in s) return [t(`cluster: ${s.unavailable}`)];
  if (s.result === "never") return [t("cluster: not synced yet")];
  const out: RichText = [t(s.result === "failed" ? "cluster: last sync failed" : "cluster synced")];
  if (s.revision) {
    out.push(t(" at "), code(short(s.revision)));
    if (s.revision !== head) out.push(t(" (behind the config repo)"));
  }
  if (s.time) out.push(t(` ${ago(s.time, now)}`));
  if (s.result === "failed" && s.message) out.push(t(`: ${s.message}`));
  if (s.errors > 0) out.push(t(" · "), b(`${s.errors} object(s) failed to apply`));
  if (s.drift > 0) out.push(t(` · ${s.drift} object(s) drifted`));
  return out;
}

/** `status [app] [env]`: the release matrix (apps x envs), or one instance in detail. */
export const status = defineCommand({
  name: "status",
  summary: "show what runs where: tag, chart version, automation and locks per app and environment",
  params: [
    { key: "app", label: "app", kind: "id", optional: true },
    { key: "env", label: "env", kind: "id", optional: true },
  ],
  args: z.object({ app: z.string().optional(), env: z.string().optional() }),
  sideEffects: "none",
  permission: (a) => ({ verb: "status", ...(a.env ? { env: a.env } : {}) }),
  examples: ["status", "status podinfo", "status prod", "status podinfo prod"],
  async run(a, ctx) {
    const model = await ctx.model();
    let app = a.app;
    let env = a.env;
    // `status prod` is more likely an env than a typo of an app.
    if (app && !env && !model.apps.includes(app) && model.envs.includes(app)) {
      env = app;
      app = undefined;
    }
    if (app) checkName(model, "app", app, USAGE);
    if (env) checkName(model, "env", env, USAGE);
    const envs = env ? [env] : model.envs;
    const apps = app ? [app] : model.apps;
    const blocks: Message["blocks"] = [];
    const single = app && env ? findInstance(model, app, env) : undefined;
    const isFrozen = (e: string) => (model.freezes ?? []).some((f) => f.env === e);
    const phases = await helmPhases(ctx);
    if (single) blocks.push(...details(single, phases));
    else {
      blocks.push({
        kind: "table",
        columns: ["app", ...envs.map((e) => (isFrozen(e) ? `${e} (frozen)` : e))],
        rows: apps.map((ap) => [[b(ap)], ...envs.map((e) => cell(findInstance(model, ap, e), phases))]),
      });
    }
    blocks.push(...freezeBlocks(model, envs, ctx.clock.now()));
    if (model.problems.length > 0) {
      const shown = model.problems.slice(0, 5).map((p) => `${p.file}: ${p.message}`);
      blocks.push({
        kind: "context",
        text: [t(`${model.problems.length} file(s) could not be read: ${shown.join("; ")}`)],
      });
    }
    blocks.push({ kind: "context", text: [t("config repo at "), code(short(model.revision))] });
    const sync = await syncSummary(ctx);
    if (sync) blocks.push({ kind: "context", text: syncText(sync, model.revision, ctx.clock.now()) });
    ctx.output({
      revision: model.revision,
      ...(sync ? { sync } : {}),
      instances: model.instances
        .filter((i) => apps.includes(i.app) && envs.includes(i.env))
        .map((i) => ({
          app: i.app,
          env: i.env,
          images: i.workload.images.map((im) => ({
            container: im.container,
            repository: im.repository,
            tag: im.tag,
          })),
          chartVersion: i.workload.chart?.version,
          automated: i.workload.policies.automated,
          locked: i.workload.policies.locked,
          ...(helmOf(phases, i) ? { helm: helmOf(phases, i) } : {}),
        })),
      problems: model.problems,
      freezes: (model.freezes ?? []).filter((f) => envs.includes(f.env)),
      freezeProblems: model.freezeProblems ?? [],
    });
    const lines = apps.flatMap((ap) =>
      envs.map((e) => {
        const i = findInstance(model, ap, e);
        return i
          ? `${ap} ${e}: ${tagsText(i)}${i.workload.policies.automated ? " (automated)" : ""}${lockText(i) ? ` (${lockText(i)})` : ""}`
          : undefined;
      }),
    );
    const now = ctx.clock.now();
    const frozenLines = (model.freezes ?? [])
      .filter((f) => envs.includes(f.env))
      .map((f) => freezeLine(f, now));
    return {
      title: [t(single ? `${app} in ${env}` : "Release status")],
      severity: "info",
      blocks,
      fallbackText: [...frozenLines, ...lines.filter(Boolean)].join("\n") || "no apps found",
    };
  },
});
