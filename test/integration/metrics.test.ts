/**
 * `/metrics` as operators scrape it: the whole service (`startService`) with image automation
 * against the real docker-registry (behind a proxy that answers one 429) and a config repo on disk, Slack over real HTTP with a signed
 * slash command, notifications to a local fake Slack API. Asserts the series alerts are written
 * on exist with the right labels and values, and that the "command done" and commit log lines
 * carry the invocation id.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import type { Logger } from "../../src/core/ports.js";
import { type Service, startService } from "../../src/main.js";
import { pushImage, type RegistryServer, startRegistry } from "../harness/registry.js";
import { FakeSlackApi, postSignedSlack } from "../helpers/fake-slack-api.js";
import { type RegistryProxy, startRegistryProxy } from "../helpers/registry-proxy.js";

const run = promisify(execFile);
const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const BOT_TOKEN = "xoxb-0000000000-metrics-test-token";

/** Keeps every entry with its child bindings (the invocation id is a binding of the engine's logger). */
class BindingLogger implements Logger {
  constructor(
    readonly records: Record<string, unknown>[] = [],
    private readonly bindings: object = {},
  ) {}
  private log(level: string, obj: object, msg?: string) {
    this.records.push({ level, ...this.bindings, ...obj, msg });
  }
  debug(obj: object, msg?: string) {
    this.log("debug", obj, msg);
  }
  info(obj: object, msg?: string) {
    this.log("info", obj, msg);
  }
  warn(obj: object, msg?: string) {
    this.log("warn", obj, msg);
  }
  error(obj: object, msg?: string) {
    this.log("error", obj, msg);
  }
  child(b: object): Logger {
    return new BindingLogger(this.records, { ...this.bindings, ...b });
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The value of the sample `series` (name plus labels exactly as rendered), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("/metrics after a command and an image automation run", () => {
  let dir: string;
  let repoPath: string;
  let reg: RegistryServer;
  let proxy: RegistryProxy;
  let slack: FakeSlackApi;
  let service: Service;
  const logger = new BindingLogger();
  const scrape = async () => (await fetch(`${service.url}/metrics`)).text();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "metrics-it-"));
    [reg, slack] = await Promise.all([startRegistry(), new FakeSlackApi().start()]);
    await pushImage(reg, "it/web", "dev-1", { created: new Date(Date.UTC(2026, 0, 1)) });
    // The registry answers the first tag listing 429 (Retry-After: 1 s); the scan waits it out.
    proxy = await startRegistryProxy({ target: reg.url });
    let listings = 0;
    proxy.fault = (kind) =>
      kind === "tags" && listings++ === 0 ? { status: 429, headers: { "retry-after": "1" } } : undefined;
    repoPath = join(dir, "config");
    for (const env of ["dev", "stg"]) {
      await mkdir(join(repoPath, "releases", env), { recursive: true });
      await writeFile(
        join(repoPath, "releases", env, "web.yaml"),
        [
          "apiVersion: apps/v1",
          "kind: Deployment",
          "metadata:",
          "  name: web",
          `  namespace: ${env}`,
          ...(env === "dev" ? ["  annotations:", '    fluxcd.io/automated: "true"'] : []),
          "spec:",
          "  template:",
          "    spec:",
          "      containers:",
          "        - name: app",
          `          image: ${proxy.host}/it/web:dev-1`,
          "",
        ].join("\n"),
      );
    }
    const git = (...args: string[]) => run("git", ["-C", repoPath, ...args]);
    await git("init", "-q", "-b", "main");
    await git("add", "-A");
    await git("-c", "user.name=seed", "-c", "user.email=seed@example.com", "commit", "-qm", "seed");
    const cfg = parseConfig(
      {
        clusterName: "metrics-it",
        repo: { url: repoPath, workdir: join(dir, "work") },
        http: { host: "127.0.0.1", port: 0 },
        slack: {
          signingSecret: "${SIGNING}",
          botToken: "${BOT_TOKEN}",
          apiUrl: slack.apiUrl,
          botId: "BBOT",
          botUserId: "UBOT",
        },
        approvals: { storePath: join(dir, "approvals.json") },
        sync: { enabled: false },
        images: { enabled: true },
        notifications: {
          destinations: [{ name: "deploys", type: "slack", channel: "CDEPLOYS", apiUrl: `${slack.url}/api` }],
          routes: [{ to: ["deploys"] }],
        },
      },
      { SIGNING: SIGNING_SECRET, BOT_TOKEN },
    );
    service = await startService(cfg, { env: {}, logger });
  });

  afterAll(async () => {
    await service?.stop();
    await Promise.all([slack?.stop(), proxy?.close()]);
    await reg?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("exports image automation's reconcile series, the registry's requests and the leader gauge", async () => {
    // The cycle at start: one run, ready, over the registry.
    const text = await waitFor("the first image cycle", async () => {
      const t = await scrape();
      return sample(t, 'gitops_reconcile_total{reconciler="image",result="ready"}') ? t : undefined;
    });
    expect(sample(text, 'gitops_reconcile_total{reconciler="image",result="ready"}')).toBeGreaterThanOrEqual(
      1,
    );
    expect(sample(text, 'gitops_reconcile_total{reconciler="image",result="failed"}')).toBeUndefined();
    expect(
      sample(text, 'gitops_reconcile_duration_seconds_count{reconciler="image"}'),
    ).toBeGreaterThanOrEqual(1);
    const last = sample(text, 'gitops_reconcile_last_success_timestamp_seconds{reconciler="image"}');
    expect(last).toBeGreaterThan(Date.now() / 1000 - 300);
    expect(text).toMatch(/^gitops_reconcile_items\{reconciler="image",status="ready",reason="\w+"\} 1$/m);
    expect(sample(text, 'gitops_registry_requests_total{kind="tag_page"}')).toBeGreaterThanOrEqual(2);
    // The 429 is counted, and so is the time the client waited for its Retry-After.
    expect(sample(text, "gitops_registry_throttled_total")).toBe(1);
    expect(sample(text, "gitops_registry_wait_seconds_total")).toBeGreaterThan(0);
    // No leader election without a cluster: this replica runs the reconcilers.
    expect(sample(text, "gitops_leader")).toBe(1);
    expect(sample(text, "gitops_git_push_retries_total")).toBe(0);
  });

  it("counts a Slack command by verb, result and platform, and logs it done with its invocation id", async () => {
    const res = await postSignedSlack(
      `${service.url}/slack/events`,
      {
        form: {
          command: "/gitops",
          text: "lock web stg",
          user_id: "UALICE",
          user_name: "alice",
          channel_id: "CRELEASE",
          team_id: "T1",
          trigger_id: "trig-metrics-1",
          response_url: slack.responseUrl("m1"),
        },
      },
      { signingSecret: SIGNING_SECRET },
    );
    expect(res.status).toBe(200);
    const text = await waitFor("the command's series", async () => {
      const t = await scrape();
      return sample(t, 'gitops_commands_total{verb="lock",result="ok",platform="slack"}') ? t : undefined;
    });
    expect(sample(text, 'gitops_commands_total{verb="lock",result="ok",platform="slack"}')).toBe(1);
    expect(sample(text, 'gitops_command_duration_seconds_count{verb="lock",platform="slack"}')).toBe(1);

    const done = logger.records.find((r) => r["msg"] === "command done");
    expect(done).toMatchObject({
      level: "info",
      invocation: "slack:cmd:trig-metrics-1",
      verb: "lock",
      outcome: "ok",
      commits: 1,
    });
    expect(typeof done?.["ms"]).toBe("number");
    const committed = logger.records.find((r) => r["msg"] === "committed and pushed");
    expect(committed).toMatchObject({ invocation: "slack:cmd:trig-metrics-1" });

    // The lock's notification reached Slack: one delivery counted for the destination's provider.
    // The series may already be exported at 0 (the destination's first attempt is still queued).
    const delivered = await waitFor("the delivery", async () => {
      const n = sample(
        await scrape(),
        'gitops_notification_deliveries_total{destination="deploys",provider="slack",result="delivered"}',
      );
      return n !== undefined && n >= 1 ? n : undefined;
    });
    expect(delivered).toBeGreaterThanOrEqual(1);
  });
});
