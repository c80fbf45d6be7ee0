import { z } from "zod";
import { defineCommand } from "../registry.js";

/** `approve <id>`: approves a pending change to a protected environment (same as the Approve button). */
export const approve = defineCommand({
  name: "approve",
  summary: "approve a pending change to a protected environment",
  params: [{ key: "id", label: "approval-id", kind: "id", optional: true }],
  args: z.object({ id: z.string().optional() }),
  // The real check (not the requester, allowed to approve that verb in that env) is in the engine.
  sideEffects: "none",
  selfAuthorized: true,
  permission: () => ({ verb: "approve" }),
  examples: ["approve k3xq9m2a"],
  run: (a, ctx) => ctx.approvals.approve(a.id),
});
