import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StalledError, UserError } from "../../../src/core/errors.js";
import { discover, discoverFromRepo } from "../../../src/gitops/discovery.js";
import {
  addFreeze,
  FREEZES_FILE,
  type FreezeRecord,
  frozenEnvs,
  frozenInModel,
  parseFreezes,
  removeFreeze,
  serializeFreezes,
} from "../../../src/gitops/freezes.js";
import { loadDir } from "../../helpers/example-repo.js";
import { InMemoryConfigRepo } from "../../helpers/in-memory-config-repo.js";

const prod: FreezeRecord = {
  env: "prod",
  reason: "release weekend",
  by: "alice <alice@example.com>",
  at: "2026-12-07T01:00:00.000Z",
};

describe("freezes file", () => {
  it("round-trips what the commands write", () => {
    const text = serializeFreezes([prod, { env: "stg", by: "bob" }]);
    expect(text).toContain("# Environments where automation is frozen");
    expect(text).toContain('at: "2026-12-07T01:00:00.000Z"');
    expect(parseFreezes(text)).toEqual({ freezes: [prod, { env: "stg", by: "bob" }], problems: [] });
  });

  it("round-trips any record (property)", () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
    const text = fc.string({ maxLength: 40 }).map((s) => s.replace(/\s+/g, " ").trim());
    fc.assert(
      fc.property(fc.uniqueArray(name, { maxLength: 4 }), text, text, (envs, reason, by) => {
        const recs = envs.map((env) => ({
          env,
          ...(reason ? { reason } : {}),
          ...(by ? { by } : {}),
          at: "2026-12-07T01:00:00.000Z",
        }));
        expect(parseFreezes(serializeFreezes(recs))).toEqual({ freezes: recs, problems: [] });
      }),
    );
  });

  it("adds and removes entries keeping comments and the other entries", () => {
    const mine = "# ours\nfreezes:\n  - env: dev # until friday\n    by: carol\n";
    const added = addFreeze(mine, prod);
    expect(added).toContain("# ours");
    expect(added).toContain("- env: dev # until friday");
    expect(parseFreezes(added).freezes.map((f) => f.env)).toEqual(["dev", "prod"]);
    const removed = removeFreeze(added, "prod");
    expect(removed).toBe(mine);
    expect(parseFreezes(removeFreeze(removed, "dev")).freezes).toEqual([]);
    // Removing what is not there changes nothing.
    expect(removeFreeze(mine, "stg")).toBe(mine);
  });

  it("an absent or empty file freezes nothing", () => {
    expect(parseFreezes(undefined)).toEqual({ freezes: [], problems: [] });
    expect(parseFreezes("# nothing\n")).toEqual({ freezes: [], problems: [] });
    expect(parseFreezes("freezes:\n")).toEqual({ freezes: [], problems: [] });
  });

  it("a mistake in one entry keeps that env frozen and says what to fix", () => {
    const f = parseFreezes(
      "freezes:\n  - env: prod\n    at: yesterday\n    whom: x\n  - env: stg\n    by: 3\n",
    );
    expect(f.freezes.map((x) => x.env)).toEqual(["prod", "stg"]);
    expect(f.problems.map((p) => [p.env, p.message])).toEqual([
      ["prod", 'freezes[0] (prod): unknown key "whom"'],
      ["prod", 'freezes[0] (prod): "at" is not a time'],
      ["stg", 'freezes[1] (stg): "by" must be text'],
    ]);
    expect(f.problems.every((p) => p.file === FREEZES_FILE && p.hint.length > 0)).toBe(true);
  });

  it("an unreadable file is one problem naming the file, and edits refuse it", () => {
    for (const bad of ["freezes: [\n", "- env: prod\n", "freezes: prod\n"]) {
      const f = parseFreezes(bad);
      expect(f.freezes, bad).toEqual([]);
      expect(f.problems, bad).toHaveLength(1);
      expect(f.problems[0]?.env, bad).toBeUndefined();
      let err: unknown;
      try {
        addFreeze(bad, prod);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(UserError);
      expect((err as UserError).message, bad).toContain(`${FREEZES_FILE} cannot be read`);
      expect((err as UserError).hint, bad).toContain(`Fix ${FREEZES_FILE}`);
    }
  });

  it("a broken entry of another env does not block freezing or unfreezing", () => {
    const text = "freezes:\n  - env: dev\n    at: soon\n";
    const added = addFreeze(text, prod);
    expect(parseFreezes(added).freezes.map((f) => f.env)).toEqual(["dev", "prod"]);
    expect(removeFreeze(added, "prod")).toBe(text);
  });

  it("never throws, whatever the text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const f = parseFreezes(s);
        expect(Array.isArray(f.freezes) && Array.isArray(f.problems)).toBe(true);
      }),
    );
  });
});

describe("frozenEnvs", () => {
  it("maps each frozen env to who, why and since, at a revision", async () => {
    const repo = new InMemoryConfigRepo({ [FREEZES_FILE]: serializeFreezes([prod]) });
    const first = await repo.head();
    await repo.commit({
      subject: "unfreeze",
      author: { name: "a", email: "a@x" },
      trailers: [],
      edits: [async (f) => f.write(FREEZES_FILE, serializeFreezes([]))],
    });
    expect([...(await frozenEnvs(repo)).keys()]).toEqual([]);
    expect((await frozenEnvs(repo, first)).get("prod")).toEqual(prod);
  });

  it("refuses to guess when the file cannot be read (automation stalls, naming the file)", async () => {
    const repo = new InMemoryConfigRepo({ [FREEZES_FILE]: "freezes: [\n" });
    await expect(frozenEnvs(repo)).rejects.toThrow(StalledError);
    await expect(frozenEnvs(repo)).rejects.toThrow(/\.gitops-bot\/freezes\.yaml cannot be read/);
    const model = await discoverFromRepo(repo);
    expect(() => frozenInModel(model)).toThrow(/which envs are frozen: Fix the YAML syntax/);
  });

  it("the release model carries the freezes of its own revision", async () => {
    const repo = new InMemoryConfigRepo({ ...loadDir(), [FREEZES_FILE]: serializeFreezes([prod]) });
    const model = await discoverFromRepo(repo);
    expect(model.freezes).toEqual([prod]);
    expect(model.freezeProblems).toEqual([]);
    expect(model.problems).toEqual([]);
    expect([...frozenInModel(model).keys()]).toEqual(["prod"]);
  });
});

describe("discovery and the bot's folder", () => {
  it("never reads .gitops-bot/ as a workload, even when releases are at the repo root", async () => {
    const files: Record<string, string> = {
      "dev/app.yaml":
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: dev\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.0\n",
      [FREEZES_FILE]: serializeFreezes([prod]),
    };
    const reader = {
      read: async (p: string) => files[p],
      list: async () => Object.keys(files),
    };
    const m = await discover(reader, "r", { releasesPath: "." });
    expect(m.envs).toEqual(["dev"]);
    expect(m.problems).toEqual([]);
  });
});
