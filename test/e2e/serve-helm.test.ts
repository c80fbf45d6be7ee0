/**
 * `gitops-bot serve` with the Helm reconciler: it says at start whether Helm runs and why not
 * (helm binary missing: a clear error, and the rest keeps working), and with helm it turns the
 * config repo's HelmRelease into a release after the sync applied it.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { HelmCli } from "../../src/helm/cli.js";
import { type Service, startService } from "../../src/main.js";
import { e2eEnv } from "../harness/e2e.js";
import { RecordingLogger } from "../helpers/recording-logger.js";
import { CHART, podinfoRelease } from "./helm-service-fixture.js";
import { nsYaml, PASSWORD, type SyncSuite, startSyncSuite } from "./sync-fixture.js";

let suite: SyncSuite;
beforeAll(async () => {
  suite = await startSyncSuite();
});
afterAll(async () => {
  await suite?.stop();
});

async function serveWith(helm: Record<string, unknown>) {
  const id = randomBytes(4).toString("hex");
  const ns = `serve-helm-${id}`;
  const seed = join(suite.scratch, `seed-${id}`);
  const files = {
    ...CHART,
    [`namespaces/${ns}.yaml`]: nsYaml(ns),
    "releases/dev/podinfo.yaml": podinfoRelease(ns, { tag: "3.0.0" }),
  };
  for (const [p, content] of Object.entries(files)) {
    await mkdir(dirname(join(seed, p)), { recursive: true });
    await writeFile(join(seed, p), content);
  }
  await suite.git.createBareRepo(`serve-${id}.git`, { seedFrom: seed });
  const cfg = parseConfig({
    clusterName: "e2e",
    repo: {
      url: suite.git.url(`serve-${id}.git`),
      auth: { username: "e2e", password: PASSWORD },
      workdir: join(suite.scratch, `work-${id}`),
      aliases: ["git@github.com:fluxcd/helm-operator-get-started"],
    },
    http: { host: "127.0.0.1", port: 0 },
    approvals: { storePath: join(suite.scratch, `approvals-${id}.json`) },
    kube: { kubeconfig: e2eEnv().kubeconfigPath, leaderElection: { enabled: false } },
    sync: { name: `serve-${id}`, namespace: `serve-helm-system`, interval: "1h" },
    helm: { interval: "1h", cacheDir: join(suite.scratch, `helm-${id}`), ...helm },
  });
  const logger = new RecordingLogger();
  const service: Service = await startService(cfg, { env: {}, logger });
  suite.cleanups.push(() => service.stop());
  return { service, logger, ns };
}

describe("serve with the Helm reconciler", () => {
  it("without a helm binary: one clear error at start, and serve keeps syncing and answering", async () => {
    const { service, logger } = await serveWith({ binary: join(suite.scratch, "no-such-helm") });
    expect(service.helm).toBeUndefined();
    const line = logger.records.find((r) => r.msg?.startsWith("helm: off"));
    expect(line?.level).toBe("error");
    expect(line?.msg).toContain("install helm (v3 or v4) on PATH or set helm.binary");
    expect((await service.sync?.trigger())?.result?.status).toBe("ready");
    const out = await service.engine.execute({
      id: "s1",
      platform: "slack",
      text: "status",
      user: { id: "U1", name: "alice" },
      channel: "C1",
      receivedAt: new Date(),
    });
    expect(out.outcome).toBe("ok");
  });

  it("with helm: says so at start, and the synced HelmRelease becomes a Helm release", async () => {
    const { service, logger, ns } = await serveWith({ binary: e2eEnv().tools.helm });
    expect(logger.records.find((r) => r.msg?.startsWith("helm: on"))).toBeDefined();
    expect(service.helm).toBeDefined();
    const synced = await service.sync?.trigger();
    expect(synced?.result?.status).toBe("ready");
    await service.helm?.scan(synced?.revision);
    const r = await service.helm?.reconcileNow({ namespace: ns, name: "podinfo" });
    expect(r?.status).toBe("ready");
    const cli = new HelmCli({
      binary: e2eEnv().tools.helm,
      home: join(suite.scratch, `cli-${ns}`),
      kubeconfig: e2eEnv().kubeconfigPath,
    });
    expect((await cli.history({ release: `${ns}-podinfo`, namespace: ns })).map((h) => h.status)).toEqual([
      "deployed",
    ]);
  });
});
