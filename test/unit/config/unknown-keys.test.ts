/** Unknown configuration keys are errors everywhere in the schema, each with a "did you mean". */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../src/config/load.js";

function problems(raw: unknown, opts: Parameters<typeof parseConfig>[3] = {}) {
  try {
    parseConfig(raw, {}, "test.yaml", opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  return [];
}

describe("unknown configuration keys", () => {
  it("rejects a misspelt key with its path and a suggestion", () => {
    const p = problems({ repo: { url: "/tmp/r", branhc: "main" } });
    expect(p).toEqual([{ path: "repo.branhc", message: 'unknown key; did you mean "branch"?' }]);
    const err = (() => {
      try {
        parseConfig({ repo: { url: "/tmp/r", branhc: "main" } }, {}, "test.yaml");
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(err?.message).toContain('repo.branhc: unknown key; did you mean "branch"?');
  });

  it("checks every level: top, nested, list items, union variants and the notifications section", () => {
    const p = problems({
      clustername: "x",
      repo: { url: "/tmp/r", auth: { tokne: "t" }, author: { name: "a", email: "a@b.c", mail: "x" } },
      authz: { rules: [{ envs: ["prod"], user: ["U1"] }] },
      sync: { paths: ["releases/", { path: "namespaces/", prunee: false }] },
      kube: { leaderElection: { leaseNmae: "l" } },
      notifications: {
        destinations: [{ name: "d", type: "slack", channel: "C1", chanel: "C2" }],
        routes: [{ match: { evn: ["prod"] }, to: ["d"] }],
        frmat: "rich",
      },
      whatever: 1,
    });
    expect(Object.fromEntries(p.map((x) => [x.path, x.message]))).toEqual({
      clustername: 'unknown key; did you mean "clusterName"?',
      "repo.auth.tokne": 'unknown key; did you mean "token"?',
      "repo.author.mail": 'unknown key; did you mean "email"?',
      "authz.rules[0].user": 'unknown key; did you mean "users"?',
      "sync.paths[1].prunee": 'unknown key; did you mean "prune"?',
      "kube.leaderElection.leaseNmae": 'unknown key; did you mean "leaseName"?',
      "notifications.destinations[0].chanel": 'unknown key; did you mean "channel"?',
      "notifications.routes[0].match.evn": 'unknown key; did you mean "env"?',
      "notifications.frmat": 'unknown key; did you mean "format"?',
      whatever: "unknown key",
    });
  });

  it("accepts a valid configuration unchanged", () => {
    expect(problems({ repo: { url: "/tmp/r", branch: "main" }, sync: { paths: ["releases/"] } })).toEqual([]);
  });

  it("with sections, ignores problems elsewhere but still rejects unknown keys everywhere", () => {
    const sections = ["clusterName", "repo", "authz", "approvals"] as const;
    const raw = {
      repo: { url: "/tmp/r" },
      slack: { botToken: "${UNSET_SLACK_TOKEN}" },
      authz: { protectedEnvs: ["live"] },
    };
    const cfg = parseConfig(raw, {}, "test.yaml", { sections });
    expect(cfg.authz.protectedEnvs).toEqual(["live"]);
    expect(cfg.slack).toBeUndefined();
    expect(problems({ ...raw, slack: { botTokne: "x" } }, { sections })).toEqual([
      { path: "slack.botTokne", message: 'unknown key; did you mean "botToken"?' },
    ]);
  });
});
