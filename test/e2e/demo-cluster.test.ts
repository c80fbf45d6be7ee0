/**
 * `gitops-bot demo --kubeconfig <file>`, the whole loop on a laptop, through the real CLI: the
 * demo's config repo (the tutorial layout: charts/podinfo and releases/{dev,stg,prod}) is synced
 * to the suite's API server, its HelmReleases installed with the real helm, image automation scans
 * the suite's registry; a command typed on stdin shows its commit, then the sync that applied it
 * and the Helm upgrade, as notifications in the shell.
 *
 * No controller-manager: the chart's Deployment is created but never gets pods, so the
 * HelmReleases leave `wait` off (the examples do) and nothing waits for readiness.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExamplesDir } from "../../src/app/demo.js";
import { e2eEnv, e2eKubeClient } from "../harness/e2e.js";
import { type ManagedProcess, removeOnExit, startProcess } from "../harness/process.js";
import { pushImage } from "../harness/registry.js";

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, "../../src/cli.ts");

/** The example repo with its images moved to the suite's registry (no internet here). */
async function seedExamples(dest: string, host: string): Promise<void> {
  await cp(defaultExamplesDir(), dest, { recursive: true });
  for (const env of ["dev", "stg", "prod"]) {
    for (const app of ["podinfo", "frontend"]) {
      const file = join(dest, "releases", env, `${app}.yaml`);
      const text = (await readFile(file, "utf8"))
        .replaceAll("ghcr.io/stefanprodan/podinfo", `${host}/demo/podinfo`)
        .replaceAll("ghcr.io/example/frontend", `${host}/demo/frontend`)
        .replaceAll("docker.io/library/nginx", `${host}/demo/nginx`);
      await writeFile(file, text);
    }
  }
}

/** Waits until the demo's output (its log file) matches `re`; fails with the output's tail. */
async function waitForOutput(p: ManagedProcess, re: RegExp, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(p.logFile, "utf8").catch(() => "");
    if (re.test(text)) return text;
    if (p.exitReason() !== null || Date.now() > deadline) {
      throw new Error(
        `demo output never matched ${re} (${p.exitReason() ?? "timed out"}):\n${text.slice(-4000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function helmReleases(ns: string): Promise<{ name: string; revision: string; status: string }[]> {
  const { stdout } = await run(
    e2eEnv().tools.helm,
    ["list", "-n", ns, "-o", "json", "--kubeconfig", e2eEnv().kubeconfigPath],
    { env: { ...process.env, HELM_CACHE_HOME: scratch, HELM_CONFIG_HOME: scratch, HELM_DATA_HOME: scratch } },
  );
  return JSON.parse(stdout) as { name: string; revision: string; status: string }[];
}

/**
 * The suites share one API server and the examples' fixed namespaces (dev, stg, prod): remove what
 * the demo's sync and Helm made there, or the next suite syncing the examples finds objects owned
 * by another sync source and leaves them alone. (No controller-manager: namespaces cannot be
 * deleted, their objects can.)
 */
async function cleanCluster(): Promise<void> {
  const kube = e2eKubeClient();
  try {
    for (const ns of ["dev", "stg", "prod"]) {
      for (const r of await helmReleases(ns).catch(() => [])) {
        await run(
          e2eEnv().tools.helm,
          ["uninstall", r.name, "-n", ns, "--kubeconfig", e2eEnv().kubeconfigPath],
          {
            env: {
              ...process.env,
              HELM_CACHE_HOME: scratch,
              HELM_CONFIG_HOME: scratch,
              HELM_DATA_HOME: scratch,
            },
          },
        ).catch(() => undefined);
      }
    }
    for (const [apiVersion, kind] of [
      ["apps/v1", "Deployment"],
      ["v1", "Service"],
      ["v1", "ConfigMap"],
    ] as const) {
      for (const o of await kube.list(apiVersion, kind, { labelSelector: "gitops-bot.dev/sync=demo" })) {
        await kube
          .delete({
            apiVersion,
            kind,
            name: o.metadata.name,
            ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
          })
          .catch(() => undefined);
      }
    }
  } finally {
    kube.close();
  }
}

let scratch: string;
let unregister: () => void;
let demo: ManagedProcess | undefined;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "demo-e2e-"));
  unregister = removeOnExit(scratch);
  const env = e2eEnv();
  const reg = { url: env.registryUrl };
  // The tags the examples run, and one newer dev tag for image automation to find.
  // Distinct creation times: glob filters order candidates by them.
  const ago = (hours: number) => ({ created: new Date(Date.now() - hours * 3_600_000) });
  await pushImage(reg, "demo/podinfo", "dev-kb9lm91e", ago(5));
  await pushImage(reg, "demo/podinfo", "stg-9ij63o4c", ago(6));
  await pushImage(reg, "demo/podinfo", "0.4.10", ago(7));
  await pushImage(reg, "demo/podinfo", "dev-a1b2c3d4", ago(0));
  await pushImage(reg, "demo/frontend", "dev-1b7e0d2", ago(4));
  await pushImage(reg, "demo/frontend", "dev-3f2a1c9", ago(3));
  await pushImage(reg, "demo/frontend", "1.4.2", ago(2));
  await pushImage(reg, "demo/nginx", "1.27.3", ago(8));
  await seedExamples(join(scratch, "examples"), env.registryHost);
});

afterAll(async () => {
  await demo?.stop(30_000);
  await cleanCluster();
  await rm(scratch, { recursive: true, force: true });
  unregister?.();
});

describe("gitops-bot demo --kubeconfig", () => {
  it("shows command -> commit -> applied -> Helm deployed, and the releases exist in the cluster", async () => {
    const env = e2eEnv();
    demo = startProcess(
      "demo",
      process.execPath,
      [
        "--import",
        "tsx",
        CLI,
        "demo",
        "--kubeconfig",
        env.kubeconfigPath,
        "--helm",
        env.tools.helm,
        "--cluster",
        "laptop",
        "--dir",
        join(scratch, "state"),
        "--examples",
        join(scratch, "examples"),
        "--no-color",
      ],
      {
        logFile: join(scratch, "demo.log"),
        stdin: "pipe",
        env: { ...process.env, NO_COLOR: "1", KUBECONFIG: "" },
      },
    );
    const banner = await waitForOutput(demo, /Type exit/);
    expect(banner).toContain(`Cluster "laptop" (${env.kubeconfigPath})`);
    expect(banner).toMatch(/helm: on \(.*helm.*\)/);

    // At start: the first sync applies the repo and each env's podinfo becomes a Helm release.
    const start = await waitForOutput(demo, /Helm:\s+podinfo-prod( in [a-z]+)?: deployed \(revision 1\)/);
    expect(start).toMatch(/✓ Applied changes to cluster laptop\s+synced: 7 created/);
    // Image automation finds the newer dev tag in the registry, commits it, and Helm upgrades dev.
    expect(
      await waitForOutput(demo, /Automated release of podinfo in dev: `dev-kb9lm91e` → `dev-a1b2c3d4`/),
    ).toMatch(/Triggered by: image automation, policy `glob:dev-\*`/);
    await waitForOutput(demo, /podinfo-dev( in [a-z]+)?: deployed \(revision 2\)/);

    // A plain Deployment: command -> commit -> the sync applies it.
    let mark = (await readFile(demo.logFile, "utf8")).length;
    demo.stdin?.write("promote frontend dev stg\n");
    let out = (await waitForOutput(demo, /Promoted frontend in stg[\s\S]*synced: /)).slice(mark);
    expect(out).toMatch(/gitops> promote frontend dev stg\n✓ \[stg\/frontend\] promote dev-3f2a1c9 from dev/);
    expect(out).toMatch(/commit:\s+`[0-9a-f]{7}`/);

    // A HelmRelease: command -> commit -> applied -> Helm upgraded.
    mark = (await readFile(demo.logFile, "utf8")).length;
    demo.stdin?.write("promote podinfo dev stg --force\n");
    out = (await waitForOutput(demo, /Helm:\s+podinfo-rc( in [a-z]+)?: deployed \(revision 2\)/)).slice(mark);
    expect(out).toMatch(/✓ \[stg\/podinfo\] promote dev-a1b2c3d4 from dev \(forced, locked\)/);
    expect(out).toContain("Cluster:      laptop");

    // The releases exist in the cluster, as helm itself lists them.
    expect((await helmReleases("stg")).map((r) => [r.name, r.revision, r.status])).toEqual([
      ["podinfo-rc", "2", "deployed"],
    ]);
    expect((await helmReleases("prod")).map((r) => [r.name, r.revision, r.status])).toEqual([
      ["podinfo-prod", "1", "deployed"],
    ]);

    // exit leaves the shell; the reconcilers stop and the process ends on its own.
    demo.stdin?.end("exit\n");
    for (let i = 0; i < 240 && demo.exitReason() === null; i++) await new Promise((r) => setTimeout(r, 250));
    expect(demo.exitReason()).toBe("exited with code 0");
  });

  it("says clearly when there is no helm, and still serves commands against the cluster", async () => {
    const env = e2eEnv();
    const empty = join(scratch, "no-tools");
    await mkdir(empty, { recursive: true });
    const p = startProcess(
      "demo-nohelm",
      process.execPath,
      [
        "--import",
        "tsx",
        CLI,
        "demo",
        "--kubeconfig",
        env.kubeconfigPath,
        "--no-images",
        "--dir",
        join(scratch, "nohelm"),
        "--examples",
        join(scratch, "examples"),
        "--no-color",
      ],
      {
        logFile: join(scratch, "nohelm.log"),
        stdin: "pipe",
        // git stays on PATH (/usr/bin), helm is nowhere: neither on PATH nor in the tools cache.
        env: { ...process.env, PATH: dirname(env.tools.git), GITOPS_BOT_TOOLS_DIR: empty, NO_COLOR: "1" },
      },
    );
    try {
      const banner = await waitForOutput(p, /Type exit/);
      expect(banner).toMatch(
        /helm: off: no helm binary on PATH or in ~\/\.cache\/gitops-bot-tools; install helm/,
      );
      expect(banner).toContain("image automation: off");
      p.stdin?.end("status podinfo stg\n");
      expect(await waitForOutput(p, /gitops> status podinfo stg\n[\s\S]*podinfo/)).not.toMatch(
        /internal error/,
      );
      for (let i = 0; i < 240 && p.exitReason() === null; i++) await new Promise((r) => setTimeout(r, 250));
      expect(p.exitReason()).toBe("exited with code 0");
    } finally {
      await p.stop();
    }
  });
});
