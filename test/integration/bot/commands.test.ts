/** Every command through the engine against a real config repo (GitConfigRepo + ReleaseService). */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { messageToPlainText } from "../../../src/core/message.js";
import { bob, type Setup, setup } from "./setup.js";

let s: Setup;
beforeEach(async () => {
  s = await setup();
});
afterEach(async () => {
  await s.close();
});

const text = (r: { message: Parameters<typeof messageToPlainText>[0] }) => messageToPlainText(r.message);

describe("read commands", () => {
  it("status shows the release matrix as a table", async () => {
    const r = await s.run("status");
    expect(r.outcome).toBe("ok");
    const table = r.message.blocks.find((b) => b.kind === "table");
    expect(table?.kind === "table" && table.columns).toEqual(["app", "dev", "stg", "prod"]);
    expect(text(r)).toContain("dev-kb9lm91e");
    expect(text(r)).toContain("0.4.10");
  });
  it("status of one instance, and `status prod` as an env", async () => {
    const one = await s.run("status podinfo prod");
    expect(text(one)).toContain("HelmRelease prod/podinfo-prod");
    expect(text(one)).toContain("semver:~0.4");
    const env = await s.run("status prod");
    expect(env.outcome).toBe("ok");
    const table = env.message.blocks.find((b) => b.kind === "table");
    expect(table?.kind === "table" && table.columns).toEqual(["app", "prod"]);
  });
  it("help lists every command from the registry, and explains one", async () => {
    const r = await s.run("help");
    for (const c of s.engine.registry.list()) expect(text(r)).toContain(c.usage);
    const one = await s.run("help promote");
    expect(text(one)).toContain("--force");
    expect((await s.run("help nope")).outcome).toBe("user-error");
  });
  it("diff shows what a promotion would change and commits nothing", async () => {
    const before = await s.commitCount();
    const r = await s.run("diff frontend dev stg");
    expect(r.outcome).toBe("ok");
    expect(text(r)).toContain("dev-1b7e0d2");
    expect(text(r)).toContain("dev-3f2a1c9");
    const conflict = await s.run("diff podinfo dev stg");
    expect(text(conflict)).toContain("glob:stg-*");
    expect(await s.commitCount()).toBe(before);
  });
  it("images says it is not available yet without a registry scanner", async () => {
    const r = await s.run("images podinfo dev");
    expect(r.outcome).toBe("ok");
    expect(text(r)).toMatch(/not available yet/);
  });
  it("sync says clearly that no reconciler is configured", async () => {
    const r = await s.run("sync");
    expect(r.outcome).toBe("user-error");
    expect(r.error?.code).toBe("no-sync");
  });
  it("retry says what is wrong: not a HelmRelease, or no Helm reconciler in this process", async () => {
    const plain = await s.run("retry frontend dev");
    expect(plain.outcome).toBe("user-error");
    expect(plain.error?.code).toBe("not-helm");
    expect(text(plain)).toMatch(/frontend in dev is a Deployment, not a HelmRelease/);
    const none = await s.run("retry podinfo dev");
    expect(none.outcome).toBe("user-error");
    expect(none.error?.code).toBe("no-helm");
  });
  it("retry is authorized like a write: dev runs at once, protected prod asks for approval first", async () => {
    const asked: string[] = [];
    const h = await setup({
      deps: {
        // A recorder at the HelmCommands port (the real service is exercised in test/e2e/helm-service.test.ts).
        helm: {
          retry: async (hr) => {
            asked.push(`${hr.namespace}/${hr.name}`);
            return { accepted: true, message: "upgraded (revision 4)", status: "ready" };
          },
        },
      },
    });
    try {
      const dev = await h.run("retry podinfo dev");
      expect(dev.outcome).toBe("ok");
      expect(messageToPlainText(dev.message)).toContain("upgraded (revision 4)");
      expect((await h.run("retry podinfo prod")).outcome).toBe("approval-requested");
      expect(asked).toEqual(["dev/podinfo-dev"]);
    } finally {
      await h.close();
    }
  });
  it("history shows who deployed what, with the promotion", async () => {
    await s.run("promote frontend dev stg");
    const r = await s.run("history frontend stg");
    expect(r.outcome).toBe("ok");
    expect(text(r)).toContain("promote");
    expect(text(r)).toContain("dev-3f2a1c9");
    expect(text(r)).toContain("alice");
  });
});

describe("write commands", () => {
  it("promote copies the tag, commits as the user with trailers, and emits an event", async () => {
    const r = await s.run("promote frontend dev stg");
    expect(r.outcome).toBe("ok");
    expect(r.message.severity).toBe("success");
    const c = await s.lastCommit();
    expect(c.author).toBe("alice <alice@example.com>");
    expect(c.message).toContain("[stg/frontend] promote");
    expect(c.message).toMatch(/Requested-By: slack:UALICE/);
    expect(s.events).toHaveLength(1);
    expect(s.events[0]).toMatchObject({
      kind: "command-commit",
      action: "promote",
      env: "stg",
      app: "frontend",
    });
  });
  it("promote refuses a tag outside an automated target's filter, with a --force button; --force pins", async () => {
    const r = await s.run("promote podinfo dev stg");
    expect(r.outcome).toBe("user-error");
    expect(r.error?.code).toBe("filter-mismatch");
    const actions = r.message.blocks.find((b) => b.kind === "actions");
    expect(actions?.kind === "actions" && actions.actions[0]?.command).toBe(
      "promote podinfo dev stg --force",
    );
    const forced = await s.run("promote podinfo dev stg --force");
    expect(forced.outcome).toBe("ok");
    expect(forced.results[0]?.locked).toBe(true);
    const status = await s.run("status podinfo stg");
    expect(text(status)).toMatch(/locked by/);
  });
  it("--dry-run shows the diff and commits nothing", async () => {
    const before = await s.commitCount();
    const r = await s.run("promote frontend dev stg --dry-run");
    expect(r.outcome).toBe("ok");
    expect(r.message.blocks.some((b) => b.kind === "code" && b.text.includes("dev-3f2a1c9"))).toBe(true);
    expect(await s.commitCount()).toBe(before);
    expect(s.events).toHaveLength(0);
  });
  it("release sets a tag", async () => {
    const r = await s.run("release podinfo dev dev-abc1234");
    expect(r.outcome).toBe("ok");
    expect((await s.run("status podinfo dev")).message.blocks.length).toBeGreaterThan(0);
    expect(text(await s.run("status podinfo dev"))).toContain("dev-abc1234");
  });
  it("rollback asks for confirmation, then rolls back and pins", async () => {
    await s.run("release podinfo dev dev-abc1234");
    const ask = await s.run("rollback podinfo dev");
    expect(ask.outcome).toBe("confirmation-needed");
    const confirm = ask.message.blocks.find((b) => b.kind === "actions");
    const cmd = confirm?.kind === "actions" ? confirm.actions[0]?.command : undefined;
    expect(cmd).toBe("rollback podinfo dev --yes");
    const done = await s.run(cmd as string, { button: "confirm:x" });
    expect(done.outcome).toBe("ok");
    expect(done.results[0]?.action).toBe("rollback");
    expect(done.results[0]?.locked).toBe(true);
    expect(text(await s.run("status podinfo dev"))).toContain("dev-kb9lm91e");
  });
  it("lock with a reason; unlock by the same user needs no confirmation, by another user does", async () => {
    expect((await s.run(`lock podinfo stg "db migration"`)).outcome).toBe("ok");
    expect(text(await s.run("status"))).toContain("db migration");
    const other = await s.run("unlock podinfo stg", { user: bob });
    expect(other.outcome).toBe("confirmation-needed");
    expect(text(other)).toContain("not by you");
    expect((await s.run("unlock podinfo stg")).outcome).toBe("ok");
    expect(text(await s.run("status"))).not.toContain("db migration");
  });
  it("automate, deautomate and policy", async () => {
    expect((await s.run("deautomate podinfo dev")).outcome).toBe("ok");
    expect(text(await s.run("status podinfo dev"))).toMatch(/automated:\s+no/);
    expect((await s.run("automate podinfo dev glob:dev-*")).outcome).toBe("ok");
    expect(text(await s.run("status podinfo dev"))).toMatch(/automated:\s+yes/);
    expect((await s.run("policy podinfo dev chart-image=glob:feature-*")).outcome).toBe("ok");
    expect(text(await s.run("status podinfo dev"))).toContain("glob:feature-*");
    const bad = await s.run("policy podinfo dev nosuch=glob:x");
    expect(bad.error?.code).toBe("unknown-container");
  });
});

describe("errors", () => {
  it("unknown verbs, apps and envs get a did-you-mean and the usage", async () => {
    const v = await s.run("promot podinfo dev stg");
    expect(v.error?.message).toContain("did you mean promote");
    expect(v.error?.hint).toContain("promote <app> <from-env> <to-env>");
    const a = await s.run("promote podnfo dev stg");
    expect(a.error?.message).toContain("did you mean podinfo");
    const e = await s.run("promote podinfo dev stag");
    expect(e.error?.message).toContain("did you mean stg");
    expect(e.message.visibility).toBe("actor");
  });
  it("hostile input never reaches git", async () => {
    const before = await s.commitCount();
    const corpus = [
      "promote podinfo dev stg; rm -rf /",
      "promote podinfo dev $(reboot)",
      "release podinfo dev --upload-pack=touch%20/tmp/pwned",
      "release podinfo dev '--upload-pack=x'",
      "release ../../etc dev x",
      "status ../../../etc/passwd",
      "promote <http://podinfo|podinfo> dev stg",
      "promote podinfo dev st\u200bg",
      "promote podinfo dev pr\u043ed",
      `lock podinfo dev ${"x".repeat(10_240)}`,
      "release podinfo dev `id`",
      "release podinfo dev a\nrelease podinfo prod b",
    ];
    for (const c of corpus) {
      const r = await s.run(c);
      expect(r.outcome, c).toBe("user-error");
    }
    expect(await s.commitCount()).toBe(before);
  });
  it("a lock reason with shell metacharacters is kept as plain text", async () => {
    const r = await s.run(`lock podinfo dev "$(touch /tmp/x); \`id\` | cat"`);
    expect(r.outcome).toBe("ok");
    expect((await s.lastCommit()).message).toContain("$(touch /tmp/x); `id` | cat");
  });
});

describe("idempotency", () => {
  it("the same invocation id twice (even concurrently) makes one commit", async () => {
    const before = await s.commitCount();
    const [a, b] = await Promise.all([
      s.run("promote frontend dev stg", { id: "slack-retry-1" }),
      s.run("promote frontend dev stg", { id: "slack-retry-1" }),
    ]);
    const c = await s.run("promote frontend dev stg", { id: "slack-retry-1" });
    expect([a.outcome, b.outcome].sort()).toEqual(["duplicate", "ok"]);
    expect(c.outcome).toBe("duplicate");
    expect(await s.commitCount()).toBe(before + 1);
  });
});
