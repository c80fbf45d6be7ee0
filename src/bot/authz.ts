/**
 * Authorization of commands from the `authz` and `approvals` config sections.
 *
 * Rules: a rule grants `verbs` in `envs` to users, groups and channels. When at least one rule
 * covers a verb in an env, only the principals those rules list may run it there. Verbs no rule
 * covers follow the defaults: read-only verbs for everybody (`readForEveryone`), writes allowed,
 * and writes to protected envs (default `prod`) need approval by other people.
 */
import type { ApprovalsConfig, AuthzConfig } from "../config/schema.js";
import type { ChatUser } from "./platform.js";
import type { Permission } from "./registry.js";

/** The outcome of an authorization check. */
export type AuthzDecision =
  | { kind: "allow" }
  | { kind: "deny"; reason: string; hint?: string }
  | { kind: "approval"; required: number };

/** Who asks, and where. */
export interface Principal {
  user: ChatUser;
  channel: string;
}

interface Rule {
  envs: string[];
  verbs: string[];
  users: string[];
  groups: string[];
  channels: string[];
}

const DEFAULT_AUTHZ: AuthzConfig = { protectedEnvs: ["prod"], readForEveryone: true, rules: [] };
const DEFAULT_APPROVALS: Pick<ApprovalsConfig, "required" | "allowSelfApproval" | "approvers"> = {
  required: 1,
  allowSelfApproval: false,
  approvers: { users: [], groups: [], channels: [] },
};

const PLATFORM_PREFIXES = ["slack", "teams", "cli", "shell"] as const;
const TEAMS_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|29:.+)$/i;
const SLACK_ID = /^[UWBS][A-Z0-9]{2,}$/;

/**
 * The platform an id from config without a prefix belongs to: Teams when it has the shape of a
 * Teams id (an AAD object id, or a `29:` Bot Framework id), Slack otherwise. An unprefixed id
 * never matches on two platforms: Teams user `U0BOB` is not Slack's `U0BOB`.
 */
export function platformOfUnprefixed(id: string): "slack" | "teams" {
  return TEAMS_ID.test(id) ? "teams" : "slack";
}

function prefixOf(id: string): string | undefined {
  const colon = id.indexOf(":");
  const p = colon > 0 ? id.slice(0, colon) : undefined;
  return p && (PLATFORM_PREFIXES as readonly string[]).includes(p) ? p : undefined;
}

/**
 * Matches an id from config against a platform-qualified id: `U123` and `slack:U123` both match
 * `slack:U123`; `U123` does not match `teams:U123` (see `platformOfUnprefixed`).
 */
function idMatches(configured: string, actual: string): boolean {
  if (configured === actual) return true;
  if (prefixOf(configured)) return false;
  const platform = prefixOf(actual);
  if (!platform) return false;
  return actual.slice(platform.length + 1) === configured && platform === platformOfUnprefixed(configured);
}

/**
 * Ids in `authz` and `approvals` that have no platform prefix and do not look like an id of the
 * platform they are taken for (a Slack `U…`/`W…` id or a Teams AAD object id): probably a name,
 * or an id of the other platform. `check` warns about each.
 */
export function ambiguousIds(
  authz: Pick<AuthzConfig, "rules"> | undefined,
  approvals: Pick<ApprovalsConfig, "approvers"> | undefined,
): { path: string; id: string }[] {
  const out: { path: string; id: string }[] = [];
  const scan = (path: string, ids: string[]) => {
    ids.forEach((id, i) => {
      if (id === "*" || prefixOf(id) || TEAMS_ID.test(id) || SLACK_ID.test(id)) return;
      out.push({ path: `${path}[${i}]`, id });
    });
  };
  for (const [i, r] of (authz?.rules ?? []).entries()) scan(`authz.rules[${i}].users`, r.users);
  if (approvals?.approvers) scan("approvals.approvers.users", approvals.approvers.users);
  return out;
}

function principalMatches(p: Pick<Rule, "users" | "groups" | "channels">, who: Principal): boolean {
  if (p.users.some((u) => u === "*" || idMatches(u, who.user.id))) return true;
  const groups = who.user.groups ?? [];
  if (p.groups.some((g) => groups.some((ug) => idMatches(g, ug) || idMatches(ug, g)))) return true;
  return p.channels.some((c) => idMatches(c, who.channel));
}

/** Decides who may run what where. Pure: construct once from config. */
export class Authorizer {
  private readonly authz: AuthzConfig;
  private readonly approvals: typeof DEFAULT_APPROVALS;

  constructor(authz?: Partial<AuthzConfig>, approvals?: Partial<ApprovalsConfig>) {
    this.authz = { ...DEFAULT_AUTHZ, ...authz };
    this.approvals = { ...DEFAULT_APPROVALS, ...approvals };
  }

  /** True when changes to `env` need approval. */
  isProtected(env: string | undefined): boolean {
    return (
      env !== undefined && (this.authz.protectedEnvs.includes(env) || this.authz.protectedEnvs.includes("*"))
    );
  }

  /** Approvals needed for a protected env. */
  get requiredApprovals(): number {
    return this.approvals.required;
  }

  /** True when the requester may approve their own request (demo only). */
  get allowSelfApproval(): boolean {
    return this.approvals.allowSelfApproval;
  }

  private rulesFor(perm: Permission, write: boolean): Rule[] {
    return this.authz.rules.filter(
      (r) =>
        (r.envs.includes("*") || (perm.env !== undefined && r.envs.includes(perm.env))) &&
        (r.verbs.includes("*") || r.verbs.includes(perm.verb) || r.verbs.includes(write ? "write" : "read")),
    );
  }

  /** Whether `who` may run `perm` at all (ignoring approvals). */
  private permitted(perm: Permission, write: boolean, who: Principal): boolean {
    const rules = this.rulesFor(perm, write);
    if (rules.length === 0) return write || this.authz.readForEveryone;
    return rules.some((r) => principalMatches(r, who));
  }

  /** Checks one invocation: allowed, denied (with the reason), or allowed after approval. */
  check(perm: Permission, write: boolean, who: Principal): AuthzDecision {
    const where = perm.env ? ` in ${perm.env}` : "";
    if (!this.permitted(perm, write, who)) {
      return {
        kind: "deny",
        reason: `you are not allowed to run ${perm.verb}${where}`,
        hint: "Ask someone who may, or an admin to grant it in the `authz.rules` configuration.",
      };
    }
    if (write && this.isProtected(perm.env)) return { kind: "approval", required: this.approvals.required };
    return { kind: "allow" };
  }

  /** Whether `who` may approve a request for `perm` made by `requesterId`; a reason when not. */
  canApprove(
    perm: Permission,
    who: Principal,
    requesterId: string,
  ): { ok: true } | { ok: false; reason: string } {
    if (who.user.id === requesterId && !this.approvals.allowSelfApproval) {
      return { ok: false, reason: "you cannot approve your own request: someone else has to" };
    }
    if (!this.permitted(perm, true, who)) {
      return { ok: false, reason: `you may not approve ${perm.verb}${perm.env ? ` in ${perm.env}` : ""}` };
    }
    const a = this.approvals.approvers;
    if (a.users.length + a.groups.length + a.channels.length > 0 && !principalMatches(a, who)) {
      return { ok: false, reason: "you are not on the list of approvers" };
    }
    return { ok: true };
  }
}
