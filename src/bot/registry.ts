/**
 * The command registry (DESIGN.md `Command<A>`): every chat command is one file in
 * `src/bot/commands/`, listed once in `commands/index.ts`. Help text, usage lines and the Teams
 * manifest's command list are generated from here, so they cannot drift from what the engine runs.
 */
import type { z } from "zod";
import { UserError } from "../core/errors.js";
import type { Action, Message } from "../core/message.js";
import type { Clock, HelmCommands, ImageCatalog, Logger, SyncCommands } from "../core/ports.js";
import type { ReleaseModel } from "../core/release.js";
import type { ReportRunner } from "../core/report.js";
import { didYouMean } from "../core/suggest.js";
import type { Actor, OpOptions, ReleaseOperations } from "../gitops/operations.js";
import { type FlagName, type Param, usageLine } from "./parse.js";
import type { Invocation } from "./platform.js";

/** The sync contract lives in core (the reconciler implements it); re-exported for the commands. */
export type {
  HelmCommands,
  ImageCandidate,
  ImageCandidates,
  ImageCatalog,
  SyncCommands,
  SyncSummary,
} from "../core/ports.js";

/** A `UserError` that offers buttons (e.g. "pin it with --force"); the engine adds them to the reply. */
export class ActionableUserError extends UserError {
  readonly actions: Action[];
  constructor(message: string, opts: { hint?: string; code?: string; actions: Action[] }) {
    super(message, opts);
    this.actions = opts.actions;
  }
}

/** What a command needs permission for: a verb, in an env when it touches one. */
export interface Permission {
  verb: string;
  env?: string;
}

/** Decisions on pending approvals, bound to the current invocation by the engine. */
export interface ApprovalDecisions {
  /** Without an id: the only pending request (an error when there are none or several). */
  approve(id?: string): Promise<Message>;
  reject(id?: string): Promise<Message>;
  list(): Promise<Message>;
}

/** Everything a command's `run` may use. */
export interface CommandContext {
  invocation: Invocation;
  /** The release operations. Writes made through it are recorded for events and `--json`. */
  ops: ReleaseOperations;
  /** The release model at the start of this invocation. */
  model(): Promise<ReleaseModel>;
  actor: Actor;
  /** Options for every writing call: actor, approvers, and `dryRun` (forced on for previews). */
  opts(dryRun?: boolean): OpOptions;
  /** True when the engine runs the command only to preview it (approval request): never commit. */
  preview: boolean;
  registry: CommandRegistry;
  approvals: ApprovalDecisions;
  sync?: SyncCommands;
  /** The HelmRelease reconciler (absent without a cluster or with helm off). */
  helm?: HelmCommands;
  images?: ImageCatalog;
  /** Builds sync reports (absent when the process has none, e.g. `gitops-bot cmd`). */
  reports?: ReportRunner;
  /** Web link to a commit, when the repo has a web URL. */
  commitUrl(sha: string): string | undefined;
  clock: Clock;
  logger: Logger;
  /** Machine-readable result for `gitops-bot cmd --json`. */
  output(data: unknown): void;
}

/** A chat command. `A` is the parsed, validated args type. */
export interface Command<A = Record<string, unknown>> {
  name: string;
  /** One line, lower case, no full stop: shown by `help` and in the Teams manifest. */
  summary: string;
  /** Usage line; generated from params and flags. */
  usage: string;
  params: Param[];
  flags: FlagName[];
  /** Validates and types the bound args. */
  args: z.ZodType<A>;
  sideEffects: "none" | "write";
  /** The command checks rights itself (approve/reject: the approver rules), or needs none (help):
   * the pipeline's generic check is skipped. */
  selfAuthorized?: boolean;
  /** Verb and env the caller needs rights for. */
  permission(args: A): Permission;
  /** Why this invocation needs an explicit confirmation (risky), or undefined. */
  confirm?(args: A, ctx: CommandContext): Promise<string | undefined>;
  run(args: A, ctx: CommandContext): Promise<Message>;
  examples?: string[];
  /** Longer help text. */
  details?: string;
}

/** A command of any args type, for lists. The args type is erased: the engine validates with `args`. */
// biome-ignore lint/suspicious/noExplicitAny: heterogeneous list; each command's own `args` schema types its `run`.
export type AnyCommand = Command<any>;

/** Builds a command, filling in the usage line (and `--dry-run` for writes). */
export function defineCommand<A>(
  c: Omit<Command<A>, "usage" | "flags"> & { flags?: FlagName[] },
): Command<A> {
  const flags: FlagName[] = [
    ...(c.sideEffects === "write" ? (["dry-run"] as FlagName[]) : []),
    ...(c.flags ?? []),
  ];
  return { ...c, flags, usage: usageLine(c.name, c.params, flags) };
}

/** The set of commands, looked up by name. */
export class CommandRegistry {
  private readonly byName = new Map<string, Command<unknown>>();

  /** Throws when two commands share a name (a programming error). */
  constructor(commands: AnyCommand[]) {
    for (const c of commands) {
      if (this.byName.has(c.name)) throw new Error(`duplicate command ${c.name}`);
      this.byName.set(c.name, c as unknown as Command<unknown>);
    }
  }

  /** All commands in registration order. */
  list(): Command<unknown>[] {
    return [...this.byName.values()];
  }

  get(name: string): Command<unknown> | undefined {
    return this.byName.get(name);
  }

  /** The command named `verb`, or a `UserError` with "did you mean" and the list of verbs. */
  resolve(verb: string): Command<unknown> {
    const c = this.byName.get(verb);
    if (c) return c;
    const close = didYouMean(verb, this.byName.keys());
    const guess = close[0] ? this.byName.get(close[0]) : undefined;
    throw new UserError(
      `unknown command "${verb.slice(0, 40)}"${close.length ? `; did you mean ${close.join(" or ")}?` : ""}`,
      {
        code: "unknown-command",
        hint: guess
          ? `Usage: ${guess.usage}`
          : `Commands: ${[...this.byName.keys()].join(", ")}. Type \`help\` for more.`,
      },
    );
  }
}
