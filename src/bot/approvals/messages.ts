/**
 * The messages of the approval workflow: the request (with the diff it would commit and the
 * Approve/Reject buttons), a partial approval, the rejection, the approved result and the
 * `pending` list. The request, its rejection and its approved result share the update key
 * `approval:<id>`, so platforms that can edit show one message that changes state.
 */
import { b, code, type Message, mention, type RichText, t } from "../../core/message.js";
import type { OpResult } from "../../gitops/operations.js";
import type { ChatUser } from "../platform.js";
import type { PendingApproval } from "./store.js";

/** The update key every message about one approval request shares. */
export function approvalKey(id: string): string {
  return `approval:${id}`;
}

/** The request posted to the channel: facts, the diff of the dry run, and Approve/Reject buttons. */
export function approvalRequestMessage(
  p: PendingApproval,
  results: OpResult[],
  selfApproval: boolean,
): Message {
  const diff = results
    .map((r) => r.commit.diff)
    .filter(Boolean)
    .join("\n");
  const changes = results.flatMap((r) => r.imageChanges.map((c) => `${c.container}: ${c.from} → ${c.to}`));
  const blocks: Message["blocks"] = [
    {
      kind: "facts",
      facts: [
        { label: "Requested by", value: [mention(p.requester.id, p.requester.name)] },
        { label: "Command", value: [code(p.command)] },
        ...(changes.length ? [{ label: "Changes", value: [t(changes.join(", "))] }] : []),
        {
          label: "Approvals needed",
          value: [t(`${p.required} (${selfApproval ? "the requester may approve" : "not the requester"})`)],
        },
        { label: "Expires", value: [t(p.expiresAt)] },
      ],
    },
  ];
  if (diff) blocks.push({ kind: "code", text: diff, language: "diff" });
  else blocks.push({ kind: "text", text: [t("The change would not modify any file.")] });
  blocks.push({
    kind: "actions",
    actions: [
      { label: "Approve", command: `approve ${p.id}`, style: "primary", value: `approve:${p.id}` },
      { label: "Reject", command: `reject ${p.id}`, style: "danger", value: `reject:${p.id}` },
    ],
  });
  blocks.push({
    kind: "context",
    text: [t("Or type "), code(`approve ${p.id}`), t(" / "), code(`reject ${p.id}`)],
  });
  return {
    title: [t("Approval needed: "), b(p.command)],
    severity: "warning",
    blocks,
    fallbackText: `Approval needed for "${p.command}" requested by ${p.requester.name}: approve ${p.id} / reject ${p.id}`,
    visibility: "channel",
    updateKey: approvalKey(p.id),
  };
}

/** The reply to a rejection; it replaces the request. */
export function rejectedMessage(p: PendingApproval, by: ChatUser): Message {
  return {
    title: [t("Rejected: "), b(p.command)],
    severity: "info",
    blocks: [
      { kind: "text", text: [t("Rejected by "), mention(by.id, by.name), t(". Nothing was changed.")] },
    ],
    fallbackText: `Rejected: ${p.command} (by ${by.name})`,
    visibility: "channel",
    updateKey: approvalKey(p.id),
  };
}

/** The reply to an approval that does not reach the quorum yet; the request stays as it is. */
export function partiallyApprovedMessage(p: PendingApproval, by: ChatUser): Message {
  const left = p.required - p.approvals.length;
  return {
    title: [
      t("Approved by "),
      mention(by.id, by.name),
      t(`: ${left} more approval${left > 1 ? "s" : ""} needed`),
    ],
    severity: "info",
    blocks: [{ kind: "context", text: [code(p.command)] }],
    fallbackText: `${by.name} approved ${p.command}; ${left} more needed`,
    visibility: "channel",
  };
}

/** The reply of the approved command, with who approved and who asked; it replaces the request. */
export function approvedMessage(p: PendingApproval, result: Message): Message {
  const names: RichText = [t("Approved by ")];
  p.approvals.forEach((a, i) => {
    if (i > 0) names.push(t(", "));
    names.push(mention(a.id, a.name));
  });
  return {
    ...result,
    blocks: [
      ...result.blocks,
      { kind: "context", text: [...names, t(`; requested by ${p.requester.name}`)] },
    ],
    visibility: "channel",
    updateKey: approvalKey(p.id),
  };
}

/**
 * The reply to an approval of a request whose command would now make another change than the one
 * reviewed (someone released to the source env meanwhile): nothing was committed, and the card
 * becomes the new request `fresh` with the new diff.
 */
export function changedMessage(p: PendingApproval, fresh: Message): Message {
  const why = `Not approved: "${p.command}" would now make a different change than the one reviewed. Nothing was changed; here is the new change to review.`;
  return {
    ...fresh,
    blocks: [{ kind: "text", text: [t(why)] }, ...fresh.blocks],
    fallbackText: `${why}\n${fresh.fallbackText}`,
    updateKey: approvalKey(p.id),
  };
}

/** The `pending` reply: a table of the open requests. */
export function pendingListMessage(open: PendingApproval[]): Message {
  if (open.length === 0) {
    return {
      title: [t("No pending approvals")],
      severity: "info",
      blocks: [],
      fallbackText: "No pending approvals",
    };
  }
  return {
    title: [t(`${open.length} pending approval${open.length > 1 ? "s" : ""}`)],
    severity: "info",
    blocks: [
      {
        kind: "table",
        columns: ["id", "command", "requested by", "approvals", "expires"],
        rows: open.map((p) => [
          [code(p.id)],
          [code(p.command)],
          [t(p.requester.name)],
          [t(`${p.approvals.length}/${p.required}`)],
          [t(p.expiresAt)],
        ]),
      },
    ],
    fallbackText: open.map((p) => `${p.id}: ${p.command} (${p.requester.name})`).join("\n"),
  };
}
