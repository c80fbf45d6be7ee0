/**
 * `ReleaseService`: the release operations of issue #2 over a `ConfigRepo`. Every writing operation
 * is exactly one `repo.commit(...)` whose edit function re-reads the file from the `FileAccess`,
 * re-discovers the instance there and applies the setters, so a retry after a rejected push works
 * on the new HEAD (and refuses if, say, someone locked the target meanwhile).
 *
 * Checks happen twice: up front against the model at HEAD (for a clear error before any commit),
 * and again inside the edit against the file the commit is built on.
 */
import { UserError } from "../core/errors.js";
import { assertSafeName, printable } from "../core/names.js";
import { type Clock, systemClock } from "../core/ports.js";
import {
  type AppInstance,
  type ContainerImage,
  findInstance,
  type ReleaseModel,
  type TagFilter,
} from "../core/release.js";
import type { CommitResult, ConfigRepo, Edit } from "./config-repo.js";
import { annotationsOf, type DiscoveryOptions, discoverFromRepo } from "./discovery.js";
import { chartVersionOf, findInFile, type HistoryRecord, readHistory } from "./history.js";
import { isValidTag, sameRepository } from "./image-ref.js";
import type {
  Actor,
  HistoryEntry,
  ImageChange,
  OpOptions,
  OpResult,
  PromotionPlan,
  ReleaseOperations,
} from "./operations.js";
import { filterKeyFor, POLICY_PREFIXES, policyKeys } from "./policies.js";
import { formatTagFilter, matchesTagFilter, parseTagFilter } from "./tag-filter.js";
import { buildTrailers, commitSubject, emptyTrailers, type GitopsTrailers, resourceId } from "./trailers.js";
import { removeAnnotation, setAnnotation, setChartRef, setChartVersion, setImageTag } from "./yaml-edit.js";

export interface ReleaseServiceOptions {
  repo: ConfigRepo;
  clock?: Clock;
  /** Folder whose sub-folders are the environments (default `releases`). */
  releasesPath?: string;
  envsFrom?: "folders" | "namespaces";
}

type Action = OpResult["action"];

/** One tag image automation wants to set. */
export interface AutoReleaseUpdate {
  app: string;
  env: string;
  container: string;
  tag: string;
}

/** Why image automation did not apply an update (re-checked on the HEAD the commit is built on). */
export type AutoReleaseSkip =
  | "unknown"
  | "locked"
  | "not-automated"
  | "filter-mismatch"
  | "unchanged"
  | "bad-tag";

export interface AutoReleaseResult {
  /** Empty when nothing was applied (no commit). */
  subject: string;
  commit: CommitResult;
  applied: (AutoReleaseUpdate & { repository: string; from: string })[];
  skipped: (AutoReleaseUpdate & { reason: AutoReleaseSkip })[];
}

/** Levenshtein distance (for "did you mean"). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The known names closest to `input` (distance ≤ max(2, a third of its length)), best first. */
export function suggest(input: string, known: readonly string[]): string[] {
  const max = Math.max(2, Math.floor(input.length / 3));
  return known
    .map((k) => ({ k, d: k.startsWith(input) || input.startsWith(k) ? 1 : levenshtein(input, k) }))
    .filter((x) => x.d <= max)
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .map((x) => x.k);
}

function unknownName(what: "app" | "env", name: string, known: readonly string[]): UserError {
  const s = suggest(name, known);
  const dym = s.length > 0 ? ` Did you mean ${s.map((x) => `"${x}"`).join(" or ")}?` : "";
  return new UserError(`unknown ${what} "${printable(name)}".${dym}`, {
    code: `unknown-${what}`,
    hint:
      known.length > 0
        ? `Known ${what}s: ${known.join(", ")}.`
        : `No ${what}s were found in the config repo.`,
  });
}

function lockedError(inst: AppInstance): UserError {
  const l = inst.workload.policies.locked ?? {};
  const by = l.user ? ` by ${l.user}` : "";
  const since = l.since ? ` since ${l.since}` : "";
  const why = l.message ? `: "${l.message}"` : "";
  return new UserError(`${inst.env}/${inst.app} is locked${by}${since}${why}`, {
    code: "locked",
    hint: `Unlock it first (unlock ${inst.app} ${inst.env}) if the lock no longer applies.`,
  });
}

function mismatchError(
  inst: AppInstance,
  conflicts: { container: string; tag: string; filter: TagFilter }[],
): UserError {
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

/** Implements `ReleaseOperations` on a `ConfigRepo` (see the file comment). */
export class ReleaseService implements ReleaseOperations {
  private readonly repo: ConfigRepo;
  private readonly clock: Clock;
  private readonly discovery: DiscoveryOptions;

  private cached: { revision: string; model: Promise<ReleaseModel> } | undefined;

  constructor(opts: ReleaseServiceOptions) {
    this.repo = opts.repo;
    this.clock = opts.clock ?? systemClock;
    this.discovery = {};
    if (opts.releasesPath !== undefined) this.discovery.releasesPath = opts.releasesPath;
    if (opts.envsFrom !== undefined) this.discovery.envsFrom = opts.envsFrom;
  }

  /** The model at the current head (re-synced). */
  async model(): Promise<ReleaseModel> {
    const head = await this.repo.sync();
    // The model is a pure function of the revision: read-only commands at an unchanged head reuse
    // it instead of re-parsing every manifest. Callers treat the model as read-only.
    if (this.cached?.revision !== head) {
      const model = discoverFromRepo(this.repo, { ...this.discovery, at: head });
      this.cached = { revision: head, model };
      model.catch(() => {
        if (this.cached?.model === model) this.cached = undefined;
      });
    }
    return this.cached.model;
  }

  /** Finds one instance or throws a helpful `UserError` (unknown name, app not in env, broken file). */
  resolve(model: ReleaseModel, app: string, env: string): AppInstance {
    assertSafeName(app, "app");
    assertSafeName(env, "environment");
    const inst = findInstance(model, app, env);
    if (inst) return inst;
    const broken = model.problems.find(
      (p) =>
        p.app === app &&
        (p.env === env || p.env === undefined) &&
        !model.instances.some((i) => i.workload.file === p.file),
    );
    if (broken) {
      throw new UserError(`${env}/${app} cannot be read: ${broken.file}: ${broken.message}`, {
        code: "broken-file",
        hint: broken.hint ?? `Fix ${broken.file} in the config repo.`,
      });
    }
    if (!model.envs.includes(env)) throw unknownName("env", env, model.envs);
    if (!model.apps.includes(app)) throw unknownName("app", app, model.apps);
    const where = model.instances.filter((i) => i.app === app).map((i) => i.env);
    throw new UserError(`${app} is not deployed in ${env}`, {
      code: "not-in-env",
      hint: `${app} is in: ${where.join(", ")}.`,
    });
  }

  private async current(): Promise<ReleaseModel> {
    return this.model();
  }

  /** An edit that re-finds `inst` in its file on the HEAD being built and applies `fn` to the text. */
  private editOf(inst: AppInstance, fn: (text: string, now: AppInstance) => string): Edit {
    const file = inst.workload.file;
    return async (files) => {
      const text = await files.read(file);
      if (text === undefined) {
        throw new UserError(`${file} no longer exists in the config repo`, { code: "vanished" });
      }
      const now = findInFile(inst, text, this.discovery);
      if (!now) {
        throw new UserError(`${inst.env}/${inst.app} is no longer in ${file} (it changed upstream)`, {
          code: "vanished",
          hint: "Run the command again.",
        });
      }
      const out = fn(text, now);
      if (out !== text) await files.write(file, out);
    };
  }

  private baseTrailers(action: Action, inst: AppInstance, o: OpOptions): GitopsTrailers {
    const t = emptyTrailers();
    t.action = action;
    t.envs = [inst.env];
    t.apps = [inst.app];
    t.requestedBy = { id: o.actor.id, name: o.actor.name };
    t.approvedBy = (o.approvers ?? []).map((a) => ({ id: a.id, name: a.name }));
    return t;
  }

  private async commitOp(
    action: Action,
    inst: AppInstance,
    o: OpOptions,
    subjectText: string,
    bodyLines: string[],
    trailers: GitopsTrailers,
    edit: Edit,
    extra: {
      imageChanges?: ImageChange[];
      chartChange?: { from?: string; to?: string };
      locked?: boolean;
    } = {},
  ): Promise<OpResult> {
    const subject = commitSubject(inst.env, inst.app, subjectText);
    const body = [...bodyLines, ...(o.message?.trim() ? ["", o.message.trim()] : [])].join("\n");
    const commit = await this.repo.commit({
      subject,
      body,
      author: o.actor.identity,
      trailers: buildTrailers(trailers),
      edits: [edit],
      ...(o.dryRun ? { dryRun: true } : {}),
    });
    const result: OpResult = {
      app: inst.app,
      env: inst.env,
      action,
      subject,
      commit,
      imageChanges: extra.imageChanges ?? [],
      locked: extra.locked ?? false,
    };
    if (extra.chartChange) result.chartChange = extra.chartChange;
    return result;
  }

  /** Lock annotations for `actor` (keeps the file's prefix). `locked_since` is an ISO time. */
  private lockText(text: string, now: AppInstance, actor: Actor, message: string | undefined): string {
    const k = policyKeys(now.workload.policies.prefix);
    const i = now.workload.docIndex;
    let out = setAnnotation(text, i, k.locked, "true");
    out = setAnnotation(out, i, k.lockedUser, `${actor.identity.name} <${actor.identity.email}>`);
    // One line, bounded: it is shown in every refusal and notification.
    const msg = message?.replace(/\s+/g, " ").trim().slice(0, 300);
    out = msg ? setAnnotation(out, i, k.lockedMsg, msg) : removeAnnotation(out, i, k.lockedMsg);
    out = setAnnotation(out, i, k.lockedSince, this.clock.now().toISOString());
    return out;
  }

  private setTags(text: string, now: AppInstance, changes: ImageChange[]): string {
    let out = text;
    for (const c of changes) {
      const img = now.workload.images.find((i) => i.container === c.container);
      if (!img) {
        throw new UserError(`container ${c.container} is no longer in ${now.workload.file}`, {
          code: "vanished",
        });
      }
      out = setImageTag(out, now.workload.docIndex, img.location, c.to);
    }
    return out;
  }

  private releaseBody(inst: AppInstance, changes: ImageChange[]): string[] {
    return changes.map((c) => `Release ${c.repository}:${c.to} to ${resourceId(inst.workload)}`);
  }

  private conflictsOf(inst: AppInstance, changes: ImageChange[]) {
    if (!inst.workload.policies.automated) return [];
    const out: { container: string; tag: string; filter: TagFilter }[] = [];
    for (const c of changes) {
      const f = inst.workload.images.find((i) => i.container === c.container)?.filter;
      if (f && !matchesTagFilter(f, c.to)) out.push({ container: c.container, tag: c.to, filter: f });
    }
    return out;
  }

  /** Picks the container a tag is for: the named one, the only one, or the only one with a filter. */
  private pickImage(inst: AppInstance, container: string | undefined): ContainerImage {
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

  async release(
    a: { app: string; env: string; tag: string; container?: string; force?: boolean } & OpOptions,
  ): Promise<OpResult> {
    const model = await this.current();
    const inst = this.resolve(model, a.app, a.env);
    if (!isValidTag(a.tag)) {
      throw new UserError(`"${printable(a.tag)}" is not a valid image tag`, {
        code: "bad-tag",
        hint: "Tags use letters, digits, '_', '.' and '-' (at most 128 characters).",
      });
    }
    const img = this.pickImage(inst, a.container);
    if (inst.workload.policies.locked) throw lockedError(inst);
    const changes: ImageChange[] =
      img.tag === a.tag
        ? []
        : [{ container: img.container, repository: img.repository, from: img.tag, to: a.tag }];
    const conflicts = this.conflictsOf(inst, [
      { container: img.container, repository: img.repository, from: img.tag, to: a.tag },
    ]);
    if (conflicts.length > 0 && !a.force) throw mismatchError(inst, conflicts);
    const pin = conflicts.length > 0;
    if (changes.length === 0) {
      throw new UserError(`${inst.env}/${inst.app} already runs ${img.container}=${a.tag}`, {
        code: "no-change",
      });
    }
    const t = this.baseTrailers("release", inst, a);
    t.from = img.tag;
    t.to = a.tag;
    t.images = changes.map((c) => ({ container: c.container, image: `${c.repository}:${c.to}` }));
    const lockMsg = a.message?.trim() || `pinned ${a.tag} (forced release by ${a.actor.name})`;
    const edit = this.editOf(inst, (text, now) => {
      if (now.workload.policies.locked) throw lockedError(now);
      let out = this.setTags(text, now, changes);
      if (pin) out = this.lockText(out, now, a.actor, lockMsg);
      return out;
    });
    const body = this.releaseBody(inst, changes);
    if (pin) body.push(`Locked: ${resourceId(inst.workload)}`);
    return this.commitOp(
      "release",
      inst,
      a,
      `release ${a.tag}${pin ? " (forced, locked)" : ""}`,
      body,
      t,
      edit,
      {
        imageChanges: changes,
        locked: pin,
      },
    );
  }

  async plan(a: { app: string; from: string; to: string }): Promise<PromotionPlan> {
    return this.planIn(await this.current(), a);
  }

  private planIn(model: ReleaseModel, a: { app: string; from: string; to: string }): PromotionPlan {
    const from = this.resolve(model, a.app, a.from);
    const to = this.resolve(model, a.app, a.to);
    if (a.from === a.to) {
      throw new UserError("cannot promote an environment to itself", { code: "same-env" });
    }
    const imageChanges: ImageChange[] = [];
    for (const target of to.workload.images) {
      const source =
        from.workload.images.find((i) => i.container === target.container) ??
        from.workload.images.find((i) => sameRepository(i.repository, target.repository));
      if (source && source.tag !== target.tag) {
        imageChanges.push({
          container: target.container,
          repository: target.repository,
          from: target.tag,
          to: source.tag,
        });
      }
    }
    const plan: PromotionPlan = {
      app: a.app,
      from,
      to,
      imageChanges,
      filterConflicts: this.conflictsOf(to, imageChanges),
      targetLocked: to.workload.policies.locked !== null,
    };
    const fc = from.workload.chart;
    const tc = to.workload.chart;
    if (fc && tc && fc.type === tc.type && chartVersionOf(from.workload) !== chartVersionOf(to.workload)) {
      const fv = chartVersionOf(from.workload);
      if (fv !== undefined) {
        const cc: { from?: string; to?: string } = { to: fv };
        const tv = chartVersionOf(to.workload);
        if (tv !== undefined) cc.from = tv;
        plan.chartChange = cc;
      }
    }
    return plan;
  }

  async promote(
    a: { app: string; from: string; to: string; force?: boolean } & OpOptions,
  ): Promise<OpResult> {
    const model = await this.current();
    const plan = this.planIn(model, a);
    const inst = plan.to;
    if (plan.targetLocked) throw lockedError(inst);
    if (plan.filterConflicts.length > 0 && !a.force) throw mismatchError(inst, plan.filterConflicts);
    const pin = plan.filterConflicts.length > 0;
    if (plan.imageChanges.length === 0 && !plan.chartChange) {
      throw new UserError(`${a.to}/${a.app} already runs what ${a.from} runs`, { code: "no-change" });
    }
    const changes = plan.imageChanges;
    const chart = plan.chartChange;
    const main = changes[0];
    const t = this.baseTrailers("promote", inst, a);
    t.sourceEnv = a.from;
    if (main) {
      t.from = main.from;
      t.to = main.to;
    }
    t.images = changes.map((c) => ({ container: c.container, image: `${c.repository}:${c.to}` }));
    if (chart?.to) t.chart = chart.to;
    const lockMsg = a.message?.trim() || `pinned by a forced promotion from ${a.from} by ${a.actor.name}`;
    const edit = this.editOf(inst, (text, now) => {
      if (now.workload.policies.locked) throw lockedError(now);
      let out = this.setTags(text, now, changes);
      if (chart?.to !== undefined) {
        out =
          now.workload.chart?.type === "git"
            ? setChartRef(out, now.workload.docIndex, chart.to)
            : setChartVersion(out, now.workload.docIndex, chart.to);
      }
      if (pin) out = this.lockText(out, now, a.actor, lockMsg);
      return out;
    });
    const what = main ? main.to : `chart ${chart?.to ?? ""}`;
    const body = this.releaseBody(inst, changes);
    if (chart?.to)
      body.push(`Chart ${chart.from ?? "(none)"} -> ${chart.to} for ${resourceId(inst.workload)}`);
    if (pin) body.push(`Locked: ${resourceId(inst.workload)}`);
    const extra: {
      imageChanges: ImageChange[];
      chartChange?: { from?: string; to?: string };
      locked: boolean;
    } = {
      imageChanges: changes,
      locked: pin,
    };
    if (chart) extra.chartChange = chart;
    return this.commitOp(
      "promote",
      inst,
      a,
      `promote ${what} from ${a.from}${pin ? " (forced, locked)" : ""}`,
      body,
      t,
      edit,
      extra,
    );
  }

  async rollback(a: { app: string; env: string; to?: string } & OpOptions): Promise<OpResult> {
    const model = await this.current();
    const inst = this.resolve(model, a.app, a.env);
    const current = new Map(inst.workload.images.map((i) => [i.container, i.tag]));
    const deployedNow = (h: HistoryRecord) =>
      h.images.length > 0 &&
      h.images.every((i) => current.get(i.container) === i.tag) &&
      h.previous.length > 0;
    const history = await readHistory(this.repo, inst, {
      ...this.discovery,
      limit: 100,
      // Without `to`, the newest commit that deployed what runs now is all we need.
      ...(a.to === undefined ? { stop: deployedNow } : {}),
    });
    const target = await this.rollbackTarget(inst, history, a.to, deployedNow);
    const changes: ImageChange[] = [];
    for (const t of target.tags) {
      const img = inst.workload.images.find((i) => i.container === t.container);
      if (img && img.tag !== t.tag) {
        changes.push({ container: img.container, repository: img.repository, from: img.tag, to: t.tag });
      }
    }
    if (changes.length === 0 && inst.workload.policies.locked) {
      throw new UserError(`${inst.env}/${inst.app} already runs ${target.label} and is locked`, {
        code: "no-change",
      });
    }
    const main = changes[0];
    const t = this.baseTrailers("rollback", inst, a);
    if (main) {
      t.from = main.from;
      t.to = main.to;
    }
    t.images = changes.map((c) => ({ container: c.container, image: `${c.repository}:${c.to}` }));
    const lockMsg = a.message?.trim() || `rolled back to ${target.label} by ${a.actor.name}`;
    // A rollback may replace an existing lock: it is the emergency operation, and it pins anyway.
    const edit = this.editOf(inst, (text, now) =>
      this.lockText(this.setTags(text, now, changes), now, a.actor, lockMsg),
    );
    const body = [...this.releaseBody(inst, changes), `Locked: ${resourceId(inst.workload)}`];
    return this.commitOp("rollback", inst, a, `rollback to ${target.label}`, body, t, edit, {
      imageChanges: changes,
      locked: true,
    });
  }

  /** Resolves a rollback target: the version before the current one, a commit SHA prefix, or a tag. */
  private async rollbackTarget(
    inst: AppInstance,
    history: HistoryRecord[],
    to: string | undefined,
    deployedNow: (h: HistoryRecord) => boolean,
  ): Promise<{ label: string; tags: { container: string; tag: string }[] }> {
    if (to === undefined) {
      // The newest commit that deployed what runs now knows what ran before it.
      const prev = history.find(deployedNow)?.previous;
      if (!prev || prev.length === 0) {
        throw new UserError(`no earlier version of ${inst.env}/${inst.app} was found in the history`, {
          code: "no-history",
          hint: "Give the tag or commit to roll back to.",
        });
      }
      return { label: prev.map((p) => p.tag).join(", "), tags: prev };
    }
    if (/^[0-9a-f]{4,40}$/.test(to)) {
      const hit = history.find((h) => h.sha.startsWith(to));
      if (hit) {
        const text = await this.repo.read(inst.workload.file, hit.sha);
        const then = findInFile(inst, text, this.discovery);
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
    // Which container: the one whose history shows that tag, else the usual pick.
    const seen = history.flatMap((h) => [...h.images, ...h.previous]).find((i) => i.tag === to);
    if (!seen && /^[0-9a-f]{7,40}$/.test(to)) {
      // Looks like a commit, yet is neither a commit of this file's history nor a tag it ran: guessing
      // either way could deploy something nobody meant.
      throw new UserError(
        `"${to}" is neither a commit in the history of ${inst.workload.file} nor a tag it ran`,
        {
          code: "unknown-revision",
          hint: `See the history command for ${inst.app} in ${inst.env}; to deploy a new tag use release.`,
        },
      );
    }
    const img = seen ? this.pickImage(inst, seen.container) : this.pickImage(inst, undefined);
    return { label: to, tags: [{ container: img.container, tag: to }] };
  }

  async lock(a: { app: string; env: string } & OpOptions): Promise<OpResult> {
    const inst = this.resolve(await this.current(), a.app, a.env);
    if (inst.workload.policies.locked) {
      const l = inst.workload.policies.locked;
      throw new UserError(`${inst.env}/${inst.app} is already locked${l.user ? ` by ${l.user}` : ""}`, {
        code: "already-locked",
        hint: l.message ? `Reason: "${l.message}".` : undefined,
      });
    }
    const edit = this.editOf(inst, (text, now) => this.lockText(text, now, a.actor, a.message?.trim()));
    return this.commitOp(
      "lock",
      inst,
      a,
      "lock",
      [`Locked: ${resourceId(inst.workload)}`],
      this.baseTrailers("lock", inst, a),
      edit,
      {
        locked: true,
      },
    );
  }

  async unlock(a: { app: string; env: string } & OpOptions): Promise<OpResult> {
    const inst = this.resolve(await this.current(), a.app, a.env);
    if (!inst.workload.policies.locked) {
      throw new UserError(`${inst.env}/${inst.app} is not locked`, { code: "not-locked" });
    }
    const edit = this.editOf(inst, (text, now) => {
      let out = text;
      for (const p of POLICY_PREFIXES) {
        const k = policyKeys(p);
        for (const key of [k.locked, k.lockedUser, k.lockedMsg, k.lockedSince]) {
          out = removeAnnotation(out, now.workload.docIndex, key);
        }
      }
      return out;
    });
    return this.commitOp(
      "unlock",
      inst,
      a,
      "unlock",
      [`Unlocked: ${resourceId(inst.workload)}`],
      this.baseTrailers("unlock", inst, a),
      edit,
    );
  }

  async automate(a: { app: string; env: string; filter?: string } & OpOptions): Promise<OpResult> {
    const inst = this.resolve(await this.current(), a.app, a.env);
    const filter = a.filter !== undefined ? parseTagFilter(a.filter) : undefined;
    if (inst.workload.policies.automated && !filter) {
      throw new UserError(`${inst.env}/${inst.app} is already automated`, { code: "no-change" });
    }
    const edit = this.editOf(inst, (text, now) => {
      const i = now.workload.docIndex;
      const k = policyKeys(now.workload.policies.prefix);
      // Drop a key under the other prefix (or a YAML boolean) so only one `automated` remains.
      let out = text;
      for (const p of POLICY_PREFIXES)
        if (p !== now.workload.policies.prefix) out = removeAnnotation(out, i, policyKeys(p).automated);
      out = setAnnotation(out, i, k.automated, "true");
      if (filter) {
        for (const img of now.workload.images) {
          const key = filterKeyFor(img.container, now.workload.policies.prefix, annotationsOf(out, i));
          out = setAnnotation(out, i, key, formatTagFilter(filter));
        }
      }
      return out;
    });
    const f = filter ? ` (${formatTagFilter(filter)})` : "";
    const t = this.baseTrailers("automate", inst, a);
    return this.commitOp(
      "automate",
      inst,
      a,
      `automate${f}`,
      [`Automated: ${resourceId(inst.workload)}${f}`],
      t,
      edit,
    );
  }

  async deautomate(a: { app: string; env: string } & OpOptions): Promise<OpResult> {
    const inst = this.resolve(await this.current(), a.app, a.env);
    if (!inst.workload.policies.automated) {
      throw new UserError(`${inst.env}/${inst.app} is not automated`, { code: "no-change" });
    }
    const edit = this.editOf(inst, (text, now) => {
      let out = text;
      for (const p of POLICY_PREFIXES)
        out = removeAnnotation(out, now.workload.docIndex, policyKeys(p).automated);
      return out;
    });
    const t = this.baseTrailers("deautomate", inst, a);
    return this.commitOp(
      "deautomate",
      inst,
      a,
      "deautomate",
      [`Deautomated: ${resourceId(inst.workload)}`],
      t,
      edit,
    );
  }

  async policy(
    a: { app: string; env: string; container: string; filter: string } & OpOptions,
  ): Promise<OpResult> {
    const inst = this.resolve(await this.current(), a.app, a.env);
    const img = this.pickImage(inst, a.container);
    const filter = parseTagFilter(a.filter);
    const text = formatTagFilter(filter);
    const edit = this.editOf(inst, (src, now) => {
      const i = now.workload.docIndex;
      const key = filterKeyFor(img.container, now.workload.policies.prefix, annotationsOf(src, i));
      return setAnnotation(src, i, key, text);
    });
    const t = this.baseTrailers("policy", inst, a);
    return this.commitOp(
      "policy",
      inst,
      a,
      `policy ${img.container}=${text}`,
      [`Policy: ${img.container}=${text} on ${resourceId(inst.workload)}`],
      t,
      edit,
    );
  }

  /**
   * Image automation's write: sets many tags in ONE commit (`Auto-release <image:tag>` or
   * `Auto-release multiple (N) images`, trailer `Gitops-Action: auto-release` with every env/app).
   * Each update is re-checked inside the edit on the HEAD being built and skipped, not failed, when
   * the instance is gone, locked, not automated, its filter rejects the tag, or it already runs it.
   * `actor` is the automation's identity (e.g. `{ id: "automation:image", name: "image-automation" }`).
   */
  async autoRelease(a: {
    updates: AutoReleaseUpdate[];
    actor: Actor;
    dryRun?: boolean;
  }): Promise<AutoReleaseResult> {
    const model = await this.current();
    let applied: AutoReleaseResult["applied"] = [];
    let skipped: AutoReleaseResult["skipped"] = [];
    const located = a.updates.map((u) => ({ u, inst: findInstance(model, u.app, u.env) }));
    const files = [...new Set(located.flatMap((l) => (l.inst ? [l.inst.workload.file] : [])))].sort();
    const edit: Edit = async (fa) => {
      // Runs again after a rejected push: start the bookkeeping over.
      applied = [];
      skipped = located.filter((l) => !l.inst).map((l) => ({ ...l.u, reason: "unknown" as const }));
      for (const file of files) {
        let text = await fa.read(file);
        const mine = located.filter((l) => l.inst?.workload.file === file);
        if (text === undefined) {
          skipped.push(...mine.map((l) => ({ ...l.u, reason: "unknown" as const })));
          continue;
        }
        const before = text;
        for (const { u, inst } of mine) {
          const now = inst ? findInFile(inst, text, this.discovery) : undefined;
          const img = now?.workload.images.find((i) => i.container === u.container);
          const skip = (reason: AutoReleaseSkip) => skipped.push({ ...u, reason });
          if (!now || !img) skip("unknown");
          else if (!isValidTag(u.tag)) skip("bad-tag");
          else if (now.workload.policies.locked) skip("locked");
          else if (!now.workload.policies.automated) skip("not-automated");
          else if (img.filter && !matchesTagFilter(img.filter, u.tag)) skip("filter-mismatch");
          else if (img.tag === u.tag) skip("unchanged");
          else {
            text = setImageTag(text, now.workload.docIndex, img.location, u.tag);
            applied.push({ ...u, repository: img.repository, from: img.tag });
          }
        }
        if (text !== before) await fa.write(file, text);
      }
    };
    // The message is fixed before the commit; it names what the model at HEAD says will change.
    const planned = located.flatMap(({ u, inst }) => {
      const img = inst?.workload.images.find((i) => i.container === u.container);
      const p = inst?.workload.policies;
      const ok =
        img &&
        p?.automated &&
        !p.locked &&
        img.tag !== u.tag &&
        (!img.filter || matchesTagFilter(img.filter, u.tag));
      return ok && inst && img ? [{ u, inst, img }] : [];
    });
    const only = planned.length === 1 ? planned[0] : undefined;
    const subject = only
      ? commitSubject(only.inst.env, only.inst.app, `Auto-release ${only.img.repository}:${only.u.tag}`)
      : `Auto-release multiple (${planned.length}) images`;
    const t = emptyTrailers();
    t.action = "auto-release";
    t.envs = [...new Set(planned.map((p) => p.inst.env))];
    t.apps = [...new Set(planned.map((p) => p.inst.app))];
    t.images = planned.map((p) => ({ container: p.u.container, image: `${p.img.repository}:${p.u.tag}` }));
    if (only) {
      t.from = only.img.tag;
      t.to = only.u.tag;
    }
    t.requestedBy = { id: a.actor.id, name: a.actor.name };
    const body = planned
      .map((p) => `- ${p.img.repository}:${p.u.tag} to ${resourceId(p.inst.workload)}`)
      .join("\n");
    const commit = await this.repo.commit({
      subject,
      body,
      author: a.actor.identity,
      trailers: buildTrailers(t),
      edits: [edit],
      ...(a.dryRun ? { dryRun: true } : {}),
    });
    return { subject: commit.files.length > 0 ? subject : "", commit, applied, skipped };
  }

  async history(a: { app: string; env: string; limit?: number }): Promise<HistoryEntry[]> {
    const inst = this.resolve(await this.current(), a.app, a.env);
    const recs = await readHistory(this.repo, inst, { ...this.discovery, limit: a.limit ?? 20 });
    return recs.map(({ previous: _p, chartPrevious: _c, parents: _x, ...entry }) => entry);
  }
}
