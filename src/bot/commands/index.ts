/**
 * The command list: every command the engine knows, in the order `help` shows them. Adding a
 * command = one file plus one line here; help and the Teams manifest follow.
 */
import type { AnyCommand } from "../registry.js";
import { approve } from "./approve.js";
import { automate } from "./automate.js";
import { deautomate } from "./deautomate.js";
import { diff } from "./diff.js";
import { freeze } from "./freeze.js";
import { help } from "./help.js";
import { history } from "./history.js";
import { images } from "./images.js";
import { lock } from "./lock.js";
import { pending } from "./pending.js";
import { policy } from "./policy.js";
import { promote } from "./promote.js";
import { reject } from "./reject.js";
import { release } from "./release.js";
import { report } from "./report.js";
import { retry } from "./retry.js";
import { rollback } from "./rollback.js";
import { status } from "./status.js";
import { sync } from "./sync.js";
import { unfreeze } from "./unfreeze.js";
import { unlock } from "./unlock.js";

/** All built-in commands. */
export const commands: AnyCommand[] = [
  status,
  promote,
  release,
  rollback,
  history,
  diff,
  lock,
  unlock,
  automate,
  deautomate,
  policy,
  freeze,
  unfreeze,
  images,
  sync,
  retry,
  approve,
  reject,
  pending,
  report,
  help,
];
