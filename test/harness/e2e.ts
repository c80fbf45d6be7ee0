// Helpers for tests in the e2e project: what test/e2e/global-setup.ts started, via vitest's inject().
import { KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";
import { K8sKubeClient } from "../../src/kube/k8s-client.js";
import { createNamespace, kubeConfigFromFile } from "./kube.js";
import type { RegistryCredentials } from "./registry.js";
import type { E2eTools } from "./tools.js";

/** What the e2e global setup provides to every test file (serializable: it crosses to the workers). */
export interface E2eContext {
  /** kubeconfig of the suite's API server (user "admin" in system:masters). */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  kubeServer: string;
  /** The admin bearer token (also inside the kubeconfig). */
  kubeToken: string;
  /** The API server's self-signed CA bundle, PEM. */
  kubeCaPem: string;
  /** Registry without auth: http://127.0.0.1:<port> and 127.0.0.1:<port>. */
  registryUrl: string;
  registryHost: string;
  /** Registry with htpasswd (bcrypt) basic auth. */
  authRegistryUrl: string;
  authRegistryHost: string;
  authRegistryCredentials: RegistryCredentials;
  tools: E2eTools;
}

declare module "vitest" {
  export interface ProvidedContext {
    e2e: E2eContext;
  }
}

/** The shared environment; only callable inside the e2e project (throws elsewhere). */
export function e2eEnv(): E2eContext {
  const env = inject("e2e");
  if (!env) throw new Error("no e2e environment: run this file in the e2e project (`npm run test:e2e`)");
  return env;
}

/** A client-node KubeConfig for the suite's API server. */
export function e2eKubeConfig(): KubeConfig {
  return kubeConfigFromFile(e2eEnv().kubeconfigPath);
}

/**
 * Creates a fresh namespace `<prefix>-<random>` for one test and returns its name. Never delete it
 * and wait: there is no controller manager, so deleted namespaces stay Terminating forever.
 */
export function newNamespace(prefix: string): Promise<string> {
  return createNamespace(e2eEnv().kubeconfigPath, prefix);
}

/**
 * Our `K8sKubeClient` for the suite's API server (or the one of `kubeconfigPath`), optionally
 * through a local TCP proxy on `proxyPort` (outage tests cut it), with a short request timeout so
 * an outage shows within a test's patience.
 */
export function e2eKubeClient(
  opts: { proxyPort?: number; timeoutMs: number; kubeconfigPath?: string } = { timeoutMs: 10_000 },
): K8sKubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfigPath ?? e2eEnv().kubeconfigPath);
  if (opts.proxyPort !== undefined) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("no cluster in the kubeconfig");
    kc.loadFromOptions({
      clusters: [{ ...cluster, server: `https://127.0.0.1:${opts.proxyPort}` }],
      users: kc.getUsers(),
      contexts: kc.getContexts(),
      currentContext: kc.getCurrentContext(),
    });
  }
  return new K8sKubeClient(kc, { timeoutMs: opts.timeoutMs });
}
