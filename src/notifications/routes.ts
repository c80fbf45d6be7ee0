/**
 * Routing rules (issue #5, cut out of router.ts for issue #10): which destinations an event goes
 * to. A route matches on kind, severity, env, app, namespace and cluster; patterns are globs (`*` only).
 */

import type { RouteConfig } from "../config/notifications.js";
import type { GitopsEvent } from "../core/events.js";
import { eventNamespaces, eventSeverity } from "./state.js";

/** Glob (only `*`) to an anchored regex. */
function glob(p: string): RegExp {
  return new RegExp(
    `^${p
      .split("*")
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
}

export function matches(route: RouteConfig, e: GitopsEvent): boolean {
  const m = route.match;
  const any = (pats: string[] | undefined, values: (string | undefined)[]) =>
    !pats || values.some((v) => v !== undefined && pats.some((p) => glob(p).test(v)));
  if (m.kind && !m.kind.includes(e.kind)) return false;
  if (m.severity && !m.severity.includes(eventSeverity(e))) return false;
  if (!any(m.env, [e.env])) return false;
  if (!any(m.app, [e.app])) return false;
  if (!any(m.namespace, eventNamespaces(e))) return false;
  if (!any(m.cluster, [e.cluster])) return false;
  return true;
}
