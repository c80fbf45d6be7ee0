/** Engine pipeline behaviour that needs no git: error mapping, buttons, duplicates, fromConfig. */
import { describe, expect, it } from "vitest";
import { CommandEngine } from "../../../src/bot/engine.js";
import type { Invocation } from "../../../src/bot/platform.js";
import type { SyncSummary } from "../../../src/bot/registry.js";
import { configSchema } from "../../../src/config/schema.js";
import { TransientError } from "../../../src/core/errors.js";
import { messageToPlainText } from "../../../src/core/message.js";
import type { ReleaseModel } from "../../../src/core/release.js";
import type { OpResult, ReleaseOperations } from "../../../src/gitops/operations.js";
import { RecordingLogger } from "../../helpers/recording-logger.js";

const model: ReleaseModel = {
  revision: "0123456789abcdef0123456789abcdef01234567",
  envs: ["dev", "prod"],
  apps: ["podinfo"],
  instances: ["dev", "prod"].map((env) => ({
    app: "podinfo",
    env,
    workload: {
      kind: "Deployment" as const,
      apiVersion: "apps/v1",
      name: "podinfo",
      namespace: env,
      file: `releases/${env}/podinfo.yaml`,
      docIndex: 0,
      images: [
        { container: "app", repository: "ghcr.io/x/podinfo", tag: "1.0.0", location: { tagPath: [] } },
      ],
      policies: { automated: false, locked: null, prefix: "fluxcd.io" as const },
    },
  })),
  problems: [],
};

/** Release operations that fail the way we tell them to. */
class FailingOps implements ReleaseOperations {
  calls = 0;
  constructor(private readonly err: Error) {}
  async model() {
    return model;
  }
  private async fail(): Promise<OpResult> {
    this.calls++;
    throw this.err;
  }
  release = () => this.fail();
  promote = () => this.fail();
  rollback = () => this.fail();
  lock = () => this.fail();
  unlock = () => this.fail();
  automate = () => this.fail();
  deautomate = () => this.fail();
  policy = () => this.fail();
  freeze = () => this.fail();
  unfreeze = () => this.fail();
  plan = () => this.fail() as never;
  autoRelease = () => this.fail() as never;
  history = async () => [];
}

let n = 0;
const inv = (text: string, o: Partial<Invocation> = {}): Invocation => ({
  id: `i${++n}`,
  platform: "teams",
  text,
  user: { id: "teams:aad-1", name: "dana" },
  channel: "19:chan",
  receivedAt: new Date(),
  ...o,
});

describe("CommandEngine", () => {
  it("an unexpected error becomes 'internal error (ref …)'; the log has the error under that ref", async () => {
    const logger = new RecordingLogger();
    const engine = new CommandEngine({
      ops: new FailingOps(new Error("disk on fire at /secret/path")),
      logger,
    });
    const r = await engine.execute(inv("lock podinfo dev"));
    expect(r.outcome).toBe("internal-error");
    const text = messageToPlainText(r.message);
    expect(text).toMatch(/^internal error \(ref [a-z0-9]{10}\)/);
    expect(text).not.toContain("disk on fire");
    expect(r.message.visibility).toBe("actor");
    const logged = logger.records.find((l) => l.level === "error");
    expect(logged?.obj).toMatchObject({ ref: r.error?.ref });
    expect(String((logged?.obj as { err?: Error } | undefined)?.err?.message)).toContain("disk on fire");
  });
  it("a transient error says so, redacted", async () => {
    const engine = new CommandEngine({
      ops: new FailingOps(new TransientError("push to https://bot:hunter22@git.example.com failed")),
    });
    const r = await engine.execute(inv("lock podinfo dev"));
    expect(r.outcome).toBe("internal-error");
    expect(messageToPlainText(r.message)).toContain("temporary failure");
    expect(messageToPlainText(r.message)).not.toContain("hunter22");
  });
  it("the handler replies once per invocation id", async () => {
    const ops = new FailingOps(new Error("x"));
    const engine = new CommandEngine({ ops });
    const replies: string[] = [];
    const responder = {
      reply: async (m: Parameters<typeof messageToPlainText>[0]) => {
        replies.push(messageToPlainText(m));
        return undefined;
      },
    };
    const i = inv("status");
    await Promise.all([engine.handle(i, responder), engine.handle(i, responder)]);
    await engine.handle(i, responder);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toContain("podinfo");
  });
  it("a cancel button changes nothing", async () => {
    const ops = new FailingOps(new Error("x"));
    const r = await new CommandEngine({ ops }).execute(inv("help", { button: { value: "cancel:abc" } }));
    expect(r.outcome).toBe("ok");
    expect(messageToPlainText(r.message)).toMatch(/Cancelled/);
    expect(ops.calls).toBe(0);
  });
  it("an empty line is help; approvals for unknown ids are user errors", async () => {
    const engine = new CommandEngine({ ops: new FailingOps(new Error("x")) });
    expect(messageToPlainText((await engine.execute(inv(""))).message)).toContain("promote <app>");
    const r = await engine.execute(inv("", { button: { value: "approve:nosuchid" } }));
    expect(r.error?.code).toBe("no-approval");
  });
  it("approve and help stay reachable when reads are restricted", async () => {
    const cfg = configSchema.parse({ repo: { url: "/tmp/x" }, authz: { readForEveryone: false } });
    const engine = CommandEngine.fromConfig(
      {
        ...cfg,
        approvals: { ...cfg.approvals, storePath: "/tmp/gitops-bot-unit-approvals-never-written.json" },
      },
      { ops: new FailingOps(new Error("x")) },
    );
    expect((await engine.execute(inv("status"))).error?.code).toBe("forbidden");
    expect((await engine.execute(inv("help"))).outcome).toBe("ok");
    expect((await engine.execute(inv("approve abcdefgh"))).error?.code).toBe("no-approval");
  });
  it("sync and images use the injected SyncTrigger and ImageCatalog", async () => {
    const triggered: (string | undefined)[] = [];
    const engine = new CommandEngine({
      ops: new FailingOps(new Error("x")),
      sync: {
        trigger: async (opts) => {
          triggered.push(opts?.env);
          return { accepted: true, message: "", revision: "abcdef0123" };
        },
      },
      images: {
        candidates: async () => [
          {
            container: "app",
            repository: "ghcr.io/x/podinfo",
            tags: [
              { tag: "1.0.1", current: false, matches: true, created: "2026-01-02" },
              { tag: "1.0.0", current: true, matches: true },
            ],
          },
        ],
      },
    });
    const s = await engine.execute(inv("sync prod"));
    expect(s.outcome).toBe("ok");
    expect(triggered).toEqual(["prod"]);
    expect(messageToPlainText(s.message)).toContain("abcdef0");
    const i = await engine.execute(inv("images podinfo dev"));
    expect(messageToPlainText(i.message)).toMatch(/1\.0\.0 ← running/);
    expect((await engine.execute(inv("sync qa"))).error?.code).toBe("unknown-env");
  });
  it("status shows what the cluster runs: the synced revision, whether it is behind, errors and drift", async () => {
    let summary: SyncSummary | Error = { result: "never", errors: 0, drift: 0 };
    const engine = new CommandEngine({
      ops: new FailingOps(new Error("x")),
      sync: {
        trigger: async () => ({ accepted: true, message: "" }),
        status: async () => {
          if (summary instanceof Error) throw summary;
          return summary;
        },
      },
    });
    const text = async () => {
      const r = await engine.execute(inv("status"));
      expect(r.outcome).toBe("ok");
      return messageToPlainText(r.message);
    };
    expect(await text()).toContain("cluster: not synced yet");

    summary = {
      result: "partial",
      revision: "fedcba9876543210fedcba9876543210fedcba98",
      time: new Date(Date.now() - 5 * 60_000).toISOString(),
      errors: 2,
      drift: 1,
    };
    const partial = await text();
    expect(partial).toContain("cluster synced at fedcba9 (behind the config repo) 5 min ago");
    expect(partial).toContain("2 object(s) failed to apply");
    expect(partial).toContain("1 object(s) drifted");

    summary = { result: "success", revision: model.revision, errors: 0, drift: 0 };
    const current = await text();
    expect(current).toContain("cluster synced at 0123456");
    expect(current).not.toContain("behind");

    // No cluster access: status still answers, and says why the cluster line is missing.
    summary = new Error("connect ECONNREFUSED 127.0.0.1:6443");
    expect(await text()).toContain("cluster: the sync state could not be read from the cluster");
  });
  it("fromConfig reads the authz and approvals sections", async () => {
    const cfg = configSchema.parse({
      repo: { url: "/tmp/x" },
      authz: { protectedEnvs: ["dev"], rules: [{ envs: ["prod"], verbs: ["write"], users: ["nobody"] }] },
      approvals: { required: 2, ttl: "5m", storePath: "/tmp/gitops-bot-unit-approvals-never-written.json" },
    });
    const engine = CommandEngine.fromConfig(cfg, { ops: new FailingOps(new Error("x")) });
    expect(engine.authorizer.isProtected("dev")).toBe(true);
    expect(engine.authorizer.requiredApprovals).toBe(2);
    const denied = await engine.execute(inv("lock podinfo prod"));
    expect(denied.error?.code).toBe("forbidden");
  });
});
