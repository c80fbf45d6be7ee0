/**
 * Compatibility path: the approval store moved to `approvals/store.ts` (issue 10). Kept so the
 * front ends that still import it (platforms/shell/demo.ts, platforms/cli/cmd.ts) build; import
 * from `./approvals/store.js` in new code. TODO(#10): remove once those imports point there.
 */
export {
  type ApprovalStore,
  type ApprovalUser,
  FileApprovalStore,
  InMemoryApprovalStore,
  newApprovalId,
  type PendingApproval,
} from "./approvals/store.js";
