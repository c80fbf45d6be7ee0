import { z } from "zod";
import { b, code, type Message, type RichText, t } from "../../core/message.js";
import { type AppInstance, findInstance } from "../../core/release.js";
import { defineCommand } from "../registry.js";
import { checkName, lockText, short, tagsText } from "./format.js";

const USAGE = "status [<app>] [<env>]";

function cell(inst: AppInstance | undefined): RichText {
  if (!inst) return [t("-")];
  const out: RichText = [code(tagsText(inst))];
  const chart = inst.workload.chart?.version;
  if (chart) out.push(t(` chart ${chart}`));
  if (inst.workload.policies.automated) out.push(t(" · automated"));
  const lock = lockText(inst);
  if (lock) out.push(t(" · "), b(lock));
  return out;
}

function details(inst: AppInstance): Message["blocks"] {
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
  facts.push({ label: "automated", value: [t(w.policies.automated ? "yes" : "no")] });
  facts.push({ label: "locked", value: [t(lockText(inst) ?? "no")] });
  return [{ kind: "facts", facts }];
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
    if (single) blocks.push(...details(single));
    else {
      blocks.push({
        kind: "table",
        columns: ["app", ...envs],
        rows: apps.map((ap) => [[b(ap)], ...envs.map((e) => cell(findInstance(model, ap, e)))]),
      });
    }
    if (model.problems.length > 0) {
      const shown = model.problems.slice(0, 5).map((p) => `${p.file}: ${p.message}`);
      blocks.push({
        kind: "context",
        text: [t(`${model.problems.length} file(s) could not be read: ${shown.join("; ")}`)],
      });
    }
    blocks.push({ kind: "context", text: [t("config repo at "), code(short(model.revision))] });
    ctx.output({
      revision: model.revision,
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
        })),
      problems: model.problems,
    });
    const lines = apps.flatMap((ap) =>
      envs.map((e) => {
        const i = findInstance(model, ap, e);
        return i
          ? `${ap} ${e}: ${tagsText(i)}${i.workload.policies.automated ? " (automated)" : ""}${lockText(i) ? ` (${lockText(i)})` : ""}`
          : undefined;
      }),
    );
    return {
      title: [t(single ? `${app} in ${env}` : "Release status")],
      severity: "info",
      blocks,
      fallbackText: lines.filter(Boolean).join("\n") || "no apps found",
    };
  },
});
