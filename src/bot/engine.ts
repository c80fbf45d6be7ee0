/**
 * The command engine: the one pipeline every invocation goes through, typed or clicked, from any
 * front end: parse -> validate -> authorize -> confirm/approve -> run -> reply.
 *
 * Platforms call `engine.handle(invocation, responder)` (it is an `InvocationHandler`); front ends
 * that need the outcome (the `cmd` CLI, tests) call `engine.execute(invocation, opts)`.
 * Redelivered invocations (same `Invocation.id`) run once. User errors become a reply with the
 * message and a hint (visible to the actor only); anything else becomes "internal error (ref …)"
 * with the full error in the log.
 */
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Config } from "../config/schema.js";
import { UserError } from "../core/errors.js";
import type { EventSink } from "../core/events.js";
import type { Message } from "../core/message.js";
import type { Metrics } from "../core/metrics.js";
import { type Clock, type Logger, nullLogger, systemClock } from "../core/ports.js";
import type { KeyValueRecord } from "../core/record.js";
import { Redactor } from "../core/redact.js";
import type { ReleaseModel } from "../core/release.js";
import type { ReportRunner } from "../core/report.js";
import type { Actor, OpOptions, OpResult, ReleaseOperations } from "../gitops/operations.js";
import { ApprovalFlow } from "./approvals/flow.js";
import {
  type ApprovalStore,
  FileApprovalStore,
  InMemoryApprovalStore,
  type PendingApproval,
} from "./approvals/store.js";
import { Authorizer, type AuthzDecision } from "./authz.js";
import { CommandMetrics } from "./command-metrics.js";
import { commands as builtinCommands } from "./commands/index.js";
import { IdempotencyCache } from "./idempotency.js";
import { actorFor, canonicalText } from "./identity.js";
import { InFlight } from "./in-flight.js";
import { type ParsedLine, parseLine } from "./parse.js";
import type { ChatUser, Invocation, Responder } from "./platform.js";
import {
  type ApprovalDecisions,
  type Command,
  type CommandContext,
  CommandRegistry,
  type HelmCommands,
  type ImageCatalog,
  type Permission,
  type SyncCommands,
} from "./registry.js";
import { confirmationMessage, errorMessage, failureResult } from "./replies.js";
import { validateArgs } from "./validate.js";
import { WriteRecorder } from "./writes.js";

/** How an execution ended. */
export type Outcome =
  | "ok"
  | "user-error"
  | "internal-error"
  | "approval-requested"
  | "confirmation-needed"
  | "duplicate";

/** The result of `execute`: the reply plus machine-readable details (for `--json` and tests). */
export interface EngineResult {
  outcome: Outcome;
  message: Message;
  /** The canonical command text that ran (quoted tokens), when it parsed. */
  command?: string;
  /** Writes the command made (dry runs included). */
  results: OpResult[];
  /** Extra data a command returned with `ctx.output`. */
  data?: unknown;
  error?: { code: string; message: string; hint?: string; ref?: string };
  /** Id of the approval request created (outcome `approval-requested`). */
  approvalId?: string;
}

/** Per-call options of `execute`. */
export interface ExecuteOptions {
  /** Front ends that act with their own git credentials (`gitops-bot cmd`): chat approvals do not
   * apply, and writes to protected envs and risky commands need `yes` instead. */
  trusted?: boolean;
  /** The `--yes` of the CLI: confirms risky commands and protected writes (trusted only). */
  yes?: boolean;
}

/** Everything the engine needs; only `ops` is required. */
export interface EngineDeps {
  ops: ReleaseOperations;
  registry?: CommandRegistry;
  authorizer?: Authorizer;
  approvals?: ApprovalStore;
  /** How long approval requests stay valid (default 1 h). */
  approvalTtlMs?: number;
  /** Receives a `command-commit` event for every commit a command makes. */
  events?: EventSink;
  sync?: SyncCommands;
  helm?: HelmCommands;
  images?: ImageCatalog;
  /** Builds sync reports on demand (the `report` command). */
  reports?: ReportRunner;
  /** Web link to a commit (e.g. `https://github.com/org/repo/commit/<sha>`), when there is one. */
  commitUrl?: (sha: string) => string | undefined;
  cluster?: string;
  logger?: Logger;
  clock?: Clock;
  /** Known secrets, redacted from any error text shown to users. */
  secrets?: string[];
  idempotencyTtlMs?: number;
  /** Shared record of handled invocation ids (other replicas, restarts); see idempotency.ts. */
  idempotency?: KeyValueRecord;
  /** Where `gitops_commands_total` and `gitops_command_duration_seconds` are counted. */
  metrics?: Metrics;
}

/** The command engine. One per process; safe for concurrent invocations. */
export class CommandEngine {
  readonly registry: CommandRegistry;
  readonly authorizer: Authorizer;
  private readonly ops: ReleaseOperations;
  private readonly flow: ApprovalFlow;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly redactor: Redactor;
  private readonly seen: IdempotencyCache<EngineResult>;
  private readonly writes: WriteRecorder;
  /** Invocations between their start and their reply (see `drain`). */
  private readonly running = new InFlight();
  private readonly done: CommandMetrics;

  constructor(private readonly deps: EngineDeps) {
    this.ops = deps.ops;
    this.registry = deps.registry ?? new CommandRegistry(builtinCommands);
    this.authorizer = deps.authorizer ?? new Authorizer();
    this.logger = deps.logger ?? nullLogger;
    this.clock = deps.clock ?? systemClock;
    this.flow = new ApprovalFlow({
      store: deps.approvals ?? new InMemoryApprovalStore(),
      authorizer: this.authorizer,
      ttlMs: deps.approvalTtlMs ?? 3_600_000,
      run: (p) => this.runApproved(p),
      preview: (p) => this.previewApproved(p),
      clock: this.clock,
      logger: this.logger,
    });
    this.redactor = new Redactor(deps.secrets ?? []);
    this.done = new CommandMetrics(deps.metrics);
    this.writes = new WriteRecorder({
      ops: deps.ops,
      events: deps.events,
      cluster: deps.cluster,
      clock: this.clock,
      logger: this.logger,
    });
    this.seen = new IdempotencyCache<EngineResult>({
      clock: this.clock,
      ...(deps.idempotencyTtlMs ? { ttlMs: deps.idempotencyTtlMs } : {}),
      ...(deps.idempotency ? { shared: deps.idempotency } : {}),
      logger: this.logger,
    });
  }

  /**
   * Builds the engine the service runs from the `authz` and `approvals` config sections: rules,
   * protected envs, approver count, TTL, and a `FileApprovalStore` at `approvals.storePath`
   * (default `approvals.json` beside the repo workdir, or in the OS temp dir).
   */
  static fromConfig(
    cfg: Pick<Config, "authz" | "approvals" | "clusterName" | "repo">,
    deps: EngineDeps,
  ): CommandEngine {
    const base = cfg.repo.workdir ? dirname(resolve(cfg.repo.workdir)) : join(tmpdir(), "gitops-bot");
    return new CommandEngine({
      authorizer: new Authorizer(cfg.authz, cfg.approvals),
      approvals: new FileApprovalStore(cfg.approvals.storePath ?? join(base, "approvals.json")),
      approvalTtlMs: cfg.approvals.ttl,
      cluster: cfg.clusterName,
      ...deps,
    });
  }

  /** The `InvocationHandler` platforms register: runs the invocation and replies (once). */
  readonly handle = (inv: Invocation, responder: Responder): Promise<void> =>
    this.running.track(async () => {
      const r = await this.execute(inv);
      if (r.outcome === "duplicate") return;
      try {
        await responder.reply(r.message);
      } catch (e) {
        this.logger.error({ err: e, invocation: inv.id }, "reply failed");
      }
    });

  /**
   * Graceful stop: waits until every invocation running now has finished and replied (at most
   * `graceMs`), so the config repo and the notification pipeline are closed only after them.
   * Resolves with how many still run; the engine takes new invocations meanwhile (the platforms
   * stopped taking them before).
   */
  async drain(graceMs: number): Promise<number> {
    const left = await this.running.drain(graceMs);
    if (left > 0) this.logger.warn({ left, graceMs }, "commands still running at stop");
    return left;
  }

  /** Runs one invocation through the pipeline and returns the reply with its outcome. Never throws. */
  execute(inv: Invocation, opts: ExecuteOptions = {}): Promise<EngineResult> {
    return this.running.track(() => this.executeTracked(inv, opts));
  }

  private async executeTracked(inv: Invocation, opts: ExecuteOptions): Promise<EngineResult> {
    const r = await this.seen.once(inv.id, () => this.executeOnce(inv, opts));
    if (r.first) return r.value;
    this.logger.info({ invocation: inv.id }, "duplicate delivery ignored");
    return {
      outcome: "duplicate",
      message: r.value?.message ?? errorMessage("already handled", undefined, "info"),
      results: [],
    };
  }

  /** Runs the pipeline once, then counts, times and logs the outcome ("command done"). */
  private async executeOnce(inv: Invocation, opts: ExecuteOptions): Promise<EngineResult> {
    const log = this.logger.child({ invocation: inv.id, platform: inv.platform, user: inv.user.id });
    const started = process.hrtime.bigint();
    const r = await this.pipeline(inv, opts, log);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.done.record(inv, r, seconds, log);
    return r;
  }

  private async pipeline(inv: Invocation, opts: ExecuteOptions, log: Logger): Promise<EngineResult> {
    const results: OpResult[] = [];
    let data: unknown;
    let command: string | undefined;
    try {
      const text = this.textOf(inv);
      if (text === undefined) {
        return {
          outcome: "ok",
          message: errorMessage("Cancelled: nothing was changed.", undefined, "info"),
          results,
        };
      }
      const parsed = parseLine(text);
      const cmd = this.registry.resolve(parsed.verb);
      command = canonicalText(parsed);
      log.info({ command }, "command");
      const model = this.memoModel();
      const args = await validateArgs(cmd, parsed, model);
      const perm = cmd.permission(args);
      const write = cmd.sideEffects === "write";
      const dryRun = write && (args as { dryRun?: boolean }).dryRun === true;
      const who = { user: inv.user, channel: inv.channel };
      const decision: AuthzDecision = cmd.selfAuthorized
        ? { kind: "allow" }
        : this.authorizer.check(perm, write, who);
      if (decision.kind === "deny")
        throw new UserError(decision.reason, { code: "forbidden", hint: decision.hint ?? "" });
      const ctx = this.context(inv, model, results, (d) => {
        data = d;
      });

      if (decision.kind === "approval" && !dryRun) {
        if (opts.trusted) {
          if (!opts.yes) {
            throw new UserError(`${perm.env} is a protected environment: this change needs --yes`, {
              code: "needs-yes",
              hint: "Chat approvals do not apply to the command line, which acts with its own git credentials; add --yes to commit anyway, or --dry-run to see the change.",
            });
          }
        } else {
          const pending = await this.requestApproval(cmd, args, perm, parsed, inv, model, results);
          return {
            outcome: "approval-requested",
            message: pending.message,
            command,
            results,
            approvalId: pending.id,
          };
        }
      }

      const yes = (args as { yes?: boolean }).yes === true || (opts.trusted === true && opts.yes === true);
      if (cmd.confirm && !yes && !dryRun) {
        const why = await cmd.confirm(args, ctx);
        if (why) {
          if (opts.trusted) {
            throw new UserError(`${why}: add --yes to go ahead`, {
              code: "needs-yes",
              hint: `Or --dry-run to see the change first.`,
            });
          }
          return {
            outcome: "confirmation-needed",
            message: confirmationMessage(why, canonicalText(parsed)),
            command,
            results,
          };
        }
      }

      const message = await cmd.run(args, ctx);
      this.writes.emit(results, ctx.actor, []);
      return { outcome: "ok", message, command, results, data };
    } catch (e) {
      return this.failure(e, log, command, results);
    }
  }

  /** The command text of an invocation; undefined for a "cancel" button. */
  private textOf(inv: Invocation): string | undefined {
    const value = inv.button?.value;
    if (value) {
      const m = /^(approve|reject|cancel|confirm):([a-z0-9-]{1,64})$/u.exec(value);
      if (m?.[1] === "approve" || m?.[1] === "reject") return `${m[1]} ${m[2]}`;
      if (m?.[1] === "cancel") return undefined;
    }
    return inv.text;
  }

  private failure(e: unknown, log: Logger, command: string | undefined, results: OpResult[]): EngineResult {
    return failureResult(e, log, this.redactor, command, results);
  }

  private memoModel(): () => Promise<ReleaseModel> {
    let p: Promise<ReleaseModel> | undefined;
    return () => {
      p ??= this.ops.model();
      return p;
    };
  }

  /** Builds the context a command runs with. Writes go through a recorder that forces dry runs in previews. */
  private context(
    inv: Invocation,
    model: () => Promise<ReleaseModel>,
    results: OpResult[],
    output: (d: unknown) => void,
    extra: { actor?: Actor; approvers?: Actor[]; preview?: boolean } = {},
  ): CommandContext {
    const actor = extra.actor ?? actorFor(inv.user);
    const approvers = extra.approvers ?? [];
    const preview = extra.preview ?? false;
    const ops = this.writes.ops(results, preview);
    const decisions: ApprovalDecisions = {
      approve: (id) => this.flow.decide(inv, id, "approve"),
      reject: (id) => this.flow.decide(inv, id, "reject"),
      list: () => this.flow.list(),
    };
    return {
      invocation: inv,
      ops,
      model,
      actor,
      opts: (dryRun?: boolean): OpOptions => ({
        actor,
        ...(approvers.length ? { approvers } : {}),
        dryRun: preview || dryRun === true,
        invocation: inv.id,
      }),
      preview,
      registry: this.registry,
      approvals: decisions,
      ...(this.deps.sync ? { sync: this.deps.sync } : {}),
      ...(this.deps.helm ? { helm: this.deps.helm } : {}),
      ...(this.deps.images ? { images: this.deps.images } : {}),
      ...(this.deps.reports ? { reports: this.deps.reports } : {}),
      commitUrl: (sha) => this.deps.commitUrl?.(sha),
      clock: this.clock,
      logger: this.logger,
      output,
    };
  }

  // --- Approvals -------------------------------------------------------------------------------

  /** Shows the exact diff (a dry run of the command), then stores the request and returns its message. */
  private async requestApproval(
    cmd: Command<unknown>,
    args: unknown,
    perm: Permission,
    parsed: ParsedLine,
    inv: Invocation,
    model: () => Promise<ReleaseModel>,
    results: OpResult[],
  ): Promise<{ id: string; message: Message }> {
    const previewCtx = this.context(inv, model, results, () => {}, { preview: true });
    await cmd.run(args, previewCtx);
    const app = (args as { app?: string }).app;
    return this.flow.request(inv, perm, canonicalText(parsed, ["--yes", "-y"]), app, results);
  }

  /** The `ApprovedRunner` of the flow: re-validates the stored command, re-authorizes the requester and runs it. */
  private async runApproved(p: PendingApproval): Promise<Message> {
    const { inv, cmd, args, model, requester } = await this.revalidate(p);
    const approvers = p.approvals.map((a) =>
      actorFor({ id: a.id, name: a.name, ...(a.email ? { email: a.email } : {}) }),
    );
    const results: OpResult[] = [];
    const ctx = this.context(inv, model, results, () => {}, { actor: actorFor(requester), approvers });
    const msg = await cmd.run(args, ctx);
    this.writes.emit(results, ctx.actor, approvers);
    return msg;
  }

  /** The `ApprovalPreview` of the flow: what the stored command would write now (a dry run). */
  private async previewApproved(p: PendingApproval): Promise<OpResult[]> {
    const { inv, cmd, args, model, requester } = await this.revalidate(p);
    const results: OpResult[] = [];
    const ctx = this.context(inv, model, results, () => {}, { actor: actorFor(requester), preview: true });
    await cmd.run(args, ctx);
    return results;
  }

  /** Parses and validates a stored request again and checks that its requester may still run it. */
  private async revalidate(p: PendingApproval) {
    const requester: ChatUser = {
      id: p.requester.id,
      name: p.requester.name,
      ...(p.requester.email ? { email: p.requester.email } : {}),
    };
    const inv: Invocation = {
      id: `approval:${p.id}`,
      platform: p.platform,
      text: p.command,
      user: requester,
      channel: p.channel,
      receivedAt: this.clock.now(),
    };
    const parsed = parseLine(p.command);
    const cmd = this.registry.resolve(parsed.verb);
    const model = this.memoModel();
    const args = await validateArgs(cmd, parsed, model);
    // Rights may have changed since the request: check the requester again.
    const decision = this.authorizer.check(cmd.permission(args), true, {
      user: requester,
      channel: p.channel,
    });
    if (decision.kind === "deny")
      throw new UserError(`the requester may no longer run this: ${decision.reason}`, { code: "forbidden" });
    return { inv, cmd, args, model, requester };
  }

  /** Removes expired approval requests; returns how many. Runs on every new request, too. */
  sweepApprovals(): Promise<number> {
    return this.flow.sweep();
  }
}
