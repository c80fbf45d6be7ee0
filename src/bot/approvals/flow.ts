/**
 * The approval workflow for changes to protected environments: request, approve, reject, quorum,
 * expiry, and the request message that each decision edits (`approval:<id>`).
 *
 * The engine calls `request` after it ran the command as a dry run (the results carry the diff
 * shown to approvers), and `decide` for `approve`/`reject`. When the quorum is reached the request
 * is removed first and then handed to the `ApprovedRunner` (the engine), which re-runs the stored
 * command as the requester with the approvers as `Approved-By:` trailers.
 */
import { isUserError, StalledError, TransientError, UserError } from "../../core/errors.js";
import type { Message } from "../../core/message.js";
import { type Clock, type Logger, nullLogger, systemClock } from "../../core/ports.js";
import type { OpResult } from "../../gitops/operations.js";
import type { Authorizer } from "../authz.js";
import type { Invocation } from "../platform.js";
import type { Permission } from "../registry.js";
import { changeFingerprint } from "../writes.js";
import {
  approvalRequestMessage,
  approvedMessage,
  changedMessage,
  partiallyApprovedMessage,
  pendingListMessage,
  rejectedMessage,
} from "./messages.js";
import { type ApprovalStore, newApprovalId, type PendingApproval } from "./store.js";

/** Runs an approved request (the engine): re-validates, re-authorizes and runs it as the requester. */
export type ApprovedRunner = (p: PendingApproval) => Promise<Message>;

/** Dry-runs a stored request as it would run now (the engine), for comparing with what was reviewed. */
export type ApprovalPreview = (p: PendingApproval) => Promise<OpResult[]>;

/** What `ApprovalFlow` needs. */
export interface ApprovalFlowDeps {
  store: ApprovalStore;
  authorizer: Authorizer;
  /** How long requests stay valid. */
  ttlMs: number;
  run: ApprovedRunner;
  /** When given, an approval applies only if the command would still make the change it showed. */
  preview?: ApprovalPreview;
  clock?: Clock;
  logger?: Logger;
}

/** The approval workflow over one store. One per engine; safe for concurrent decisions. */
export class ApprovalFlow {
  private readonly store: ApprovalStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: ApprovalFlowDeps) {
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? nullLogger;
  }

  /**
   * Stores a new request for `command` (canonical text) asked by `inv`, and returns the message to
   * post: `results` are the dry-run writes of the command, whose diff the approvers see.
   */
  async request(
    inv: Invocation,
    perm: Permission,
    command: string,
    app: string | undefined,
    results: OpResult[],
  ): Promise<{ id: string; message: Message }> {
    const now = this.clock.now();
    const id = newApprovalId();
    const pending: PendingApproval = {
      id,
      command,
      verb: perm.verb,
      ...(perm.env ? { env: perm.env } : {}),
      ...(app ? { app } : {}),
      requester: {
        id: inv.user.id,
        name: inv.user.name,
        ...(inv.user.email ? { email: inv.user.email } : {}),
      },
      platform: inv.platform,
      channel: inv.channel,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.deps.ttlMs).toISOString(),
      required: this.deps.authorizer.requiredApprovals,
      approvals: [],
      change: changeFingerprint(results),
    };
    // Expired requests are refused anyway; dropping them here keeps the store small without a timer.
    await this.sweep().catch((e: unknown) => this.logger.warn({ err: e }, "approval sweep failed"));
    await this.store.put(pending);
    return { id, message: approvalRequestMessage(pending, results, this.deps.authorizer.allowSelfApproval) };
  }

  /** `approve [id]` / `reject [id]` by the user of `inv`; without an id, the one open request. */
  async decide(inv: Invocation, id: string | undefined, decision: "approve" | "reject"): Promise<Message> {
    const which = id ?? (await this.onlyPending());
    return this.locked(which, () =>
      decision === "reject" ? this.reject(inv, which) : this.approve(inv, which),
    );
  }

  /** The `pending` reply: open (unexpired) requests. */
  async list(): Promise<Message> {
    return pendingListMessage(await this.open());
  }

  /** Removes expired requests; returns how many. Runs on every new request, too. */
  async sweep(): Promise<number> {
    const now = this.clock.now().getTime();
    let n = 0;
    for (const p of await this.store.list()) {
      if (new Date(p.expiresAt).getTime() <= now && (await this.store.delete(p.id))) n++;
    }
    return n;
  }

  private async reject(inv: Invocation, id: string): Promise<Message> {
    const p = await this.pendingOrThrow(id);
    const who = { user: inv.user, channel: inv.channel };
    const ok = inv.user.id === p.requester.id || this.deps.authorizer.canApprove(permOf(p), who, "").ok;
    if (!ok) throw new UserError("you may not reject this request", { code: "forbidden" });
    if (!(await this.store.delete(id))) throw alreadyDecided(id);
    return rejectedMessage(p, inv.user);
  }

  private async approve(inv: Invocation, id: string): Promise<Message> {
    const p = await this.pendingOrThrow(id);
    const who = { user: inv.user, channel: inv.channel };
    const can = this.deps.authorizer.canApprove(permOf(p), who, p.requester.id);
    if (!can.ok)
      throw new UserError(can.reason, { code: "forbidden", hint: "Ask another person to approve it." });
    if (p.approvals.some((a) => a.id === inv.user.id)) {
      throw new UserError("you already approved this request", { code: "already-approved" });
    }
    p.approvals.push({
      id: inv.user.id,
      name: inv.user.name,
      ...(inv.user.email ? { email: inv.user.email } : {}),
      at: this.clock.now().toISOString(),
    });
    // The config may have asked for more approvals since the request was made: the stricter wins.
    p.required = Math.max(p.required, this.deps.authorizer.requiredApprovals);
    if (p.approvals.length < p.required) {
      await this.store.put(p);
      return partiallyApprovedMessage(p, inv.user);
    }
    const changed = await this.changedSince(p);
    if (changed) {
      if (!(await this.store.delete(id))) throw alreadyDecided(id);
      const fresh = await this.request(
        requesterInvocation(p, this.clock.now()),
        permOf(p),
        p.command,
        p.app,
        changed,
      );
      this.logger.info(
        { approval: id, replacedBy: fresh.id },
        "approval refused: the change differs from what was reviewed",
      );
      return changedMessage(p, fresh.message);
    }
    // Quorum reached: remove the request first so a crash mid-run cannot commit it twice. Only the
    // caller whose delete took effect runs it (another replica may have reached quorum too).
    if (!(await this.store.delete(id))) throw alreadyDecided(id);
    try {
      return approvedMessage(p, await this.deps.run(p));
    } catch (e) {
      if (isUserError(e)) throw e;
      // Nothing was committed (git down, push refused): the request stays pending for a retry,
      // without this approval so that the same approver can click again.
      p.approvals.pop();
      await this.store.put(p);
      const why = e instanceof TransientError || e instanceof StalledError ? e.message : "the commit failed";
      throw new TransientError(
        `${why}; the approval request ${id} is still pending: approve it again to retry`,
        {
          cause: e,
        },
      );
    }
  }

  /** The dry-run results of `p` now, when they differ from what the approvers were shown. */
  private async changedSince(p: PendingApproval): Promise<OpResult[] | undefined> {
    if (!this.deps.preview || p.change === undefined) return undefined;
    const now = await this.deps.preview(p);
    return changeFingerprint(now) === p.change ? undefined : now;
  }

  private async open(): Promise<PendingApproval[]> {
    const now = this.clock.now().getTime();
    return (await this.store.list()).filter((p) => new Date(p.expiresAt).getTime() > now);
  }

  /** The id of the one open request, for `approve` without an id (handy in the shell). */
  private async onlyPending(): Promise<string> {
    const open = await this.open();
    if (open.length === 1) return (open[0] as PendingApproval).id;
    throw new UserError(
      open.length === 0 ? "there is no pending approval" : `there are ${open.length} pending approvals`,
      {
        code: open.length === 0 ? "no-approval" : "ambiguous-approval",
        hint:
          open.length === 0
            ? "Changes to protected environments create one."
            : `Say which: ${open.map((p) => `${p.id} (${p.command})`).join(", ")}.`,
      },
    );
  }

  private async pendingOrThrow(id: string): Promise<PendingApproval> {
    const p = await this.store.get(id);
    if (!p) {
      throw new UserError(`there is no pending approval ${id}`, {
        code: "no-approval",
        hint: "It was already approved or rejected, or it expired. Type `pending` to list open requests.",
      });
    }
    if (new Date(p.expiresAt).getTime() <= this.clock.now().getTime()) {
      await this.store.delete(id);
      throw new UserError(`the approval request ${id} expired at ${p.expiresAt}`, {
        code: "approval-expired",
        hint: `Run the command again to ask anew: ${p.command}`,
      });
    }
    return p;
  }

  /** Serializes decisions on one approval so two clicks cannot both reach the quorum. */
  private async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(id, tail);
    try {
      return await next;
    } finally {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }
}

/** The invocation that asked for `p`, for re-issuing it as a new request. */
function requesterInvocation(p: PendingApproval, now: Date): Invocation {
  return {
    id: `approval:${p.id}:renew`,
    platform: p.platform,
    text: p.command,
    user: {
      id: p.requester.id,
      name: p.requester.name,
      ...(p.requester.email ? { email: p.requester.email } : {}),
    },
    channel: p.channel,
    receivedAt: now,
  };
}

function permOf(p: PendingApproval): Permission {
  return { verb: p.verb, ...(p.env ? { env: p.env } : {}) };
}

function alreadyDecided(id: string): UserError {
  return new UserError(`the approval request ${id} was already decided`, {
    code: "no-approval",
    hint: "Somebody approved or rejected it at the same moment. Type `pending` to list open requests.",
  });
}
