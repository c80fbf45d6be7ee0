import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

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

/** The two binaries a registry needs (a subset of E2eTools). */
export type RegistryTools = Pick<E2eTools, "registry" | "htpasswd">;

function onPath(name: string): string | null {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"];
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/**
 * docker-registry and htpasswd, from env.json when `npm run e2e:tools` has run, else from PATH:
 * the integration suite needs a registry but not the Go-built tools. Throws with the apt-get
 * command when they are missing.
 */
export async function loadRegistryTools(): Promise<RegistryTools> {
  try {
    const raw = JSON.parse(await readFile(join(toolsDir(), "env.json"), "utf8")) as Partial<E2eTools>;
    if (raw.registry && raw.htpasswd && existsSync(raw.registry) && existsSync(raw.htpasswd)) {
      return { registry: raw.registry, htpasswd: raw.htpasswd };
    }
  } catch {
    // no env.json: fall back to PATH
  }
  const registry = onPath("docker-registry");
  const htpasswd = onPath("htpasswd");
  if (!registry || !htpasswd) {
    throw new Error(
      "docker-registry/htpasswd not found: run `apt-get install -y docker-registry apache2-utils` or `npm run e2e:tools`",
    );
  }
  return { registry, htpasswd };
}
