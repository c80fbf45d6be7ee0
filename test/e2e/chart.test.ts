/**
 * The Helm chart the product ships (`charts/gitops-bot`), installed with the real helm into the
 * real API server: every object is accepted, the configuration it mounts passes our own schema
 * (with the state in the release's namespace), and with narrowed RBAC the service account may do
 * exactly what the bot needs there (state and approval ConfigMaps, the leader Lease).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig } from "../../src/config/load.js";
import { e2eEnv, e2eKubeClient, newNamespace } from "../harness/e2e.js";

const run = promisify(execFile);
const chart = join(import.meta.dirname, "../../charts/gitops-bot");

describe("the gitops-bot Helm chart", () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "chart-e2e-"));
  });
  // The chart keeps its HelmRelease CRD on uninstall (resource-policy: keep); other suites on this
  // API server rely on it having no HelmRelease CRD, so remove it and wait until discovery agrees.
  afterAll(async () => {
    await kubectl("delete", "crd", "helmreleases.helm.fluxcd.io", "--ignore-not-found", "--wait=true");
    for (let i = 0; i < 100 && (await e2eKubeClient().resource("helm.fluxcd.io/v1", "HelmRelease")); i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    await rm(home, { recursive: true, force: true });
  });

  const helm = (ns: string, ...args: string[]) =>
    run(e2eEnv().tools.helm, [...args, "--kubeconfig", e2eEnv().kubeconfigPath, "--namespace", ns], {
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(home, "cache"),
        HELM_CONFIG_HOME: join(home, "config"),
        HELM_DATA_HOME: join(home, "data"),
      },
    });
  const kubectl = async (...args: string[]) =>
    (await run("kubectl", ["--kubeconfig", e2eEnv().kubeconfigPath, ...args])).stdout.trim();
  /** `kubectl auth can-i` as `user`: "yes" or "no" (it exits 1 on "no"). */
  const can2 = async (user: string, ...args: string[]) => {
    try {
      return await kubectl("auth", "can-i", "--as", user, ...args);
    } catch (e) {
      return String((e as { stdout?: string }).stdout ?? "").trim();
    }
  };

  it("installs; the mounted config is valid and keeps the bot's state in the release namespace", async () => {
    const ns = await newNamespace("chart");
    const release = `bot-${ns.slice(-6)}`;
    await helm(ns, "install", release, chart, "--set", `fullnameOverride=${release}`);
    const status = JSON.parse((await helm(ns, "status", release, "-o", "json")).stdout);
    expect(status.info.status).toBe("deployed");

    const text = await kubectl(
      "get",
      "configmap",
      release,
      "-n",
      ns,
      "-o",
      "jsonpath={.data.gitops-bot\\.yaml}",
    );
    const cfg = parseConfig(parse(text), { GIT_TOKEN: "t0ken-from-the-secret" });
    expect(cfg.sync.namespace).toBe(ns);
    expect(cfg.repo.auth.token).toBe("t0ken-from-the-secret");
    // The secret is referenced, never inlined into the chart's objects.
    expect(text).toContain("${GIT_TOKEN}");

    const deploy = JSON.parse(await kubectl("get", "deployment", release, "-n", ns, "-o", "json"));
    const c = deploy.spec.template.spec.containers[0];
    expect(c.args).toEqual(["serve", "--config", "/etc/gitops-bot/gitops-bot.yaml"]);
    expect(c.image).toMatch(/:0\.1\.0$/);
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    expect(deploy.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it("with narrowed RBAC the service account may keep its state in its namespace and touch nothing else", async () => {
    const ns = await newNamespace("chart-rbac");
    const release = `bot-${ns.slice(-6)}`;
    await helm(
      ns,
      "install",
      release,
      chart,
      "--set",
      `fullnameOverride=${release}`,
      "--set",
      "rbac.clusterAdmin=false",
    );
    const as = `system:serviceaccount:${ns}:${release}`;
    const can = (...args: string[]) => can2(as, ...args);
    for (const verb of ["get", "create", "update"]) {
      expect(await can(verb, "configmaps", "-n", ns)).toBe("yes");
      expect(await can(verb, "leases.coordination.k8s.io", "-n", ns)).toBe("yes");
    }
    expect(await can("delete", "deployments", "-n", ns)).toBe("no");
    expect(await can("get", "secrets", "-n", ns)).toBe("no");
    // The state permissions are namespaced: no ConfigMap or Lease anywhere else.
    expect(await can("update", "configmaps", "-n", "default")).toBe("no");
    expect(await can("create", "leases.coordination.k8s.io", "-n", "kube-system")).toBe("no");

    // With rules for what the config repo holds, those (and only those) are granted cluster-wide.
    const ns2 = await newNamespace("chart-rules");
    const r2 = `bot-${ns2.slice(-6)}`;
    await helm(
      ns2,
      "install",
      r2,
      chart,
      "--set",
      `fullnameOverride=${r2}`,
      "--set",
      "rbac.clusterAdmin=false",
      "--set-json",
      'rbac.rules=[{"apiGroups":["apps"],"resources":["deployments"],"verbs":["get","list","create","update","patch","delete"]}]',
    );
    const as2 = `system:serviceaccount:${ns2}:${r2}`;
    expect(await kubectl("auth", "can-i", "--as", as2, "patch", "deployments.apps", "-n", "default")).toBe(
      "yes",
    );
    expect(await can2(as2, "get", "secrets", "-n", "default")).toBe("no");
  });
  it("with crds.helmRelease.install, `kubectl get hr` lists HelmReleases with phase, revision and message", async () => {
    const ns = await newNamespace("chart-crd");
    const release = `bot-${ns.slice(-6)}`;
    // --take-ownership: another suite on this API server may have created the CRD already.
    await helm(
      ns,
      "install",
      release,
      chart,
      "--set",
      `fullnameOverride=${release}`,
      "--set",
      "crds.helmRelease.install=true",
      "--take-ownership",
    );
    const dir = await mkdtemp(join(home, "hr-"));
    const file = join(dir, "podinfo.yaml");
    await writeFile(
      file,
      [
        "apiVersion: helm.fluxcd.io/v1",
        "kind: HelmRelease",
        "metadata: { name: podinfo }",
        "spec:",
        "  releaseName: podinfo-dev",
        "  chart: { git: https://github.com/example/config-repo.git, path: charts/podinfo, ref: main }",
        "  values: { image: { repository: ghcr.io/stefanprodan/podinfo, tag: 6.5.0 } }",
        "",
      ].join("\n"),
    );
    await kubectl("apply", "-n", ns, "-f", file);
    const status = {
      status: {
        releaseName: "podinfo-dev",
        phase: "Succeeded",
        revision: "6.5.0",
        conditions: [{ type: "Released", status: "True", message: "upgraded to revision 2" }],
      },
    };
    await kubectl(
      "patch",
      "hr",
      "podinfo",
      "-n",
      ns,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify(status),
    );
    const table = await kubectl("get", "hr", "-n", ns);
    const [header, row] = table.split("\n");
    expect(header?.split(/\s{2,}/)).toEqual(["NAME", "RELEASE", "PHASE", "REVISION", "MESSAGE", "AGE"]);
    expect(row).toMatch(/^podinfo\s+podinfo-dev\s+Succeeded\s+6\.5\.0\s+upgraded to revision 2\s+/);
  });

  it("narrowed RBAC with rbac.helm grants helm's release Secrets only in the listed namespaces", async () => {
    const ns = await newNamespace("chart-helm");
    const target = await newNamespace("chart-helm-target");
    const release = `bot-${ns.slice(-6)}`;
    await helm(
      ns,
      "install",
      release,
      chart,
      "--set",
      `fullnameOverride=${release}`,
      "--set",
      "rbac.clusterAdmin=false",
      "--set",
      "rbac.helm.enabled=true",
      "--set-json",
      `rbac.helm.namespaces=["${target}"]`,
    );
    const can = (...args: string[]) => can2(`system:serviceaccount:${ns}:${release}`, ...args);
    for (const verb of ["list", "create", "update", "delete"]) {
      expect(await can(verb, "secrets", "-n", target)).toBe("yes");
    }
    expect(await can("patch", "helmreleases.helm.fluxcd.io", "--subresource=status", "-n", target)).toBe(
      "yes",
    );
    expect(await can("get", "secrets", "-n", ns)).toBe("no");
    expect(await can("get", "secrets", "-n", "default")).toBe("no");
  });
  it("the API server accepts every object of the full example (PDB, Ingress, scheduling, probes)", async () => {
    const ns = await newNamespace("chart-full");
    const release = `bot-${ns.slice(-6)}`;
    // No Prometheus Operator here (ServiceMonitor) and the CRD belongs to the test above.
    await helm(
      ns,
      "install",
      release,
      chart,
      "-f",
      join(chart, "ci", "full-values.yaml"),
      "--set",
      `fullnameOverride=${release}`,
      "--set",
      "serviceMonitor.enabled=false",
      "--set",
      "crds.helmRelease.install=false",
    );
    const kinds = (await kubectl("get", "deploy,svc,ingress,pdb,cm,sa", "-n", ns, "-o", "name")).split("\n");
    expect(kinds).toEqual(
      expect.arrayContaining([
        `deployment.apps/${release}`,
        `service/${release}`,
        `ingress.networking.k8s.io/${release}`,
        `poddisruptionbudget.policy/${release}`,
      ]),
    );
    const deploy = JSON.parse(await kubectl("get", "deployment", release, "-n", ns, "-o", "json"));
    const pod = deploy.spec.template.spec;
    expect(pod.containers[0].startupProbe.httpGet.path).toBe("/healthz");
    expect(pod.terminationGracePeriodSeconds).toBe(45);
    expect(pod.containers[0].image).toMatch(/@sha256:/);
  });
});
