/**
 * Image automation's write: many tags in ONE commit (`Auto-release <image:tag>` or `Auto-release
 * multiple (N) images`, trailer `Gitops-Action: auto-release` with every env/app, and one
 * `Gitops-Change: <env>/<app> <container>: <old> -> <new> (<file>)` per change). An update is
 * skipped, not failed, when the instance is gone, locked, not automated, its filter rejects the tag,
 * or it already runs it; the runner checks this on the model and again on the HEAD being built.
 */
import { type AppInstance, type ContainerImage, findInstance } from "../../core/release.js";
import { isValidTag } from "../image-ref.js";
import type { AutoReleaseApplied, AutoReleaseSkip, AutoReleaseUpdate } from "../operations.js";
import { matchesTagFilter } from "../tag-filter.js";
import { commitSubject, emptyTrailers, resourceId } from "../trailers.js";
import { setImageTag } from "../yaml-edit.js";
import type { BatchOperation } from "./runner.js";

/** The auto-release batch operation (see the file comment). */
export const autoReleaseOp: BatchOperation<AutoReleaseUpdate, AutoReleaseApplied, AutoReleaseSkip> = {
  locate: (model, u) => findInstance(model, u.app, u.env),
  check(inst, u, frozen) {
    const img = inst?.workload.images.find((i) => i.container === u.container);
    if (!inst || !img) return "unknown";
    if (!isValidTag(u.tag)) return "bad-tag";
    // A frozen env (`freeze <env>`): the planner leaves it alone; this is the second line of
    // defense, checked again on the HEAD being built.
    if (frozen(inst.env)) return "frozen";
    if (inst.workload.policies.locked) return "locked";
    if (!inst.workload.policies.automated) return "not-automated";
    if (img.filter && !matchesTagFilter(img.filter, u.tag)) return "filter-mismatch";
    if (img.tag === u.tag) return "unchanged";
    return undefined;
  },
  apply(text, now, u) {
    // `check` passed on `now`, so the container is there.
    const img = now.workload.images.find((i) => i.container === u.container);
    if (!img) return { text, done: { ...u, repository: "", from: "" } };
    return {
      text: setImageTag(text, now.workload.docIndex, img.location, u.tag),
      done: { ...u, repository: img.repository, from: img.tag },
    };
  },
  describe(planned) {
    // The message is fixed before the commit; it names what the model at HEAD says will change.
    const rows = planned.flatMap(({ u, inst }) => {
      const img = inst.workload.images.find((i) => i.container === u.container);
      return img ? [{ u, inst, img }] : [];
    });
    const only = rows.length === 1 ? rows[0] : undefined;
    const subject = only
      ? commitSubject(only.inst.env, only.inst.app, `Auto-release ${only.img.repository}:${only.u.tag}`)
      : `Auto-release multiple (${rows.length}) images`;
    const t = emptyTrailers();
    t.action = "auto-release";
    t.envs = [...new Set(rows.map((p) => p.inst.env))];
    t.apps = [...new Set(rows.map((p) => p.inst.app))];
    t.images = rows.map((p) => ({ container: p.u.container, image: `${p.img.repository}:${p.u.tag}` }));
    if (only) {
      t.from = only.img.tag;
      t.to = only.u.tag;
    }
    // One trailer per change, so the audit log says what moved where without reading the diff.
    for (const p of rows) t.other.push(["Gitops-Change", changeLine(p.inst, p.img, p.u)]);
    const body = rows
      .map(
        (p) =>
          `- ${p.img.repository}:${p.u.tag} to ${resourceId(p.inst.workload)} (container ${p.u.container}: ${p.img.tag} -> ${p.u.tag}, ${p.inst.workload.file})`,
      )
      .join("\n");
    return { subject, body, trailers: t };
  },
};

/** `dev/podinfo app: dev-aaa -> dev-bbb (releases/dev/podinfo.yaml)`: the `Gitops-Change` trailer. */
export function changeLine(inst: AppInstance, img: ContainerImage, u: AutoReleaseUpdate): string {
  return `${inst.env}/${inst.app} ${u.container}: ${img.tag} -> ${u.tag} (${inst.workload.file})`;
}
