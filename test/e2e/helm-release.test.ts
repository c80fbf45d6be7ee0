/**
 * One Helm release driven through our modules (spec -> values -> git chart -> decide -> helm CLI)
 * against the real helm and the real API server: install, upgrade on a values change, upgrade on
 * a template edit without a version bump, no-op (no new revision, no helm write), failed upgrade
 * -> rollback -> no retry loop, an API rejection, pending-upgrade recovery after killing helm,
 * a release we did not make, and uninstall on removal.
 *
 * No controller-manager: the chart's objects are ConfigMaps and Services (ready at once), and
 * `wait` is off except where a hang is the point.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitTree, gitChart } from "../../src/helm/chart-source.js";
import { execRunner, HelmCli, type Runner } from "../../src/helm/cli.js";
import { type ReleaseResult, reconcileRelease, reconcileRemoved } from "../../src/helm/release.js";
import { parseHelmRelease } from "../../src/helm/spec.js";
import { HelmStorage } from "../../src/helm/storage.js";
import { composeValues, type ValuesSourceReader } from "../../src/helm/values.js";
import { e2eEnv, e2eKubeClient, newNamespace } from "../harness/e2e.js";

/** Revisions of the config repo as file maps (the chart is read "from our own clone"). */
class InMemoryGitTree implements GitTree {
  readonly revs = new Map<string, Record<string, string>>();
  async list(dir: string, at = "") {
    return Object.keys(this.revs.get(at) ?? {}).filter((p) => p.startsWith(`${dir}/`));
  }
  async read(path: string, at = "") {
    return this.revs.get(at)?.[path];
  }
}

const noSources: ValuesSourceReader = {
  configMap: async () => undefined,
  secret: async () => undefined,
  chartFile: async () => undefined,
  external: async () => undefined,
};

const CHART = {
  "charts/demo/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
  "charts/demo/values.yaml": "message: hello\nport: 80\n",
  "charts/demo/templates/cm.yaml":
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cfg\ndata:\n  message: {{ .Values.message | quote }}\n",
  "charts/demo/templates/svc.yaml":
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  ports:\n    - port: {{ .Values.port }}\n{{- if .Values.hpa }}\n---\napiVersion: autoscaling/v2beta1\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  maxReplicas: 2\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: x}\n{{- end }}\n{{- if .Values.deployment }}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n    spec:\n      containers: [{name: x, image: example.invalid/x:1}]\n{{- end }}\n",
};

describe("Helm release reconcile (real helm, real API server)", () => {
  let home: string;
  let helm: HelmCli;
  let storage: HelmStorage;
  const calls: string[] = [];
  const tree = new InMemoryGitTree();

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "helm-e2e-"));
    const recording: Runner = (file, args, opts) => {
      calls.push(args[0] as string);
      return execRunner(file, args, opts);
    };
    helm = new HelmCli({
      binary: e2eEnv().tools.helm,
      home,
      kubeconfig: e2eEnv().kubeconfigPath,
      runner: recording,
    });
    storage = new HelmStorage(e2eKubeClient());
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  const hr = (ns: string, extra: Record<string, unknown> = {}) =>
    parseHelmRelease(
      {
        apiVersion: "helm.fluxcd.io/v1",
        kind: "HelmRelease",
        metadata: { name: "demo", namespace: ns },
        spec: { chart: { git: "git@github.com:example/config", path: "charts/demo", ref: "main" }, ...extra },
      },
      `releases/${ns}/demo.yaml`,
    );

  let revN = 0;
  /** Commits `files` as a new revision; returns its id. */
  const commit = (files: Record<string, string>) => {
    const id = `rev${++revN}`.padEnd(40, "0");
    tree.revs.set(id, files);
    return id;
  };

  async function reconcile(
    spec: ReturnType<typeof hr>,
    revision: string,
    extra: { failedAttempt?: string } = {},
  ): Promise<ReleaseResult> {
    const chart = await gitChart(tree, revision, "charts/demo", join(home, "charts"), spec.file);
    const { values } = await composeValues(spec, noSources);
    return reconcileRelease({ spec, chart, values }, { helm, storage, ...extra });
  }
  const history = async (ns: string, name: string) =>
    (await helm.history({ release: name, namespace: ns })).map((h) => [h.revision, h.status]);
  const writes = () => calls.filter((c) => c !== "status" && c !== "history").length;

  it("installs, upgrades on values and on a template edit without a version bump, is a no-op when nothing changed, uninstalls on removal", async () => {
    const ns = await newNamespace("helm-rel");
    const rel = `${ns}-demo`;
    const r1 = commit(CHART);
    let res = await reconcile(hr(ns, { values: { message: "one" } }), r1);
    expect(res).toMatchObject({
      outcome: "ready",
      revision: 1,
      actions: [{ action: { type: "install" }, ok: true }],
    });

    const before = writes();
    res = await reconcile(hr(ns, { values: { message: "one" } }), r1);
    expect(res).toMatchObject({ outcome: "ready", revision: 1, actions: [] });
    expect(writes()).toBe(before); // no helm process at all for a no-op

    res = await reconcile(hr(ns, { values: { message: "two" } }), r1);
    expect(res).toMatchObject({
      outcome: "ready",
      revision: 2,
      actions: [{ action: { type: "upgrade", reason: "values changed" } }],
    });

    const r2 = commit({
      ...CHART,
      "charts/demo/templates/cm.yaml": `${CHART["charts/demo/templates/cm.yaml"]}  edited: "yes"\n`,
    });
    res = await reconcile(hr(ns, { values: { message: "two" } }), r2);
    expect(res).toMatchObject({
      outcome: "ready",
      revision: 3,
      actions: [{ action: { type: "upgrade", reason: "chart changed" } }],
    });
    const status = await helm.status({ release: rel, namespace: ns });
    expect(status?.info.status).toBe("deployed");

    // A commit that does not touch the chart: same digest, no new revision.
    const r3 = commit({ ...tree.revs.get(r2), "releases/other.yaml": "x: 1\n" });
    res = await reconcile(hr(ns, { values: { message: "two" } }), r3);
    expect(res).toMatchObject({ actions: [], revision: 3 });

    res = await reconcileRemoved(hr(ns), { helm, storage });
    expect(res).toMatchObject({ outcome: "ready", actions: [{ action: { type: "uninstall" }, ok: true }] });
    expect(await history(ns, rel)).toEqual([]);
  });

  it("failed upgrade with rollback enabled: rolls back once, then waits for a change (no retry loop)", async () => {
    const ns = await newNamespace("helm-rb");
    const rel = `${ns}-demo`;
    const r = commit(CHART);
    const spec = (values: Record<string, unknown>) =>
      hr(ns, { values, wait: false, rollback: { enable: true } });
    expect((await reconcile(spec({ port: 80 }), r)).outcome).toBe("ready");

    // The API server rejects port 99999: Helm stores a failed revision 2, we roll back to 1.
    let res = await reconcile(spec({ port: 99999 }), r);
    expect(res.actions.map((a) => [a.action.type, a.ok])).toEqual([
      ["upgrade", false],
      ["rollback", true],
    ]);
    expect(res.outcome).toBe("stalled");
    expect(res.actions[0]?.error?.kind).toBe("rejected");
    expect(await history(ns, rel)).toEqual([
      [1, "superseded"],
      [2, "failed"],
      [3, "deployed"],
    ]);

    // The same chart+values again: nothing (no new revision).
    res = await reconcile(spec({ port: 99999 }), r);
    expect(res).toMatchObject({ outcome: "stalled", actions: [], revision: 3 });

    // A change in git: upgrade again.
    res = await reconcile(spec({ port: 8080 }), r);
    expect(res).toMatchObject({ outcome: "ready", revision: 4 });
  });

  it("without rollback a failed upgrade stays failed until git changes; an API rejection is not retried either", async () => {
    const ns = await newNamespace("helm-fail");
    const r = commit(CHART);
    expect((await reconcile(hr(ns, { values: { port: 80 } }), r)).outcome).toBe("ready");
    let res = await reconcile(hr(ns, { values: { port: 99999 } }), r);
    expect(res).toMatchObject({ outcome: "failed", revision: 2 });
    expect(res.message).toContain("is invalid");
    res = await reconcile(hr(ns, { values: { port: 99999 } }), r);
    expect(res).toMatchObject({ outcome: "failed", actions: [] });

    // autoscaling/v2beta1 is not served: helm refuses before storing a revision.
    res = await reconcile(hr(ns, { values: { port: 81, hpa: true } }), r);
    expect(res).toMatchObject({ outcome: "failed", revision: 2 });
    expect(res.message).toContain("autoscaling/v2beta1");
    expect(res.failedAttempt).toBeDefined();
    const again = await reconcile(hr(ns, { values: { port: 81, hpa: true } }), r, {
      failedAttempt: res.failedAttempt as string,
    });
    expect(again).toMatchObject({ outcome: "failed", actions: [] });

    res = await reconcile(hr(ns, { values: { port: 81 } }), r, {
      failedAttempt: res.failedAttempt as string,
    });
    expect(res).toMatchObject({ outcome: "ready", revision: 3 });
  });

  it("recovers a release left pending-upgrade by a killed helm: unlock, then upgrade", async () => {
    const ns = await newNamespace("helm-pend");
    const rel = `${ns}-demo`;
    const r = commit(CHART);
    expect((await reconcile(hr(ns, { values: { port: 80 } }), r)).outcome).toBe("ready");

    // A helm upgrade that waits for a Deployment that never gets pods, killed mid-wait.
    const chartDir = (await gitChart(tree, r, "charts/demo", join(home, "charts"), "x")).path;
    const child = spawn(
      e2eEnv().tools.helm,
      [
        "upgrade",
        rel,
        chartDir,
        "-n",
        ns,
        "--set",
        "deployment=true",
        "--wait",
        "--timeout",
        "120s",
        "--kubeconfig",
        e2eEnv().kubeconfigPath,
      ],
      {
        env: {
          ...process.env,
          HELM_CACHE_HOME: join(home, "cache"),
          HELM_CONFIG_HOME: join(home, "config"),
          HELM_DATA_HOME: join(home, "data"),
        },
        stdio: "ignore",
      },
    );
    for (let i = 0; i < 600; i++) {
      const latest = (await storage.revisions(ns, rel))[0];
      if (latest?.status === "pending-upgrade") break;
      await new Promise((res) => setTimeout(res, 100));
    }
    child.kill("SIGKILL");
    await new Promise((res) => child.once("exit", res));
    expect((await storage.revisions(ns, rel))[0]?.status).toBe("pending-upgrade");
    // helm itself refuses now.
    await expect(
      helm.upgrade({
        release: rel,
        namespace: ns,
        chart: chartDir,
        values: {},
        timeout: 30,
        wait: false,
        maxHistory: 10,
        resetValues: true,
        labels: {},
      }),
    ).rejects.toMatchObject({ kind: "locked" });

    const res = await reconcile(hr(ns, { values: { port: 80 } }), r);
    expect(res.actions.map((a) => [a.action.type, a.ok])).toEqual([
      ["unlock", true],
      ["upgrade", true],
    ]);
    expect(res).toMatchObject({ outcome: "ready", revision: 3 });
    const h = await helm.history({ release: rel, namespace: ns });
    expect(h[1]).toMatchObject({
      revision: 2,
      status: "failed",
      description: "Release unlocked from stale 'pending-upgrade' state",
    });
  });

  it("recovers a release left pending-install by a killed helm: unlock, then upgrade over the failed first revision", async () => {
    const ns = await newNamespace("helm-pendi");
    const rel = `${ns}-demo`;
    const r = commit(CHART);
    const chartDir = (await gitChart(tree, r, "charts/demo", join(home, "charts"), "x")).path;
    const child = spawn(
      e2eEnv().tools.helm,
      [
        "install",
        rel,
        chartDir,
        "-n",
        ns,
        "--set",
        "deployment=true",
        "--wait",
        "--timeout",
        "120s",
        "--labels",
        `gitops-bot.dev/owner=${ns}.demo`,
        "--kubeconfig",
        e2eEnv().kubeconfigPath,
      ],
      {
        env: {
          ...process.env,
          HELM_CACHE_HOME: join(home, "cache"),
          HELM_CONFIG_HOME: join(home, "config"),
          HELM_DATA_HOME: join(home, "data"),
        },
        stdio: "ignore",
      },
    );
    for (let i = 0; i < 600; i++) {
      if ((await storage.revisions(ns, rel))[0]?.status === "pending-install") break;
      await new Promise((res) => setTimeout(res, 100));
    }
    child.kill("SIGKILL");
    await new Promise((res) => child.once("exit", res));
    expect((await storage.revisions(ns, rel))[0]?.status).toBe("pending-install");

    const res = await reconcile(hr(ns, { values: { port: 80 } }), r);
    expect(res.actions.map((a) => [a.action.type, a.ok])).toEqual([
      ["unlock", true],
      ["upgrade", true],
    ]);
    expect(res).toMatchObject({ outcome: "ready", revision: 2 });
  });

  it("runs tests after an install (a ConfigMap hook passes); a failing test hook rolls the upgrade back", async () => {
    const ns = await newNamespace("helm-test");
    const rel = `${ns}-demo`;
    const r = commit({
      ...CHART,
      "charts/demo/templates/tests/ok.yaml":
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-test\n  annotations: {"helm.sh/hook": test, "helm.sh/hook-delete-policy": before-hook-creation}\n',
      "charts/demo/templates/tests/pod.yaml":
        '{{- if .Values.podTest }}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-pod-test\n  annotations: {"helm.sh/hook": test}\nspec:\n  restartPolicy: Never\n  containers: [{name: t, image: example.invalid/t:1}]\n{{- end }}\n',
    });
    const spec = (values: Record<string, unknown>) =>
      hr(ns, { values, wait: false, test: { enable: true, timeout: 3 }, rollback: { enable: true } });
    let res = await reconcile(spec({ message: "a" }), r);
    expect(res.actions.map((a) => [a.action.type, a.ok])).toEqual([
      ["install", true],
      ["test", true],
    ]);
    expect(res).toMatchObject({ outcome: "ready", revision: 1 });
    expect((await reconcile(spec({ message: "a" }), r)).actions).toEqual([]);

    res = await reconcile(spec({ message: "b", podTest: true }), r);
    expect(res.actions.map((a) => [a.action.type, a.ok])).toEqual([
      ["upgrade", true],
      ["test", false],
      ["rollback", true],
    ]);
    expect(res.actions[1]?.error?.kind).toBe("test-failed");
    expect(res.outcome).toBe("stalled");
    expect(await history(ns, rel)).toEqual([
      [1, "superseded"],
      [2, "superseded"],
      [3, "deployed"],
    ]);
    expect((await reconcile(spec({ message: "b", podTest: true }), r)).actions).toEqual([]);
  });

  it("values from a Secret reach the release but never a result message (canary)", async () => {
    const ns = await newNamespace("helm-canary");
    const r = commit(CHART);
    const canary = "canary-Zq7hunter2-secret";
    const spec = hr(ns, { valuesFrom: [{ secretKeyRef: { name: "app-secrets" } }] });
    const source: ValuesSourceReader = {
      ...noSources,
      secret: async (_ns, name) =>
        name === "app-secrets" ? { "values.yaml": `message: ${canary}\nport: 99999\n` } : undefined,
    };
    const chart = await gitChart(tree, r, "charts/demo", join(home, "charts"), spec.file);
    const composed = await composeValues(spec, source);
    const res = await reconcileRelease({ spec, chart, values: composed.values }, { helm, storage });
    expect(res.outcome).toBe("failed");
    expect(JSON.stringify(res)).not.toContain(canary);
    const status = await helm.status({ release: `${ns}-demo`, namespace: ns });
    expect(status?.config).toMatchObject({ message: canary });
  });

  it("reports a release it did not make and never touches it, not even on removal", async () => {
    const ns = await newNamespace("helm-own");
    const rel = `${ns}-demo`;
    const r = commit(CHART);
    const chartDir = (await gitChart(tree, r, "charts/demo", join(home, "charts"), "x")).path;
    await helm.install({
      release: rel,
      namespace: ns,
      chart: chartDir,
      values: {},
      timeout: 60,
      wait: false,
      labels: {},
    });
    let res = await reconcile(hr(ns, { values: { message: "mine" } }), r);
    expect(res).toMatchObject({ outcome: "unmanaged", actions: [] });
    expect(res.message).toContain("not installed by gitops-bot");
    res = await reconcileRemoved(hr(ns), { helm, storage });
    expect(res).toMatchObject({ outcome: "unmanaged", actions: [] });
    expect(await history(ns, rel)).toEqual([[1, "deployed"]]);
  });
});
