// vitest globalSetup for the e2e project: starts etcd + kube-apiserver and two registries (one
// with htpasswd auth) once for the whole run, provides their coordinates to the tests through
// inject("e2e") (see test/harness/e2e.ts), and stops everything in teardown, pass or fail.
import type { TestProject } from "vitest/node";
import type { E2eContext } from "../harness/e2e.js";
import { type KubeEnv, startKube } from "../harness/kube.js";
import { stopAll } from "../harness/process.js";
import { type RegistryServer, startRegistry } from "../harness/registry.js";
import { loadTools } from "../harness/tools.js";

/** Starts the shared environment; returns the teardown vitest calls after the last test file. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const tools = await loadTools();
  let kube: KubeEnv | undefined;
  let registry: RegistryServer | undefined;
  let authRegistry: RegistryServer | undefined;
  const teardown = () => stopAll([kube?.stop, registry?.stop, authRegistry?.stop]);
  // Independent: start them side by side (the API server takes a few seconds to get ready).
  // allSettled, not all: on a failure the others must finish starting so that they can be stopped.
  const [k, r, a] = await Promise.allSettled([
    startKube({ tools }),
    startRegistry({ tools }),
    startRegistry({ tools, auth: true }),
  ]);
  if (k.status === "fulfilled") kube = k.value;
  if (r.status === "fulfilled") registry = r.value;
  if (a.status === "fulfilled") authRegistry = a.value;
  if (!kube || !registry || !authRegistry) {
    await teardown().catch(() => {});
    const failed = [k, r, a].find((p) => p.status === "rejected") as PromiseRejectedResult;
    throw failed.reason;
  }
  const context: E2eContext = {
    kubeconfigPath: kube.kubeconfigPath,
    kubeServer: kube.server,
    kubeToken: kube.token,
    kubeCaPem: kube.caPem,
    registryUrl: registry.url,
    registryHost: registry.host,
    authRegistryUrl: authRegistry.url,
    authRegistryHost: authRegistry.host,
    authRegistryCredentials: authRegistry.credentials!,
    tools,
  };
  project.provide("e2e", context);
  console.log(
    `[e2e] kube-apiserver ${tools.kubeVersion} at ${kube.server}, registries at ${registry.url} and ${authRegistry.url} (auth), ready in ${Date.now() - started} ms`,
  );
  return teardown;
}
