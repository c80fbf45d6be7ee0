/**
 * `rollback <app> <env> [to <tag|commit>]`: goes back to the version deployed before the current
 * one (per the history), or to a commit of the file's history, or to a tag; always locks (pins),
 * replacing an existing lock: it is the emergency operation. A named target must have run in that
 * env (a commit of the file's history, or a tag one of its commits deployed).
 */
import { UserError } from "../../core/errors.js";
import { printable } from "../../core/names.js";
import type { AppInstance } from "../../core/release.js";
import { findInFile, type HistoryRecord, readHistory } from "../history.js";
import { isValidTag } from "../image-ref.js";
import type { ImageChange, OpOptions } from "../operations.js";
import { resourceId } from "../trailers.js";
import { imageTrailers, lockText, releaseBody, setTags } from "./edits.js";
import { pickImage, resolveInstance } from "./guards.js";
import type { Operation, OperationContext } from "./runner.js";

/** Arguments of `rollback`. */
export type RollbackArgs = { app: string; env: string; to?: string } & OpOptions;

interface RollbackPlan {
  label: string;
  changes: ImageChange[];
}

interface Target {
  label: string;
  tags: { container: string; tag: string }[];
}

/** The rollback operation (see the file comment). */
export const rollbackOp: Operation<RollbackArgs, RollbackPlan> = {
  action: "rollback",
  async plan(model, a, ctx) {
    const inst = resolveInstance(model, a.app, a.env);
    const current = new Map(inst.workload.images.map((i) => [i.container, i.tag]));
    const deployedNow = (h: HistoryRecord) =>
      h.images.length > 0 &&
      h.images.every((i) => current.get(i.container) === i.tag) &&
      h.previous.length > 0;
    const history = await readHistory(ctx.repo, inst, {
      ...ctx.discovery,
      limit: 100,
      // Without `to`, the newest commit that deployed what runs now is all we need.
      ...(a.to === undefined ? { stop: deployedNow } : {}),
    });
    const target =
      a.to === undefined
        ? previousTarget(inst, history, deployedNow)
        : await namedTarget(inst, history, a.to, ctx);
    const changes: ImageChange[] = [];
    for (const t of target.tags) {
      const img = inst.workload.images.find((i) => i.container === t.container);
      if (img && img.tag !== t.tag) {
        changes.push({ container: img.container, repository: img.repository, from: img.tag, to: t.tag });
      }
    }
    return { inst, plan: { label: target.label, changes } };
  },
  check(inst, plan) {
    if (plan.changes.length === 0 && inst.workload.policies.locked) {
      throw new UserError(`${inst.env}/${inst.app} already runs ${plan.label} and is locked`, {
        code: "no-change",
      });
    }
  },
  apply(text, now, plan, a, ctx) {
    const msg = a.message?.trim() || `rolled back to ${plan.label} by ${a.actor.name}`;
    return lockText(setTags(text, now, plan.changes), now, a.actor, msg, ctx.clock.now());
  },
  describe(inst, plan, _a, t) {
    const main = plan.changes[0];
    if (main) {
      t.from = main.from;
      t.to = main.to;
    }
    t.images = imageTrailers(plan.changes);
    return {
      subject: `rollback to ${plan.label}`,
      body: [...releaseBody(inst, plan.changes), `Locked: ${resourceId(inst.workload)}`],
      imageChanges: plan.changes,
      locked: true,
    };
  },
};

/** The newest commit that deployed what runs now knows what ran before it. */
function previousTarget(
  inst: AppInstance,
  history: HistoryRecord[],
  deployedNow: (h: HistoryRecord) => boolean,
): Target {
  const prev = history.find(deployedNow)?.previous;
  if (!prev || prev.length === 0) {
    throw new UserError(`no earlier version of ${inst.env}/${inst.app} was found in the history`, {
      code: "no-history",
      hint: "Give the tag or commit to roll back to.",
    });
  }
  return { label: prev.map((p) => p.tag).join(", "), tags: prev };
}

/** Resolves `to`: a commit SHA prefix in the file's history, or a tag. */
async function namedTarget(
  inst: AppInstance,
  history: HistoryRecord[],
  to: string,
  ctx: OperationContext,
): Promise<Target> {
  if (/^[0-9a-f]{4,40}$/.test(to)) {
    const hit = history.find((h) => h.sha.startsWith(to));
    if (hit) {
      const text = await ctx.repo.read(inst.workload.file, hit.sha);
      const then = findInFile(inst, text, ctx.discovery);
      if (!then) {
        throw new UserError(`${inst.env}/${inst.app} is not in ${inst.workload.file} at ${to}`, {
          code: "no-history",
        });
      }
      return {
        label: `${then.workload.images.map((i) => i.tag).join(", ")} (${hit.sha.slice(0, 7)})`,
        tags: then.workload.images.map((i) => ({ container: i.container, tag: i.tag })),
      };
    }
  }
  if (!isValidTag(to)) {
    throw new UserError(`"${printable(to)}" is neither a commit of ${inst.workload.file} nor a valid tag`, {
      code: "bad-tag",
    });
  }
  // Only a version that ran in this env: a tag nobody deployed here (a typo, `HEAD`, a build that
  // never passed the lower envs) is a release, not a rollback.
  const seen = history.flatMap((h) => [...h.images, ...h.previous]).find((i) => i.tag === to);
  if (!seen) {
    const ran = [...new Set(history.flatMap((h) => h.images.map((i) => i.tag)))].slice(0, 10);
    const looksLikeCommit = /^[0-9a-f]{7,40}$/.test(to);
    throw new UserError(
      looksLikeCommit
        ? `"${to}" is neither a commit in the history of ${inst.workload.file} nor a tag it ran`
        : `${printable(to)} never ran in ${inst.env}/${inst.app} (per the history of ${inst.workload.file})`,
      {
        code: looksLikeCommit ? "unknown-revision" : "never-ran",
        hint: `${ran.length ? `Versions that ran: ${ran.join(", ")}. ` : ""}See the history command for ${inst.app} in ${inst.env}; to deploy a new tag use release.`,
      },
    );
  }
  const img = pickImage(inst, seen.container);
  return { label: to, tags: [{ container: img.container, tag: to }] };
}
