/**
 * Shared pieces for command replies: the reply to a write (commit link, image and chart changes,
 * or the diff of a dry run), instance lookup with a helpful error, and small text helpers.
 */
import { UserError } from "../../core/errors.js";
import { b, code, link, type Message, type RichText, type Span, t } from "../../core/message.js";
import { type AppInstance, findInstance, type ReleaseModel } from "../../core/release.js";
import { didYouMean } from "../../core/suggest.js";
import type { OpResult } from "../../gitops/operations.js";
import type { CommandContext } from "../registry.js";

/** The instance of `app` in `env`, or a `UserError` naming the envs the app is in. */
export function requireInstance(model: ReleaseModel, app: string, env: string): AppInstance {
  const inst = findInstance(model, app, env);
  if (inst) return inst;
  const envs = model.instances.filter((i) => i.app === app).map((i) => i.env);
  throw new UserError(`${app} is not deployed in ${env}`, {
    code: "unknown-instance",
    hint: envs.length ? `${app} is in ${envs.join(", ")}.` : `No environment has ${app}.`,
  });
}

/** Short SHA. */
export function short(sha: string): string {
  return sha.slice(0, 7);
}

/** A commit as a link when the repo has a web URL, else as code. */
export function commitSpan(ctx: Pick<CommandContext, "commitUrl">, sha: string): Span {
  const url = ctx.commitUrl(sha);
  return url ? link(short(sha), url) : code(short(sha));
}

/** Tags of an instance, `container=tag` when it has several containers. */
export function tagsText(inst: AppInstance): string {
  const imgs = inst.workload.images;
  if (imgs.length === 0) return "-";
  if (imgs.length === 1) return (imgs[0] as { tag: string }).tag;
  return imgs.map((i) => `${i.container}=${i.tag}`).join(", ");
}

/** "locked by alice: db migration (since …)" or undefined. */
export function lockText(inst: AppInstance): string | undefined {
  const l = inst.workload.policies.locked;
  if (!l) return undefined;
  return `locked${l.user ? ` by ${l.user}` : ""}${l.message ? `: ${l.message}` : ""}${l.since ? ` (since ${l.since})` : ""}`;
}

/** The reply to a write: what changed, the commit, or the diff of a dry run / preview. */
export function resultMessage(r: OpResult, ctx: CommandContext, dryRun: boolean): Message {
  const facts: { label: string; value: RichText }[] = [];
  for (const c of r.imageChanges) {
    facts.push({ label: c.container, value: [code(c.from || "-"), t(" → "), code(c.to)] });
  }
  if (r.chartChange && r.chartChange.from !== r.chartChange.to) {
    facts.push({
      label: "chart",
      value: [code(r.chartChange.from ?? "-"), t(" → "), code(r.chartChange.to ?? "-")],
    });
  }
  if (r.locked && r.action !== "lock")
    facts.push({
      label: "locked",
      value: [t("yes, pinned here; "), code("unlock"), t(" lets automation move it again")],
    });
  const blocks: Message["blocks"] = [];
  if (dryRun || ctx.preview) {
    if (facts.length) blocks.push({ kind: "facts", facts });
    blocks.push(
      r.commit.diff
        ? { kind: "code", text: r.commit.diff, language: "diff" }
        : { kind: "text", text: [t("No file would change.")] },
    );
    blocks.push({ kind: "context", text: [t("Dry run: nothing was committed.")] });
    return {
      title: [b("Dry run: "), t(r.subject)],
      severity: "info",
      blocks,
      fallbackText: `Dry run: ${r.subject}\n${r.commit.diff}`,
      visibility: "actor",
    };
  }
  if (!r.commit.sha) {
    return {
      title: [t(`Nothing to do: ${r.app} in ${r.env} is already like that`)],
      severity: "info",
      blocks: facts.length ? [{ kind: "facts", facts }] : [],
      fallbackText: `Nothing to do: ${r.subject}`,
      visibility: "channel",
    };
  }
  facts.push({ label: "commit", value: [commitSpan(ctx, r.commit.sha)] });
  blocks.push({ kind: "facts", facts });
  return {
    title: [t(r.subject)],
    severity: "success",
    blocks,
    fallbackText: `${r.subject} (${short(r.commit.sha)})`,
    visibility: "channel",
  };
}

/** Checks a name against the model's apps or envs, with "did you mean" on a miss. */
export function checkName(model: ReleaseModel, kind: "app" | "env", value: string, usage: string): string {
  const known = kind === "app" ? model.apps : model.envs;
  if (known.includes(value)) return value;
  const close = didYouMean(value, known);
  throw new UserError(
    `unknown ${kind} "${value}"${close.length ? `; did you mean ${close.join(" or ")}?` : ""}`,
    {
      code: kind === "app" ? "unknown-app" : "unknown-env",
      hint: `${kind === "app" ? "Apps" : "Environments"}: ${known.join(", ") || "none found"}. Usage: ${usage}`,
    },
  );
}
