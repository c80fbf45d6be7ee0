import { describe, expect, it } from "vitest";
import { describeLocation, locateCluster } from "../../../src/kube/locate.js";

const files =
  (...paths: string[]) =>
  (p: string) =>
    paths.includes(p);

describe("locateCluster", () => {
  it("finds no cluster on a laptop without a kubeconfig (no default http://localhost:8080)", () => {
    const l = locateCluster({ env: { HOME: "/home/alice" }, exists: files() });
    expect(l.kind).toBe("none");
    expect(describeLocation(l)).toMatch(/^no cluster: no kubeconfig/);
  });

  it("prefers the configured kubeconfig, then in-cluster, then KUBECONFIG, then ~/.kube/config", () => {
    const all = files("/etc/kc", "/tok", "/env/kc", "/home/alice/.kube/config");
    const env = { HOME: "/home/alice", KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBECONFIG: "/env/kc" };
    expect(locateCluster({ kubeconfig: "/etc/kc", env, exists: all, tokenPath: "/tok" })).toEqual({
      kind: "kubeconfig",
      path: "/etc/kc",
      from: "config",
    });
    expect(locateCluster({ env, exists: all, tokenPath: "/tok" })).toEqual({ kind: "in-cluster" });
    expect(
      locateCluster({ env: { ...env, KUBERNETES_SERVICE_HOST: undefined }, exists: all, tokenPath: "/tok" }),
    ).toEqual({
      kind: "kubeconfig",
      path: "/env/kc",
      from: "KUBECONFIG",
    });
    expect(locateCluster({ env: { HOME: "/home/alice" }, exists: all })).toMatchObject({ from: "home" });
  });

  it("needs the service account token, not only the service host variable, to be in a cluster", () => {
    expect(locateCluster({ env: { KUBERNETES_SERVICE_HOST: "10.0.0.1" }, exists: files() }).kind).toBe(
      "none",
    );
  });

  it("says what to do when a named kubeconfig is missing", () => {
    expect(() => locateCluster({ kubeconfig: "/nope", env: {}, exists: files() })).toThrow(
      /does not exist: fix the path/,
    );
    expect(() => locateCluster({ env: { KUBECONFIG: "/gone" }, exists: files() })).toThrow(
      /KUBECONFIG names \/gone/,
    );
  });
});
