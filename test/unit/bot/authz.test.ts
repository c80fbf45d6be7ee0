import { describe, expect, it } from "vitest";
import { Authorizer } from "../../../src/bot/authz.js";
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
