import { describe, expect, it } from "vitest";
import { HelmCli, HelmError, type Runner } from "../../../src/helm/cli.js";
import { instrumentHelm } from "../../../src/helm/metrics.js";
import { MetricsRegistry } from "../../../src/http/metrics.js";

/** The process boundary: answers each helm run in turn (exit code, stderr). */
function runner(replies: { code: number; stdout?: string; stderr?: string }[]): Runner {
  let i = 0;
  return async () => {
    const r = replies[i++] ?? { code: 0 };
    return { stdout: r.stdout ?? "{}", stderr: r.stderr ?? "", code: r.code };
  };
}

const lines = (text: string, name: string) => text.split("\n").filter((l) => l.startsWith(`${name}{`));

describe("helm operations on /metrics", () => {
  it("counts each action by result (success or the error kind) and times it", async () => {
    const metrics = new MetricsRegistry();
    const helm = instrumentHelm(
      new HelmCli({
        home: "/h",
        runner: runner([
          { code: 1, stderr: "Error: UPGRADE FAILED: context deadline exceeded" },
          { code: 0, stdout: '{"name":"web","version":2,"info":{"status":"deployed"}}' },
        ]),
      }),
      metrics,
    );
    const target = { release: "web", namespace: "dev", chart: "/charts/web", values: {}, timeout: 60 };
    const opts = { ...target, wait: true, maxHistory: 5, resetValues: false, labels: {} };
    const failed = await helm.upgrade(opts).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(HelmError);
    expect((failed as HelmError).kind).toBe("timeout");
    expect((await helm.upgrade(opts)).version).toBe(2);

    const text = await metrics.render();
    expect(lines(text, "gitops_helm_operations_total")).toEqual([
      'gitops_helm_operations_total{action="upgrade",result="timeout"} 1',
      'gitops_helm_operations_total{action="upgrade",result="success"} 1',
    ]);
    expect(lines(text, "gitops_helm_operation_duration_seconds_count")).toEqual([
      'gitops_helm_operation_duration_seconds_count{action="upgrade"} 2',
    ]);
  });
});
