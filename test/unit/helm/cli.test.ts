import { describe, expect, it } from "vitest";
import { Redactor } from "../../../src/core/redact.js";
import { classifyHelmError, HelmCli, HelmError, helmMessage, type Runner } from "../../../src/helm/cli.js";

// stderr as helm v4.3.1 printed it against the test API server (research/helm-reconciler.md §5).
const samples: [string, string][] = [
  ["Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress", "locked"],
  ['Error: UPGRADE FAILED: "nothere" has no deployed releases', "no-deployed-release"],
  ["Error: release: not found", "not-found"],
  [
    "Error: INSTALLATION FAILED: release name check failed: cannot reuse a name that is still in use",
    "exists",
  ],
  ["Error: UPGRADE FAILED: release: already exists", "exists"],
  [
    "Error: UPGRADE FAILED: resource Deployment/demo/d1-app not ready. status: InProgress, message: Replicas: 0/1\ncontext deadline exceeded",
    "timeout",
  ],
  [
    'Release "rb" does not exist. Installing it now.\nError: parse error at (c1/templates/x.yaml:1): function "nosuchfn" not defined',
    "render",
  ],
  [
    'Error: template: c1/templates/cm.yaml:4:12: executing "c1/templates/cm.yaml" at <.Values.a.b>: nil pointer evaluating',
    "render",
  ],
  [
    'Error: unable to build kubernetes objects from release manifest: resource mapping not found for name: "x" namespace: "" from "": no matches for kind "HorizontalPodAutoscaler" in version "autoscaling/v2beta1"\nensure CRDs are installed first',
    "rejected",
  ],
  [
    'Error: server-side apply failed for object t2/s /v1, Kind=Service: Service "s" is invalid: [spec.ports[0].port: Invalid value: 99999: must be between 1 and 65535, inclusive]',
    "rejected",
  ],
  [
    'Error: looks like "https://127.0.0.1:1/charts" is not a valid chart repository or cannot be reached: Get "https://127.0.0.1:1/charts/index.yaml": dial tcp 127.0.0.1:1: connect: connection refused',
    "unreachable",
  ],
  [
    'Error: kubernetes cluster unreachable: Get "https://127.0.0.1:6443/version": dial tcp 127.0.0.1:6443: connect: connection refused',
    "unreachable",
  ],
  ['Error: path "./nodir" not found', "chart-not-found"],
  [
    'Error: chart "nope" version "9.9.9" not found in https://charts.example.com repository',
    "chart-not-found",
  ],
  ["Error: something else entirely", "unknown"],
];

describe("classifyHelmError", () => {
  it.each(samples)("%s", (stderr, kind) => expect(classifyHelmError(stderr)).toBe(kind));
  it("keeps the last Error: line as the message", () => {
    expect(helmMessage('Release "rb" does not exist. Installing it now.\nError: parse error at (x)\n')).toBe(
      "parse error at (x)",
    );
  });
});

class RecordingRunner {
  calls: { file: string; args: string[]; env: NodeJS.ProcessEnv; stdin: string | undefined }[] = [];
  constructor(private readonly reply: { stdout?: string; stderr?: string; code?: number } = {}) {}
  run: Runner = async (file, args, opts) => {
    this.calls.push({ file, args, env: opts.env, stdin: opts.stdin });
    return { stdout: this.reply.stdout ?? "{}", stderr: this.reply.stderr ?? "", code: this.reply.code ?? 0 };
  };
}

describe("HelmCli", () => {
  it("upgrades with an argument array, values on stdin, isolated homes and labels", async () => {
    const r = new RecordingRunner({ stdout: '{"name":"r","version":2,"info":{"status":"deployed"}}' });
    const helm = new HelmCli({ binary: "/opt/helm", home: "/h", kubeconfig: "/k", runner: r.run });
    const rel = await helm.upgrade({
      release: "r",
      namespace: "dev",
      chart: "/charts/app",
      values: { password: "s3cret-canary" },
      timeout: 300,
      wait: false,
      maxHistory: 10,
      resetValues: true,
      labels: { "gitops-bot.dev/owner": "dev.app" },
    });
    expect(rel.version).toBe(2);
    const c = r.calls[0]!;
    expect(c.file).toBe("/opt/helm");
    expect(c.args).toEqual([
      "upgrade",
      "r",
      "/charts/app",
      "-n",
      "dev",
      "-f",
      "-",
      "--timeout",
      "300s",
      "--labels",
      "gitops-bot.dev/owner=dev.app",
      "-o",
      "json",
      "--history-max",
      "10",
      "--reset-values",
      "--kubeconfig",
      "/k",
    ]);
    expect(c.args.join(" ")).not.toContain("s3cret");
    expect(JSON.parse(c.stdin ?? "")).toEqual({ password: "s3cret-canary" });
    expect(c.env).toMatchObject({
      HOME: "/h",
      HELM_CACHE_HOME: "/h/cache",
      HELM_CONFIG_HOME: "/h/config",
      HELM_DATA_HOME: "/h/data",
    });
    expect(c.env.KUBECONFIG).toBeUndefined();
  });

  it("throws a classified HelmError with the values and known secrets redacted", async () => {
    const r = new RecordingRunner({
      code: 1,
      stderr:
        'Error: UPGRADE FAILED: Secret "x" is invalid: data: "s3cret-canary" and token-known-1234 at https://u:pw@h/x',
    });
    const helm = new HelmCli({ home: "/h", runner: r.run, redactor: new Redactor(["token-known-1234"]) });
    const err = await helm
      .upgrade({
        release: "r",
        namespace: "dev",
        chart: "c",
        values: { p: "s3cret-canary" },
        timeout: 5,
        wait: true,
        maxHistory: 1,
        resetValues: false,
        labels: {},
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HelmError);
    const he = err as HelmError;
    expect(he.kind).toBe("rejected");
    for (const s of [he.message, he.stderr]) {
      expect(s).not.toContain("s3cret-canary");
      expect(s).not.toContain("token-known-1234");
      expect(s).not.toContain(":pw@");
    }
    expect(r.calls[0]!.args).toContain("--reuse-values");
    expect(r.calls[0]!.args).toContain("--wait=watcher");
  });

  it("status and history answer undefined / [] for a missing release", async () => {
    const r = new RecordingRunner({ code: 1, stderr: "Error: release: not found" });
    const helm = new HelmCli({ home: "/h", runner: r.run });
    expect(await helm.status({ release: "r", namespace: "n" })).toBeUndefined();
    expect(await helm.history({ release: "r", namespace: "n" })).toEqual([]);
  });

  it("a failed helm test is kind test-failed", async () => {
    const r = new RecordingRunner({ code: 1, stderr: "Error: 1 error occurred:\n\t* pod r-test failed" });
    const helm = new HelmCli({ home: "/h", runner: r.run });
    await expect(helm.test({ release: "r", namespace: "n", timeout: 5 })).rejects.toMatchObject({
      kind: "test-failed",
    });
  });
});
