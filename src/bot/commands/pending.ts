import { z } from "zod";
import { defineCommand } from "../registry.js";

/** `pending`: lists approval requests that are still open. */
export const pending = defineCommand({
  name: "pending",
  summary: "list changes waiting for approval",
  params: [],
  args: z.object({}),
  sideEffects: "none",
  permission: () => ({ verb: "pending" }),
  examples: ["pending"],
  run: (_a, ctx) => ctx.approvals.list(),
});
