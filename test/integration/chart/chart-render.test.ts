/**
 * The chart with the real helm (the one `npm run e2e:tools` builds, else `helm` on PATH):
 * `helm lint --strict` and `helm template` over every `ci/*-values.yaml`, and the objects each
 * example renders are the ones its values promise. values.schema.json makes bad values fail here,
 * before anything reaches a cluster. (Installing into a real API server: test/e2e/chart.test.ts.)
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { toolsDir } from "../../harness/tools.js";

const run = promisify(execFile);
const chart = join(import.meta.dirname, "../../../charts/gitops-bot");
const ciFiles = readdirSync(join(chart, "ci")).filter((f) => f.endsWith("-values.yaml"));

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [k: string]: unknown;
}

async function findHelm(): Promise<string> {
  try {
    const env = JSON.parse(await readFile(join(toolsDir(), "env.json"), "utf8")) as { helm?: string };
    if (env.helm && existsSync(env.helm)) return env.helm;
  } catch {
    // env.json is written when every tool is built: look for the helm build itself, then PATH
  }
  const built = existsSync(toolsDir())
    ? readdirSync(toolsDir())
        .filter((d) => d.startsWith("helm-"))
        .map((d) => join(toolsDir(), d, "bin", "helm"))
        .filter((p) => existsSync(p))
    : [];
  if (built[0]) return built[0];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, "helm"))) return join(dir, "helm");
  }
  throw new Error("helm not found: run `npm run e2e:tools` (it builds the pinned helm) or put helm on PATH");
}

describe("the chart with the real helm", () => {
  let helmBin: string;
  let home: string;
  beforeAll(async () => {
    helmBin = await findHelm();
    home = await mkdtemp(join(tmpdir(), "chart-render-"));
  });
  afterAll(() => (home ? rm(home, { recursive: true, force: true }) : undefined));

  const helm = (...args: string[]) =>
    run(helmBin, args, {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        HELM_CACHE_HOME: join(home, "cache"),
        HELM_CONFIG_HOME: join(home, "config"),
        HELM_DATA_HOME: join(home, "data"),
      },
      maxBuffer: 16 * 1024 * 1024,
    });
  const render = async (...args: string[]): Promise<K8sObject[]> => {
    const { stdout } = await helm("template", "bot", chart, "--namespace", "gitops", ...args);
    return parseAllDocuments(stdout)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
  };
  const failure = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      return String((e as { stderr?: string }).stderr ?? e);
    }
    throw new Error("expected helm to fail");
  };

  it.each(ciFiles)("%s passes helm lint --strict and renders", async (file) => {
    const values = join(chart, "ci", file);
    const lint = await helm("lint", "--strict", chart, "-f", values);
    expect(lint.stdout).toContain("0 chart(s) failed");
    const objects = await render("-f", values);
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining(["Deployment", "ConfigMap", "Service"]),
    );
  });

  it("rejects values of the wrong type or with a typo, saying which", async () => {
    expect(await failure(render("--set", "replicaCount=two"))).toMatch(/replicaCount.*want integer/);
    expect(await failure(render("--set", "config.repo.brnch=main"))).toMatch(/brnch/);
    expect(await failure(render("--set", "config.slack.command=gitops"))).toMatch(/command/);
    expect(await failure(render("--set", "rbac.clusterAdmn=false"))).toMatch(/clusterAdmn/);
  });

  it("runs non-root with a read-only root filesystem, seccomp RuntimeDefault and a startup probe", async () => {
    const deploy = (await render()).find((o) => o.kind === "Deployment") as unknown as {
      spec: { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } };
    };
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0] as Record<string, Record<string, unknown>>;
    expect(pod["securityContext"]).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c["securityContext"]).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      seccompProfile: { type: "RuntimeDefault" },
    });
    // A large first clone gets 10 minutes before the liveness probe counts.
    const startup = c["startupProbe"] as { periodSeconds: number; failureThreshold: number };
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(600);
  });

  it("the full example has the HelmRelease CRD (kubectl get hr columns, status), ServiceMonitor, PDB, ingress annotations", async () => {
    const objects = await render("-f", join(chart, "ci", "full-values.yaml"));
    const crd = objects.find((o) => o.kind === "CustomResourceDefinition") as unknown as {
      metadata: { name: string; annotations: Record<string, string> };
      spec: { names: { shortNames: string[] }; versions: Record<string, unknown>[] };
    };
    expect(crd.metadata.name).toBe("helmreleases.helm.fluxcd.io");
    expect(crd.metadata.annotations["helm.sh/resource-policy"]).toBe("keep");
    expect(crd.spec.names.shortNames).toContain("hr");
    const v1 = crd.spec.versions[0] as {
      subresources: unknown;
      additionalPrinterColumns: { name: string }[];
    };
    expect(v1.subresources).toEqual({ status: {} });
    expect(v1.additionalPrinterColumns.map((c) => c.name)).toEqual(
      expect.arrayContaining(["Phase", "Revision", "Message"]),
    );
    expect(objects.some((o) => o.kind === "ServiceMonitor")).toBe(true);
    expect(objects.some((o) => o.kind === "PodDisruptionBudget")).toBe(true);
    const ingress = objects.find((o) => o.kind === "Ingress");
    expect(ingress?.metadata.annotations).toEqual({ "cert-manager.io/cluster-issuer": "letsencrypt" });
    // Off by default: no CRD, no ServiceMonitor (its CRD may not exist), no PDB.
    const kinds = (await render()).map((o) => o.kind);
    for (const k of ["CustomResourceDefinition", "ServiceMonitor", "PodDisruptionBudget", "Ingress"]) {
      expect(kinds).not.toContain(k);
    }
  });

  it("grants Secrets only for helm's storage, and only where asked", async () => {
    const secretsGrants = (objects: K8sObject[]) =>
      objects
        .filter((o) => o.kind === "Role" || o.kind === "ClusterRole")
        .filter((o) =>
          (o["rules"] as { resources: string[] }[]).some(
            (r) => r.resources.includes("secrets") || r.resources.includes("*"),
          ),
        )
        .map((o) => `${o.kind}/${o.metadata.namespace ?? ""}`);
    // The default (cluster admin) is everything, once, cluster-wide.
    expect(secretsGrants(await render())).toEqual(["ClusterRole/"]);
    // Narrowed without rbac.helm: no Secrets at all.
    expect(secretsGrants(await render("--set", "rbac.clusterAdmin=false"))).toEqual([]);
    // Narrowed with helm namespaces: a Role in each of them, nothing cluster-wide.
    const narrowed = await render("-f", join(chart, "ci", "narrowed-values.yaml"));
    expect(secretsGrants(narrowed).sort()).toEqual(["Role/dev", "Role/prod", "Role/stg"]);
  });

  it("namespaced mode renders no cluster-wide object", async () => {
    const objects = await render("-f", join(chart, "ci", "namespaced-values.yaml"));
    expect(objects.filter((o) => o.kind.startsWith("Cluster"))).toEqual([]);
    const roles = objects
      .filter((o) => o.kind === "Role")
      .map((o) => `${o.metadata.name}@${o.metadata.namespace}`);
    expect(roles.sort()).toEqual([
      "bot-gitops-bot-helm@team-a",
      "bot-gitops-bot-helm@team-b",
      "bot-gitops-bot-state@gitops",
      "bot-gitops-bot@team-a",
      "bot-gitops-bot@team-b",
    ]);
    const bindings = objects.filter((o) => o.kind === "RoleBinding");
    expect(bindings).toHaveLength(roles.length);
  });
});
