import { z } from "zod";
import { defineCommand } from "../registry.js";

/** `reject <id>`: rejects (or, for the requester, withdraws) a pending change. */
export const reject = defineCommand({
  name: "reject",
  summary: "reject a pending change (the requester can withdraw their own)",
  params: [{ key: "id", label: "approval-id", kind: "id", optional: true }],
  args: z.object({ id: z.string().optional() }),
  sideEffects: "none",
  selfAuthorized: true,
  permission: () => ({ verb: "reject" }),
  examples: ["reject k3xq9m2a"],
  run: (a, ctx) => ctx.approvals.reject(a.id),
});
