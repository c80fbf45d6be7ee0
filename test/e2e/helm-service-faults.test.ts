/**
 * Bad input for the Helm service, end to end: a chart path that does not exist, a required
 * valuesFrom Secret that is missing, a chart that refuses to render with a secret value in its
 * message. Each gives one clear event naming the release and its file, none blocks the others,
 * and the secret (a canary) never reaches an event. A release left pending by a killed helm is
 * recovered when the service starts.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eEnv } from "../harness/e2e.js";
import { CHART, helmFixture, podinfoRelease } from "./helm-service-fixture.js";
import { nsYaml, type SyncSuite, startSyncSuite } from "./sync-fixture.js";

let suite: SyncSuite;
beforeAll(async () => {
  suite = await startSyncSuite();
});
afterAll(async () => {
  await suite?.stop();
});

const CANARY = "canary-7f3e9a1b2c";

const hr = (ns: string, name: string, spec: string) => `apiVersion: helm.fluxcd.io/v1
kind: HelmRelease
metadata:
  name: ${name}
  namespace: ${ns}
spec:
${spec}`;

describe("Helm service e2e: bad input is one release's problem", () => {
  it("missing chart path, missing values Secret, a chart that fails to render: one event each, the rest deploys", async () => {
    const chart = "  chart:\n    git: git@github.com:fluxcd/helm-operator-get-started\n    ref: master\n";
    const f = await helmFixture(suite, (ns) => ({
      [`namespaces/${ns}.yaml`]: nsYaml(ns),
      "charts/strict/Chart.yaml": "apiVersion: v2\nname: strict\nversion: 0.1.0\n",
      "charts/strict/templates/cm.yaml":
        '{{- if .Values.refuse }}{{ fail (printf "refusing to render with token %s" .Values.token) }}{{- end }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  ok: "yes"\n',
      "releases/dev/podinfo.yaml": podinfoRelease(ns, { tag: "3.0.0" }),
      "releases/dev/nochart.yaml": hr(ns, "nochart", `${chart}    path: charts/missing\n`),
      "releases/dev/nosecret.yaml": hr(
        ns,
        "nosecret",
        `${chart}    path: charts/strict\n  valuesFrom:\n    - secretKeyRef: { name: not-there }\n`,
      ),
      "releases/dev/strict-values.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: strict-values\n  namespace: ${ns}\nstringData:\n  values.yaml: |\n    token: ${CANARY}\n    refuse: true\n`,
      "releases/dev/strict.yaml": hr(
        ns,
        "strict",
        `${chart}    path: charts/strict\n  valuesFrom:\n    - secretKeyRef: { name: strict-values }\n`,
      ),
    }));
    expect((await f.syncAndSettle())?.status).toBe("ready");
    expect(await f.history()).toEqual([[1, "deployed"]]);
    const results = Object.fromEntries(
      await Promise.all(
        ["nochart", "nosecret", "strict"].map(async (n) => [n, (await f.settle(n))?.status] as const),
      ),
    );
    expect(results).toEqual({ nochart: "stalled", nosecret: "stalled", strict: "failed" });

    const byRelease = Object.fromEntries(f.helmEvents().map((e) => [e.release, e]));
    expect(byRelease[`${f.ns}-podinfo`]?.phase).toBe("deployed");
    expect(byRelease[`${f.ns}-nochart`]).toMatchObject({
      phase: "stalled",
      file: "releases/dev/nochart.yaml",
    });
    expect(byRelease[`${f.ns}-nochart`]?.error).toContain("charts/missing does not exist");
    expect(byRelease[`${f.ns}-nosecret`]?.error).toMatch(
      /releases\/dev\/nosecret\.yaml: spec\.valuesFrom\[0\].*not found/,
    );
    expect(byRelease[`${f.ns}-strict`]).toMatchObject({ phase: "failed", file: "releases/dev/strict.yaml" });
    expect(byRelease[`${f.ns}-strict`]?.error).toContain("refusing to render");
    // One event per release, and the Secret's value nowhere.
    expect(f.helmEvents()).toHaveLength(4);
    expect(JSON.stringify(f.events)).not.toContain(CANARY);

    // Resyncing the same revision adds no event and calls no helm for the failed ones.
    f.events.length = 0;
    await f.push({ "README.md": "x\n" }, "unrelated");
    await f.syncAndSettle();
    for (const n of ["nochart", "nosecret", "strict"]) await f.settle(n);
    expect(f.helmEvents()).toEqual([]);
  });

  it("a release left pending-upgrade by a killed helm is unlocked and upgraded when the service starts", async () => {
    const f = await helmFixture(suite, (ns) => ({
      [`namespaces/${ns}.yaml`]: nsYaml(ns),
      "releases/dev/podinfo.yaml": podinfoRelease(ns, { tag: "3.0.0" }),
    }));
    expect((await f.syncAndSettle())?.status).toBe("ready");
    // The bot's helm, killed mid-upgrade: an upgrade waiting for a Deployment that never gets pods.
    const dir = join(suite.scratch, `chart-${f.ns}`);
    for (const [p, content] of Object.entries(CHART)) {
      const target = join(dir, p.replace(/^charts\/podinfo\//, ""));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
    }
    const home = join(suite.scratch, `kill-${f.ns}`);
    const child = spawn(
      e2eEnv().tools.helm,
      [
        "upgrade",
        f.release,
        dir,
        "-n",
        f.ns,
        "--reuse-values",
        "--set",
        "deployment=true",
        "--wait",
        "--timeout",
        "120s",
      ],
      {
        env: {
          ...process.env,
          KUBECONFIG: e2eEnv().kubeconfigPath,
          HELM_CACHE_HOME: join(home, "cache"),
          HELM_CONFIG_HOME: join(home, "config"),
          HELM_DATA_HOME: join(home, "data"),
        },
        stdio: "ignore",
      },
    );
    for (let i = 0; i < 600 && (await f.history()).at(-1)?.[1] !== "pending-upgrade"; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect((await f.history()).at(-1)).toEqual([2, "pending-upgrade"]);

    // Restart: the new leader's first pass unlocks it and runs the upgrade git asks for.
    f.events.length = 0;
    const svc = f.restartHelm();
    await svc.scan();
    const r = await f.settle("podinfo");
    expect(r?.status).toBe("ready");
    expect(await f.history()).toEqual([
      [1, "superseded"],
      [2, "failed"],
      [3, "deployed"],
    ]);
    expect(f.helmEvents().map((e) => [e.phase, e.revision])).toEqual([["deployed", 3]]);
  });

  it("stopping waits for a running helm upgrade instead of killing it (no pending release left behind)", async () => {
    const f = await helmFixture(suite, (ns) => ({
      [`namespaces/${ns}.yaml`]: nsYaml(ns),
      "releases/dev/podinfo.yaml": podinfoRelease(ns, { tag: "3.0.0" }),
    }));
    expect((await f.syncAndSettle())?.status).toBe("ready");
    // An upgrade that waits (up to 5 s) for a Deployment that never gets pods.
    await f.push(
      { "releases/dev/podinfo.yaml": podinfoRelease(f.ns, { tag: "3.1.0", hang: { timeout: 5 } }) },
      "hang",
    );
    await f.sync.trigger(); // applies, and the sync's hook starts the Helm pass
    for (let i = 0; i < 600 && (await f.history()).at(-1)?.[1] !== "pending-upgrade"; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await f.history()).at(-1)?.[1]).toBe("pending-upgrade");
    f.helm.pause();
    expect(await f.helm.drain(60_000)).toBe(true);
    // helm ran to its own end (timed out waiting): the release is failed, not stuck pending.
    expect((await f.history()).at(-1)).toEqual([2, "failed"]);
  });

  it("a chart whose custom resource's CRD is not applied yet fails once, then installs when a commit brings the CRD", async () => {
    const group = `e2e${randomBytes(3).toString("hex")}.example.com`;
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: { kind: Widget, plural: widgets, singular: widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }
`;
    const f = await helmFixture(suite, (ns) => ({
      [`namespaces/${ns}.yaml`]: nsYaml(ns),
      "charts/widget/Chart.yaml": "apiVersion: v2\nname: widget\nversion: 0.1.0\n",
      "charts/widget/templates/widget.yaml": `apiVersion: ${group}/v1\nkind: Widget\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  size: 1\n`,
      "releases/dev/widget.yaml": hr(
        ns,
        "widget",
        "  chart:\n    git: git@github.com:fluxcd/helm-operator-get-started\n    ref: master\n    path: charts/widget\n",
      ),
    }));
    await f.sync.trigger();
    await f.helm.scan();
    expect((await f.settle("widget"))?.status).toBe("failed");
    const [failed] = f.helmEvents();
    expect(failed).toMatchObject({ phase: "failed", file: "releases/dev/widget.yaml" });
    expect(failed?.error).toMatch(/no matches for kind|resource mapping not found/);

    // The same revision again: no new attempt, no new event.
    f.events.length = 0;
    expect((await f.settle("widget"))?.status).toBe("failed");
    expect(f.helmEvents()).toEqual([]);

    // A commit brings the CRD: the sync applies it first, then the release installs.
    await f.push({ "releases/crds/widget.yaml": crd }, "add the Widget CRD");
    const synced = await f.sync.trigger();
    expect(synced.result?.status).toBe("ready");
    await f.helm.scan(synced.revision);
    expect((await f.settle("widget"))?.status).toBe("ready");
    expect(f.helmEvents().map((e) => e.phase)).toEqual(["deployed"]);
  });
});
