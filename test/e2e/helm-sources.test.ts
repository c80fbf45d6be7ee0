/**
 * Chart sources other than git, with the real helm and API server: a Helm repository served on
 * loopback (index.yaml + archives, basic auth) and an OCI chart pushed to the suite's registry.
 * Installed and upgraded through reconcileRelease; an unreachable repository is transient.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransientError } from "../../src/core/errors.js";
import { HelmRepositoryClient, ociChart } from "../../src/helm/chart-source.js";
import { HelmCli } from "../../src/helm/cli.js";
import { reconcileRelease } from "../../src/helm/release.js";
import { parseHelmRelease } from "../../src/helm/spec.js";
import { HelmStorage } from "../../src/helm/storage.js";
import { e2eEnv, e2eKubeClient, newNamespace } from "../harness/e2e.js";

const run = promisify(execFile);

describe("Helm repository and OCI chart sources", () => {
  let home: string;
  let helm: HelmCli;
  let storage: HelmStorage;
  let server: Server;
  let repoUrl: string;
  const auth = `Basic ${Buffer.from("charts:pa55word").toString("base64")}`;
  const helmEnv = () => ({
    ...process.env,
    HELM_CACHE_HOME: join(home, "cache"),
    HELM_CONFIG_HOME: join(home, "config"),
    HELM_DATA_HOME: join(home, "data"),
  });

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "helm-src-"));
    helm = new HelmCli({ binary: e2eEnv().tools.helm, home, kubeconfig: e2eEnv().kubeconfigPath });
    storage = new HelmStorage(e2eKubeClient());
    const pub = join(home, "public");
    await mkdir(pub, { recursive: true });
    for (const version of ["0.1.0", "0.2.0"]) {
      const dir = join(home, "src", version);
      await mkdir(join(dir, "templates"), { recursive: true });
      await writeFile(join(dir, "Chart.yaml"), `apiVersion: v2\nname: demo\nversion: ${version}\n`);
      await writeFile(
        join(dir, "templates", "cm.yaml"),
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  v: "${version}"\n`,
      );
      await run(e2eEnv().tools.helm, ["package", dir, "-d", pub], { env: helmEnv() });
    }
    server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    repoUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charts`;
    // Archive URLs relative to the index, as most repositories publish them.
    await run(e2eEnv().tools.helm, ["repo", "index", pub], { env: helmEnv() });
    server.on("request", async (req, res) => {
      if (req.headers.authorization !== auth) {
        res.writeHead(401).end();
        return;
      }
      const path = (req.url ?? "/").replace(/^\/charts\//, "");
      try {
        res.writeHead(200).end(await readFile(join(pub, path)));
      } catch {
        res.writeHead(404).end();
      }
    });
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await rm(home, { recursive: true, force: true });
  });

  const hr = (ns: string, chart: Record<string, unknown>) =>
    parseHelmRelease(
      {
        apiVersion: "helm.fluxcd.io/v1",
        kind: "HelmRelease",
        metadata: { name: "demo", namespace: ns },
        spec: { chart },
      },
      `releases/${ns}/demo.yaml`,
    );

  it("installs from a Helm repository with basic auth, no-ops on the same version, upgrades on a new one", async () => {
    const ns = await newNamespace("helm-repo");
    const repos = new HelmRepositoryClient({
      cacheDir: join(home, "charts"),
      credentials: (u) => (u === repoUrl ? { username: "charts", password: "pa55word" } : undefined),
    });
    const step = async (version: string) => {
      const spec = hr(ns, { repository: repoUrl, name: "demo", version });
      const chart = await repos.chart(repoUrl, "demo", version);
      return reconcileRelease({ spec, chart, values: {} }, { helm, storage });
    };
    expect(await step("0.1.0")).toMatchObject({
      outcome: "ready",
      revision: 1,
      actions: [{ action: { type: "install" } }],
    });
    expect(await step("0.1.0")).toMatchObject({ outcome: "ready", revision: 1, actions: [] });
    expect(await step("0.2.0")).toMatchObject({
      outcome: "ready",
      revision: 2,
      actions: [{ action: { type: "upgrade", reason: "chart changed" } }],
    });
    const status = await helm.history({ release: `${ns}-demo`, namespace: ns });
    expect(status.map((h) => h.chart)).toEqual(["demo-0.1.0", "demo-0.2.0"]);

    const noAuth = new HelmRepositoryClient({ cacheDir: join(home, "charts2") });
    await expect(noAuth.chart(repoUrl, "demo", "0.1.0")).rejects.toThrow("HTTP 401");
  });

  it("an unreachable repository is a transient error", async () => {
    const repos = new HelmRepositoryClient({ cacheDir: join(home, "charts3") });
    await expect(repos.chart("http://127.0.0.1:1/charts", "demo", "0.1.0")).rejects.toBeInstanceOf(
      TransientError,
    );
  });

  it("installs an OCI chart by version", async () => {
    const ns = await newNamespace("helm-oci");
    const host = e2eEnv().registryHost;
    await run(
      e2eEnv().tools.helm,
      ["push", join(home, "public", "demo-0.1.0.tgz"), `oci://${host}/charts`, "--plain-http"],
      {
        env: helmEnv(),
      },
    );
    const spec = hr(ns, { repository: `oci://${host}/charts`, name: "demo", version: "0.1.0" });
    if (spec.chart.type !== "oci") throw new Error("expected an OCI chart");
    const chart = await ociChart(helm, spec.chart, join(home, "charts"), { plainHttp: true });
    expect(chart).toMatchObject({ name: "demo", version: "0.1.0" });
    const res = await reconcileRelease({ spec, chart, values: {} }, { helm, storage });
    expect(res).toMatchObject({ outcome: "ready", revision: 1 });
  });
});
