/**
 * The checks release operations share: finding an instance by name (with "did you mean"), picking
 * the container a tag is for, and the refusals for a locked target or a tag image automation would
 * undo. Pure functions of the release model; the runner calls an operation's checks twice (on the
 * model at HEAD, and on the HEAD the commit is built on), and these are what those checks are made of.
 */
import { UserError } from "../../core/errors.js";
import { assertSafeName, printable } from "../../core/names.js";
import {
  type AppInstance,
  type ContainerImage,
  type DiscoveryProblem,
  findInstance,
  type ReleaseModel,
  type TagFilter,
} from "../../core/release.js";
import { didYouMean } from "../../core/suggest.js";
import type { ImageChange } from "../operations.js";
import { formatTagFilter, matchesTagFilter } from "../tag-filter.js";

/** A container whose new tag the target's filter rejects while the target is automated. */
export interface FilterConflict {
  container: string;
  tag: string;
  filter: TagFilter;
}

function unknownName(what: "app" | "env", name: string, known: readonly string[]): UserError {
  const s = didYouMean(name, known);
  const dym = s.length > 0 ? ` Did you mean ${s.map((x) => `"${x}"`).join(" or ")}?` : "";
  return new UserError(`unknown ${what} "${printable(name)}".${dym}`, {
    code: `unknown-${what}`,
    hint:
      known.length > 0
        ? `Known ${what}s: ${known.join(", ")}.`
        : `No ${what}s were found in the config repo.`,
  });
}

/** The refusal for an env the model does not know, with "did you mean" and the known envs. */
export function unknownEnv(env: string, known: readonly string[]): UserError {
  return unknownName("env", env, known);
}

/** The unreadable file that should hold `app` in `env`: a problem named after the app, or in a file
 * named like the app's file in another env (an app named after its chart lives in a file of
 * another name, and a file that cannot be parsed has no chart to name it by), or else the one
 * unreadable file in `env` that belongs to no known app (`certain: false`: it may hold the app). */
export function brokenFileOf(
  model: ReleaseModel,
  app: string,
  env: string,
): { problem: DiscoveryProblem; certain: boolean } | undefined {
  const fileNames = new Set(
    model.instances
      .filter((i) => i.app === app || i.aliases?.includes(app))
      .map((i) => baseName(i.workload.file)),
  );
  const unreadable = model.problems.filter(
    (p) => (p.env === env || p.env === undefined) && !model.instances.some((i) => i.workload.file === p.file),
  );
  const named = unreadable.find((p) => p.app === app || fileNames.has(baseName(p.file)));
  if (named) return { problem: named, certain: true };
  const orphans = unreadable.filter((p) => p.env === env && !(p.app && model.apps.includes(p.app)));
  const orphan = orphans.length === 1 && fileNames.size > 0 ? orphans[0] : undefined;
  return orphan && { problem: orphan, certain: false };
}

function baseName(file: string): string {
  return file.slice(file.lastIndexOf("/") + 1);
}

/** Finds one instance or throws a helpful `UserError` (bad name, unknown name with "did you mean",
 * app not in env, broken file). */
export function resolveInstance(model: ReleaseModel, app: string, env: string): AppInstance {
  assertSafeName(app, "app");
  assertSafeName(env, "environment");
  const inst = findInstance(model, app, env);
  if (inst) return inst;
  const broken = brokenFileOf(model, app, env);
  if (broken) {
    const { file, message, hint } = broken.problem;
    const what = broken.certain
      ? `${env}/${app} cannot be read: ${file}: ${message}`
      : `${app} was not found in ${env}, whose ${file} cannot be read: ${message}`;
    throw new UserError(what, { code: "broken-file", hint: hint ?? `Fix ${file} in the config repo.` });
  }
  if (!model.envs.includes(env)) throw unknownName("env", env, model.envs);
  if (!model.apps.includes(app)) throw unknownName("app", app, model.apps);
  const where = model.instances.filter((i) => i.app === app).map((i) => i.env);
  throw new UserError(`${app} is not deployed in ${env}`, {
    code: "not-in-env",
    hint: `${app} is in: ${where.join(", ")}.`,
  });
}

/** The refusal for a locked instance: who locked it, since when and why. */
export function lockedError(inst: AppInstance): UserError {
  const l = inst.workload.policies.locked ?? {};
  const by = l.user ? ` by ${l.user}` : "";
  const since = l.since ? ` since ${l.since}` : "";
  const why = l.message ? `: "${l.message}"` : "";
  return new UserError(`${inst.env}/${inst.app} is locked${by}${since}${why}`, {
    code: "locked",
    hint: `Unlock it first (unlock ${inst.app} ${inst.env}) if the lock no longer applies.`,
  });
}

/** Throws `lockedError` when `inst` is locked. */
export function assertUnlocked(inst: AppInstance): void {
  if (inst.workload.policies.locked) throw lockedError(inst);
}

/** The refusal for tags image automation would replace again (use force to pin). */
export function mismatchError(inst: AppInstance, conflicts: FilterConflict[]): UserError {
  const what = conflicts
    .map((c) => `${c.tag} does not match ${formatTagFilter(c.filter)} (${c.container})`)
    .join("; ");
  return new UserError(
    `${inst.env}/${inst.app} is automated and ${what}, so image automation would replace it again`,
    {
      code: "filter-mismatch",
      hint: "Use force to pin it (set the tag and lock in one commit), or change the filter with the policy command.",
    },
  );
}

/** The changes whose new tag `inst`'s filter rejects while `inst` is automated (empty otherwise). */
export function conflictsOf(inst: AppInstance, changes: readonly ImageChange[]): FilterConflict[] {
  if (!inst.workload.policies.automated) return [];
  const out: FilterConflict[] = [];
  for (const c of changes) {
    const f = inst.workload.images.find((i) => i.container === c.container)?.filter;
    if (f && !matchesTagFilter(f, c.to)) out.push({ container: c.container, tag: c.to, filter: f });
  }
  return out;
}

/** Picks the container a tag is for: the named one, the only one, or the only one with a filter.
 * Throws a `UserError` naming the containers otherwise. */
export function pickImage(inst: AppInstance, container: string | undefined): ContainerImage {
  const imgs = inst.workload.images;
  const names = imgs.map((i) => i.container).join(", ");
  if (container !== undefined) {
    const img = imgs.find((i) => i.container === container);
    if (!img) {
      throw new UserError(`${inst.env}/${inst.app} has no container "${printable(container)}"`, {
        code: "unknown-container",
        hint: imgs.length ? `Containers: ${names}.` : "No images were found in this workload.",
      });
    }
    return img;
  }
  if (imgs.length === 1 && imgs[0]) return imgs[0];
  const filtered = imgs.filter((i) => i.filter);
  if (filtered.length === 1 && filtered[0]) return filtered[0];
  if (imgs.length === 0) {
    throw new UserError(`no images were found in ${inst.env}/${inst.app}`, { code: "no-images" });
  }
  throw new UserError(`${inst.env}/${inst.app} has several containers; say which one`, {
    code: "ambiguous-container",
    hint: `Containers: ${names}.`,
  });
}
