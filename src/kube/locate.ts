/**
 * Where the cluster is, decided before anything talks to it (issue #11): an explicit kubeconfig,
 * the in-cluster service account, `KUBECONFIG`, or `~/.kube/config` — in that order, as
 * `loadKubeConfig` reads them. When none exists there is no cluster: the cluster reconcilers are
 * off and state stays in files, instead of `@kubernetes/client-node`'s default of
 * `http://localhost:8080` and a Lease retried every two seconds forever.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

export const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** Where the cluster connection comes from, or why there is none. */
export type ClusterLocation =
  | { kind: "kubeconfig"; path: string; from: "config" | "KUBECONFIG" | "home" }
  | { kind: "in-cluster" }
  | { kind: "none"; reason: string };

export interface LocateOptions {
  /** `kube.kubeconfig` from the configuration. */
  kubeconfig?: string | undefined;
  env: Record<string, string | undefined>;
  /** For tests: the file-exists check and the service-account token path. */
  exists?: (path: string) => boolean;
  tokenPath?: string;
}

/** Finds the cluster connection without connecting. A configured kubeconfig that is missing is an error. */
export function locateCluster(opts: LocateOptions): ClusterLocation {
  const exists = opts.exists ?? existsSync;
  const env = opts.env;
  if (opts.kubeconfig) {
    if (!exists(opts.kubeconfig)) {
      throw new Error(
        `kube.kubeconfig ${opts.kubeconfig} does not exist: fix the path, or remove it to run without a cluster`,
      );
    }
    return { kind: "kubeconfig", path: opts.kubeconfig, from: "config" };
  }
  if (env.KUBERNETES_SERVICE_HOST && exists(opts.tokenPath ?? SERVICE_ACCOUNT_TOKEN))
    return { kind: "in-cluster" };
  const fromEnv = env.KUBECONFIG?.split(":").find((p) => p.length > 0);
  if (fromEnv) {
    if (!exists(fromEnv)) throw new Error(`KUBECONFIG names ${fromEnv}, which does not exist`);
    return { kind: "kubeconfig", path: fromEnv, from: "KUBECONFIG" };
  }
  const home = env.HOME ?? env.USERPROFILE;
  const dflt = home ? join(home, ".kube", "config") : undefined;
  if (dflt && exists(dflt)) return { kind: "kubeconfig", path: dflt, from: "home" };
  return {
    kind: "none",
    reason: "no kubeconfig (kube.kubeconfig, KUBECONFIG, ~/.kube/config) and not running in a cluster",
  };
}

/** One line for logs and `check`: where the cluster comes from. */
export function describeLocation(l: ClusterLocation): string {
  switch (l.kind) {
    case "kubeconfig":
      return `kubeconfig ${l.path}${l.from === "config" ? "" : ` (from ${l.from === "home" ? "~/.kube/config" : "KUBECONFIG"})`}`;
    case "in-cluster":
      return "in-cluster service account";
    case "none":
      return `no cluster: ${l.reason}`;
  }
}
