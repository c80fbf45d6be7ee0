/**
 * The engine's own replies: errors (user errors with their hint and actions; anything else as
 * "internal error (ref …)" with the details in the log) and the "please confirm" prompt.
 */
import { correlationId, isUserError, StalledError, TransientError } from "../core/errors.js";
import { code, type Message, t } from "../core/message.js";
import type { Logger } from "../core/ports.js";
import type { Redactor } from "../core/redact.js";
import type { OpResult } from "../gitops/operations.js";
import { newApprovalId } from "./approvals/store.js";
import { ActionableUserError } from "./registry.js";

/** The fields of an engine result that describe a failure. */
export interface FailureResult {
  outcome: "user-error" | "internal-error";
  message: Message;
  command?: string;
  results: OpResult[];
  error: { code: string; message: string; hint?: string; ref?: string };
}

/** An error (or info) reply meant for the actor only, with the hint as context. */
export function errorMessage(
  text: string,
  hint: string | undefined,
  severity: Message["severity"] = "error",
): Message {
  const blocks: Message["blocks"] = hint ? [{ kind: "context", text: [t(hint)] }] : [];
  return {
    title: [t(text)],
    severity,
    blocks,
    fallbackText: hint ? `${text}\n${hint}` : text,
    visibility: "actor",
  };
}

/** The reply to a command that threw: user errors as they are, others under a log reference. */
export function failureResult(
  e: unknown,
  log: Logger,
  redactor: Redactor,
  command: string | undefined,
  results: OpResult[],
): FailureResult {
  const base = { results, ...(command ? { command } : {}) };
  if (isUserError(e)) {
    log.info({ code: e.code, error: e.message }, "user error");
    const message = errorMessage(e.message, e.hint || undefined);
    if (e instanceof ActionableUserError && e.actions.length)
      message.blocks.push({ kind: "actions", actions: e.actions });
    return {
      ...base,
      outcome: "user-error",
      message,
      error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) },
    };
  }
  const ref = correlationId();
  log.error({ err: e, ref, command }, "command failed");
  // Transient and stalled errors carry a message meant for people (redacted anyway); others do not.
  const known = e instanceof TransientError || e instanceof StalledError;
  const text = known
    ? `${e instanceof TransientError ? "temporary failure" : "configuration problem"}: ${redactor.text(e.message)} (ref ${ref})`
    : `internal error (ref ${ref})`;
  const hint =
    e instanceof TransientError ? "Try again in a minute." : "The bot's log has the details under this ref.";
  return {
    ...base,
    outcome: "internal-error",
    message: errorMessage(text, hint),
    error: { code: "internal", message: text, hint, ref },
  };
}

/** The "please confirm" prompt for a risky command: Confirm re-runs it with `--yes`. */
export function confirmationMessage(why: string, text: string): Message {
  const nonce = newApprovalId();
  return {
    title: [t("Please confirm: "), code(text)],
    severity: "warning",
    blocks: [
      { kind: "text", text: [t(`${why}.`)] },
      {
        kind: "actions",
        actions: [
          { label: "Confirm", command: `${text} --yes`, style: "danger", value: `confirm:${nonce}` },
          { label: "Cancel", command: "help", style: "default", value: `cancel:${nonce}` },
        ],
      },
      { kind: "context", text: [t("Or type "), code(`${text} --yes`)] },
    ],
    fallbackText: `Please confirm: ${text}. ${why}. Type "${text} --yes" to go ahead.`,
    visibility: "actor",
  };
}
