/**
 * `OperationRunner`: the one place release operations commit. An operation is a plan (from the
 * model at HEAD), a check, an edit and a description; the runner guarantees, by structure, that
 * the check runs twice: once on the model before anything is committed (for a clear error), and
 * again inside the config repo's commit edit on the instance re-found in the file of the HEAD being
 * built. So a concurrent change (someone locked the target meanwhile) is re-checked on every retry
 * after a rejected push, and a failing check leaves no commit.
 */
import { UserError } from "../../core/errors.js";
import type { Clock } from "../../core/ports.js";
import type { AppInstance, ReleaseModel } from "../../core/release.js";
import type { CommitResult, ConfigRepo, Edit } from "../config-repo.js";
import type { DiscoveryOptions } from "../discovery.js";
import { FREEZES_FILE, type Freezes, parseFreezes, readFreezes } from "../freezes.js";
import { findInFile } from "../history.js";
import type { Actor, ImageChange, OpOptions, OpResult } from "../operations.js";
import { buildTrailers, commitSubject, emptyTrailers, type GitopsTrailers } from "../trailers.js";

/** What every operation may use: the repo (history reads), the clock (lock times), discovery options. */
export interface OperationContext {
  repo: ConfigRepo;
  clock: Clock;
  discovery: DiscoveryOptions;
}

/** The commit message and result fields of an operation, fixed from the model before the commit. */
export interface Description {
  /** Subject text after `[env/app] `. */
  subject: string;
  body: string[];
  imageChanges?: ImageChange[];
  chartChange?: { from?: string; to?: string };
  locked?: boolean;
}

/** One release operation on one instance (one file per operation in this folder). */
export interface Operation<A extends OpOptions, P> {
  readonly action: OpResult["action"];
  /** Finds the instance to edit in the model at HEAD and plans the change. Throws a `UserError`
   * for bad input; may read the repo (history). Runs once. */
  plan(
    model: ReleaseModel,
    a: A,
    ctx: OperationContext,
  ): { inst: AppInstance; plan: P } | Promise<{ inst: AppInstance; plan: P }>;
  /** The guards. Runs twice: on the model's instance, then on the instance in the HEAD being built. */
  check(inst: AppInstance, plan: P, a: A): void;
  /** The edit of the file text, applied after `check` passed on that same `now`. */
  apply(text: string, now: AppInstance, plan: P, a: A, ctx: OperationContext): string;
  /** Subject, body and result fields; `t` holds the common trailers and may be extended. */
  describe(inst: AppInstance, plan: P, a: A, t: GitopsTrailers): Description;
}

/** An operation on a whole env (freeze, unfreeze): it edits the freezes file, not a workload. */
export interface EnvOperation<A extends OpOptions & { env: string }> {
  readonly action: OpResult["action"];
  /** Checks the env name against the model and the freezes at HEAD (once); returns the env. */
  resolve(model: ReleaseModel, freezes: Freezes, a: A): string;
  /** The guards. Runs twice: on the freezes at the model's revision, then on those of the HEAD
   * being built. */
  check(freezes: Freezes, env: string, a: A): void;
  /** The new freezes file text (`text` is undefined when there is no file yet). */
  apply(text: string | undefined, env: string, a: A, ctx: OperationContext): string;
  /** Subject (after `[env] `) and body, fixed before the commit. */
  describe(freezes: Freezes, env: string, a: A): { subject: string; body: string[] };
}

/** One update of a batch operation (image automation) and the instance it targets at HEAD. */
export interface Located<U> {
  u: U;
  inst: AppInstance | undefined;
}

/** An operation over many instances in one commit, where an update that fails its check is
 * skipped, not failed (image automation). */
export interface BatchOperation<U, R, S extends string> {
  /** The instance an update targets in the model at HEAD. */
  locate(model: ReleaseModel, u: U): AppInstance | undefined;
  /** Why `u` must not be applied to `inst` (undefined: apply it). Runs twice, like `Operation.check`;
   * `inst` is undefined when the instance or its file is gone. `frozen` tells whether an env is
   * frozen in that same revision (`.gitops-bot/freezes.yaml`). */
  check(inst: AppInstance | undefined, u: U, frozen: (env: string) => boolean): S | undefined;
  /** Applies `u` to the file text; returns the new text and what was done. */
  apply(text: string, now: AppInstance, u: U): { text: string; done: R };
  /** The commit message and trailers, from the updates that pass the check on the model. */
  describe(planned: { u: U; inst: AppInstance }[]): {
    subject: string;
    body: string;
    trailers: GitopsTrailers;
  };
}

/** The result of a batch: `subject` is empty when nothing was applied (no commit). */
export interface BatchResult<U, R, S extends string> {
  subject: string;
  commit: CommitResult;
  applied: R[];
  skipped: (U & { reason: S })[];
}

/** Runs operations: check, commit with the check again inside the edit (see the file comment). */
export class OperationRunner {
  constructor(
    private readonly ctx: OperationContext,
    private readonly model: () => Promise<ReleaseModel>,
  ) {}

  /** Runs one operation; returns its result, or throws the `UserError` of a failing check. */
  async run<A extends OpOptions, P>(op: Operation<A, P>, a: A): Promise<OpResult> {
    const model = await this.model();
    const { inst, plan } = await op.plan(model, a, this.ctx);
    op.check(inst, plan, a);
    const t = baseTrailers(op.action, inst, a);
    const d = op.describe(inst, plan, a, t);
    const edit = this.editOf(inst, (text, now) => {
      op.check(now, plan, a);
      return op.apply(text, now, plan, a, this.ctx);
    });
    const subject = commitSubject(inst.env, inst.app, d.subject);
    const body = [...d.body, ...(a.message?.trim() ? ["", a.message.trim()] : [])].join("\n");
    const commit = await this.ctx.repo.commit({
      subject,
      body,
      author: a.actor.identity,
      trailers: buildTrailers(t),
      edits: [edit],
      ...(a.dryRun ? { dryRun: true } : {}),
      ...(a.invocation ? { invocation: a.invocation } : {}),
    });
    const result: OpResult = {
      app: inst.app,
      env: inst.env,
      action: op.action,
      subject,
      commit,
      imageChanges: d.imageChanges ?? [],
      locked: d.locked ?? false,
    };
    if (d.chartChange) result.chartChange = d.chartChange;
    return result;
  }

  /** Runs one env operation: check on the freezes at the model's revision, commit with the check
   * again on the freezes file of the HEAD being built. The result's `app` is empty. */
  async runEnv<A extends OpOptions & { env: string }>(op: EnvOperation<A>, a: A): Promise<OpResult> {
    const model = await this.model();
    const before = await readFreezes(this.ctx.repo, model.revision);
    const env = op.resolve(model, before, a);
    op.check(before, env, a);
    const t = emptyTrailers();
    t.action = op.action;
    t.envs = [env];
    t.requestedBy = { id: a.actor.id, name: a.actor.name };
    t.approvedBy = (a.approvers ?? []).map((x) => ({ id: x.id, name: x.name }));
    const d = op.describe(before, env, a);
    const edit: Edit = async (files) => {
      const text = await files.read(FREEZES_FILE);
      op.check(parseFreezes(text), env, a);
      const out = op.apply(text, env, a, this.ctx);
      if (out !== (text ?? "")) await files.write(FREEZES_FILE, out);
    };
    const subject = commitSubject(env, "", d.subject);
    const commit = await this.ctx.repo.commit({
      subject,
      body: d.body.join("\n"),
      author: a.actor.identity,
      trailers: buildTrailers(t),
      edits: [edit],
      ...(a.dryRun ? { dryRun: true } : {}),
      ...(a.invocation ? { invocation: a.invocation } : {}),
    });
    return { app: "", env, action: op.action, subject, commit, imageChanges: [], locked: false };
  }

  /** Runs a batch in one commit: updates that fail the check up front are left out of the message,
   * and every update is checked again on the HEAD being built (skipped there, not failed). */
  async runBatch<U, R, S extends string>(
    op: BatchOperation<U, R, S>,
    updates: readonly U[],
    o: { actor: Actor; dryRun?: boolean },
  ): Promise<BatchResult<U, R, S>> {
    const model = await this.model();
    const frozenAtModel = frozenTest(await readFreezes(this.ctx.repo, model.revision));
    const located: Located<U>[] = updates.map((u) => ({ u, inst: op.locate(model, u) }));
    const planned = located.flatMap(({ u, inst }) =>
      inst && op.check(inst, u, frozenAtModel) === undefined ? [{ u, inst }] : [],
    );
    let applied: R[] = [];
    let skipped: (U & { reason: S })[] = [];
    const edit: Edit = async (fa) => {
      // Runs again after a rejected push: start the bookkeeping over.
      applied = [];
      skipped = [];
      const frozen = frozenTest(parseFreezes(await fa.read(FREEZES_FILE)));
      const skip = (u: U, now: AppInstance | undefined) => {
        const reason = op.check(now, u, frozen);
        if (reason === undefined) return false;
        skipped.push({ ...u, reason });
        return true;
      };
      for (const l of located) if (!l.inst) skip(l.u, undefined);
      const files = [...new Set(located.flatMap((l) => (l.inst ? [l.inst.workload.file] : [])))].sort();
      for (const file of files) {
        const before = await fa.read(file);
        let text = before;
        for (const { u, inst } of located.filter((l) => l.inst?.workload.file === file)) {
          const now = inst ? findInFile(inst, text, this.ctx.discovery) : undefined;
          if (skip(u, now) || !now || text === undefined) continue;
          const r = op.apply(text, now, u);
          text = r.text;
          applied.push(r.done);
        }
        if (text !== undefined && text !== before) await fa.write(file, text);
      }
    };
    const d = op.describe(planned);
    d.trailers.requestedBy = { id: o.actor.id, name: o.actor.name };
    const commit = await this.ctx.repo.commit({
      subject: d.subject,
      body: d.body,
      author: o.actor.identity,
      trailers: buildTrailers(d.trailers),
      edits: [edit],
      ...(o.dryRun ? { dryRun: true } : {}),
    });
    return { subject: commit.files.length > 0 ? d.subject : "", commit, applied, skipped };
  }

  /** An edit that re-finds `inst` in its file on the HEAD being built and applies `fn` to the text. */
  private editOf(inst: AppInstance, fn: (text: string, now: AppInstance) => string): Edit {
    const file = inst.workload.file;
    return async (files) => {
      const text = await files.read(file);
      if (text === undefined) {
        throw new UserError(`${file} no longer exists in the config repo`, { code: "vanished" });
      }
      const now = findInFile(inst, text, this.ctx.discovery);
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
}

/** Whether an env is frozen in `f`; every env is, when the file cannot be read at all (the safe
 * reading: automation cannot tell which env was meant). */
function frozenTest(f: Freezes): (env: string) => boolean {
  if (f.problems.some((p) => p.env === undefined)) return () => true;
  const envs = new Set(f.freezes.map((x) => x.env));
  return (env) => envs.has(env);
}

/** The trailers every single-instance operation carries: action, env, app, requester, approvers. */
function baseTrailers(action: OpResult["action"], inst: AppInstance, o: OpOptions): GitopsTrailers {
  const t = emptyTrailers();
  t.action = action;
  t.envs = [inst.env];
  t.apps = [inst.app];
  t.requestedBy = { id: o.actor.id, name: o.actor.name };
  t.approvedBy = (o.approvers ?? []).map((a) => ({ id: a.id, name: a.name }));
  return t;
}
