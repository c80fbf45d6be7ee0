import { describe, expect, it } from "vitest";
import { Authorizer, ambiguousIds } from "../../../src/bot/authz.js";
import { approvalsSchema, authzSchema } from "../../../src/config/schema.js";

const alice = { user: { id: "slack:UALICE", name: "alice", groups: ["SREL"] }, channel: "C1" };
const bob = { user: { id: "slack:UBOB", name: "bob" }, channel: "C1" };
const carol = { user: { id: "teams:aad-carol", name: "carol" }, channel: "19:ops" };

describe("Authorizer", () => {
  it("defaults: reads for all, writes allowed, prod needs approval", () => {
    const a = new Authorizer();
    expect(a.check({ verb: "status" }, false, bob)).toEqual({ kind: "allow" });
    expect(a.check({ verb: "promote", env: "stg" }, true, bob)).toEqual({ kind: "allow" });
    expect(a.check({ verb: "promote", env: "prod" }, true, bob)).toEqual({ kind: "approval", required: 1 });
  });
  it("rules restrict the verbs they cover, by user, group and channel", () => {
    const cfg = authzSchema.parse({
      protectedEnvs: ["prod"],
      rules: [
        { envs: ["prod"], verbs: ["write"], users: ["UBOB"], groups: ["SREL"] },
        { envs: ["stg"], verbs: ["release"], channels: ["19:ops"] },
      ],
    });
    const a = new Authorizer(cfg);
    expect(a.check({ verb: "promote", env: "prod" }, true, alice).kind).toBe("approval");
    expect(a.check({ verb: "promote", env: "prod" }, true, bob).kind).toBe("approval");
    expect(a.check({ verb: "promote", env: "prod" }, true, carol).kind).toBe("deny");
    expect(a.check({ verb: "release", env: "stg" }, true, carol).kind).toBe("allow");
    expect(a.check({ verb: "release", env: "stg" }, true, bob).kind).toBe("deny");
    // Not covered by any rule: defaults.
    expect(a.check({ verb: "lock", env: "stg" }, true, bob).kind).toBe("allow");
    expect(a.check({ verb: "history", env: "prod" }, false, carol).kind).toBe("allow");
  });
  it("readForEveryone: false needs a rule for reads", () => {
    const a = new Authorizer(
      authzSchema.parse({ readForEveryone: false, rules: [{ verbs: ["read"], users: ["UBOB"] }] }),
    );
    expect(a.check({ verb: "status" }, false, bob).kind).toBe("allow");
    expect(a.check({ verb: "status" }, false, alice).kind).toBe("deny");
  });
  it("approvers: not the requester, must hold the verb, and be listed when a list exists", () => {
    const a = new Authorizer(
      authzSchema.parse({ rules: [{ envs: ["prod"], verbs: ["*"], users: ["UALICE", "UBOB"] }] }),
      approvalsSchema.parse({ approvers: { users: ["UBOB"] } }),
    );
    const perm = { verb: "promote", env: "prod" };
    expect(a.canApprove(perm, bob, "slack:UBOB").ok).toBe(false);
    expect(a.canApprove(perm, bob, "slack:UALICE").ok).toBe(true);
    expect(a.canApprove(perm, alice, "slack:UBOB").ok).toBe(false);
    expect(a.canApprove(perm, carol, "slack:UBOB").ok).toBe(false);
  });
  it("self-approval only when configured", () => {
    const a = new Authorizer({}, { allowSelfApproval: true });
    expect(a.canApprove({ verb: "promote", env: "prod" }, bob, "slack:UBOB").ok).toBe(true);
  });
});

describe("ids without a platform prefix", () => {
  const rules = (users: string[]) =>
    authzSchema.parse({ protectedEnvs: [], rules: [{ envs: ["prod"], verbs: ["write"], users }] });
  const teamsBob = { user: { id: "teams:U0BOB", name: "bob" }, channel: "19:ops" };
  const slackBob = { user: { id: "slack:U0BOB", name: "bob" }, channel: "C1" };
  const aad = "8f0c2a52-6b1e-4c3d-9a7f-0123456789ab";

  it("belong to one platform: Slack's U0BOB is not Teams' U0BOB", () => {
    const a = new Authorizer(rules(["U0BOB"]));
    expect(a.check({ verb: "promote", env: "prod" }, true, slackBob).kind).toBe("allow");
    expect(a.check({ verb: "promote", env: "prod" }, true, teamsBob).kind).toBe("deny");
  });
  it("an AAD object id is a Teams id; a prefix says exactly which platform", () => {
    const a = new Authorizer(rules([aad, "teams:U0BOB"]));
    expect(
      a.check({ verb: "lock", env: "prod" }, true, { user: { id: `teams:${aad}`, name: "t" }, channel: "x" })
        .kind,
    ).toBe("allow");
    expect(
      a.check({ verb: "lock", env: "prod" }, true, { user: { id: `slack:${aad}`, name: "s" }, channel: "x" })
        .kind,
    ).toBe("deny");
    expect(a.check({ verb: "lock", env: "prod" }, true, teamsBob).kind).toBe("allow");
    expect(a.check({ verb: "lock", env: "prod" }, true, slackBob).kind).toBe("deny");
  });
  it("check names the ids that look like neither platform's", () => {
    const found = ambiguousIds(rules(["U0BOB", aad, "alice", "cli:ci", "*"]), {
      approvers: { users: ["bob"], groups: [], channels: [] },
    } as never);
    expect(found).toEqual([
      { path: "authz.rules[0].users[2]", id: "alice" },
      { path: "approvals.approvers.users[0]", id: "bob" },
    ]);
  });
});
