import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/** Paths of the real binaries, as written by `npm run e2e:tools` to env.json. */
export interface E2eTools {
  kubeApiserver: string;
  kubeVersion: string;
  etcd: string;
  etcdVersion: string;
  helm: string;
  helmVersion: string;
  registry: string;
  htpasswd: string;
  git: string;
  /** kubectl from PATH, or null (only benchmarks need it). */
  kubectl: string | null;
}

/** The cache root of `npm run e2e:tools` (GITOPS_BOT_TOOLS_DIR overrides it, as in the script). */
export function toolsDir(): string {
  return process.env.GITOPS_BOT_TOOLS_DIR || join(homedir(), ".cache", "gitops-bot-tools");
}

/** Reads env.json; throws a message that says what to run when the tools are not provisioned. */
export async function loadTools(): Promise<E2eTools> {
  const file = join(toolsDir(), "env.json");
  let raw: string;
  try {
    raw = await readFile(file, "utf8");
  } catch {
    throw new Error(`${file} not found: run \`npm run e2e:tools\` first (see docs/testing.md)`);
  }
  const env = JSON.parse(raw) as Partial<E2eTools>;
  const required = ["kubeApiserver", "etcd", "helm", "registry", "htpasswd", "git"] as const;
  const missing = required.filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new Error(`${file} lacks ${missing.join(", ")}: run \`npm run e2e:tools\` (see docs/testing.md)`);
  }
  return { kubectl: null, ...env } as E2eTools;
}
