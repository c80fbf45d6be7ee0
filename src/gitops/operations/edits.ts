/**
 * Text edits release operations share: setting image tags and writing or removing the lock
 * annotations. Each is a pure function of the file text and the instance found in it, so the
 * runner can re-apply it on a new HEAD after a rejected push.
 */
import { UserError } from "../../core/errors.js";
import type { AppInstance } from "../../core/release.js";
import type { Actor, ImageChange } from "../operations.js";
import { POLICY_PREFIXES, policyKeys } from "../policies.js";
import { resourceId } from "../trailers.js";
import { removeAnnotation, setAnnotation, setImageTag } from "../yaml-edit.js";

/** Sets the lock annotations for `actor` (keeps the file's prefix); `locked_since` is `now` as ISO time. */
export function lockText(
  text: string,
  inst: AppInstance,
  actor: Actor,
  message: string | undefined,
  now: Date,
): string {
  const k = policyKeys(inst.workload.policies.prefix);
  const i = inst.workload.docIndex;
  let out = setAnnotation(text, i, k.locked, "true");
  out = setAnnotation(out, i, k.lockedUser, `${actor.identity.name} <${actor.identity.email}>`);
  // One line, bounded: it is shown in every refusal and notification.
  const msg = message?.replace(/\s+/g, " ").trim().slice(0, 300);
  out = msg ? setAnnotation(out, i, k.lockedMsg, msg) : removeAnnotation(out, i, k.lockedMsg);
  out = setAnnotation(out, i, k.lockedSince, now.toISOString());
  return out;
}

/** Removes every lock key of either prefix. */
export function unlockText(text: string, inst: AppInstance): string {
  let out = text;
  for (const p of POLICY_PREFIXES) {
    const k = policyKeys(p);
    for (const key of [k.locked, k.lockedUser, k.lockedMsg, k.lockedSince]) {
      out = removeAnnotation(out, inst.workload.docIndex, key);
    }
  }
  return out;
}

/** Sets the tags of `changes`; throws a `UserError` when a container is no longer in the file. */
export function setTags(text: string, inst: AppInstance, changes: readonly ImageChange[]): string {
  let out = text;
  for (const c of changes) {
    const img = inst.workload.images.find((i) => i.container === c.container);
    if (!img) {
      throw new UserError(`container ${c.container} is no longer in ${inst.workload.file}`, {
        code: "vanished",
      });
    }
    out = setImageTag(out, inst.workload.docIndex, img.location, c.to);
  }
  return out;
}

/** Commit body lines naming each new image and the workload it goes to. */
export function releaseBody(inst: AppInstance, changes: readonly ImageChange[]): string[] {
  return changes.map((c) => `Release ${c.repository}:${c.to} to ${resourceId(inst.workload)}`);
}

/** The `Gitops-Images` trailer values of `changes`. */
export function imageTrailers(changes: readonly ImageChange[]): { container: string; image: string }[] {
  return changes.map((c) => ({ container: c.container, image: `${c.repository}:${c.to}` }));
}
