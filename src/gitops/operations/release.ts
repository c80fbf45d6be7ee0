/**
 * `release <app> <env> <tag>`: sets one container's tag. Refused when the target is locked, or
 * automated with a filter the tag does not match (unless forced: then the tag is pinned by locking
 * in the same commit), or already runs the tag.
 */
import { UserError } from "../../core/errors.js";
import { printable } from "../../core/names.js";
import type { AppInstance } from "../../core/release.js";
import { isValidTag } from "../image-ref.js";
import type { ImageChange, OpOptions } from "../operations.js";
import { resourceId } from "../trailers.js";
import { imageTrailers, lockText, releaseBody, setTags } from "./edits.js";
import { assertUnlocked, conflictsOf, mismatchError, pickImage, resolveInstance } from "./guards.js";
import type { Operation } from "./runner.js";

/** Arguments of `release`. */
export type ReleaseArgs = {
  app: string;
  env: string;
  tag: string;
  container?: string;
  force?: boolean;
} & OpOptions;

interface ReleasePlan {
  change: ImageChange;
  /** Forced past a filter conflict: lock in the same commit. */
  pin: boolean;
}

/** The planned change as it reads against `inst` (the HEAD being built may run another tag). */
function changeIn(planned: ImageChange, inst: AppInstance): ImageChange | undefined {
  const img = inst.workload.images.find((i) => i.container === planned.container);
  return img
    ? { container: img.container, repository: img.repository, from: img.tag, to: planned.to }
    : undefined;
}

/** The release operation (see the file comment). */
export const releaseOp: Operation<ReleaseArgs, ReleasePlan> = {
  action: "release",
  plan(model, a) {
    const inst = resolveInstance(model, a.app, a.env);
    if (!isValidTag(a.tag)) {
      throw new UserError(`"${printable(a.tag)}" is not a valid image tag`, {
        code: "bad-tag",
        hint: "Tags use letters, digits, '_', '.' and '-' (at most 128 characters).",
      });
    }
    const img = pickImage(inst, a.container);
    const change = { container: img.container, repository: img.repository, from: img.tag, to: a.tag };
    return { inst, plan: { change, pin: conflictsOf(inst, [change]).length > 0 } };
  },
  check(inst, plan, a) {
    assertUnlocked(inst);
    // The container may have vanished on a new HEAD: `setTags` then says so.
    const change = changeIn(plan.change, inst);
    if (!change) return;
    const conflicts = conflictsOf(inst, [change]);
    if (conflicts.length > 0 && !a.force) throw mismatchError(inst, conflicts);
    if (change.from === change.to) {
      throw new UserError(`${inst.env}/${inst.app} already runs ${change.container}=${a.tag}`, {
        code: "no-change",
      });
    }
  },
  apply(text, now, plan, a, ctx) {
    const out = setTags(text, now, [plan.change]);
    if (!plan.pin) return out;
    const msg = a.message?.trim() || `pinned ${a.tag} (forced release by ${a.actor.name})`;
    return lockText(out, now, a.actor, msg, ctx.clock.now());
  },
  describe(inst, plan, a, t) {
    const changes = [plan.change];
    t.from = plan.change.from;
    t.to = a.tag;
    t.images = imageTrailers(changes);
    const body = releaseBody(inst, changes);
    if (plan.pin) body.push(`Locked: ${resourceId(inst.workload)}`);
    return {
      subject: `release ${a.tag}${plan.pin ? " (forced, locked)" : ""}`,
      body,
      imageChanges: changes,
      locked: plan.pin,
    };
  },
};
