// Generators for the benchmarks: N Kubernetes objects as YAML files, N tiny charts, N image tags
// in a registry, and a git repo with F files and C commits. All output is deterministic for the
// same arguments (apart from registry timestamps), so runs can be compared with each other.
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { pushImage, type RegistryRef } from "../../test/harness/registry.js";

/** A plain Kubernetes object as written to YAML. */
export interface GeneratedObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** What generateObjects wrote. */
export interface GeneratedObjects {
  /** The namespaces the objects live in (also written to `<dir>/namespaces.yaml`). */
  namespaces: string[];
  /** One file per object, `<dir>/<namespace>/<kind>-<name>.yaml`, in apply order. */
  files: string[];
  /** Count per kind (Namespace objects not included). */
  counts: Record<string, number>;
}

/** Small deterministic PRNG (mulberry32), so "random" sizes are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function appObjects(ns: string, app: string, rand: () => number): GeneratedObject[] {
  const labels = { "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "bench" };
  const port = 8000 + Math.floor(rand() * 1000);
  const config: Record<string, string> = {};
  const keys = 3 + Math.floor(rand() * 10);
  for (let k = 0; k < keys; k++)
    config[`KEY_${k}`] = `value-${app}-${k}-${Math.floor(rand() * 1e9).toString(36)}`;
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: app, namespace: ns, labels } },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `${app}-config`, namespace: ns, labels },
      data: config,
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: {
        name: app,
        namespace: ns,
        labels,
        annotations: { "fluxcd.io/automated": "true", "fluxcd.io/tag.app": "semver:~1.0" },
      },
      spec: {
        replicas: 1 + Math.floor(rand() * 3),
        selector: { matchLabels: { "app.kubernetes.io/name": app } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: app,
            containers: [
              {
                name: "app",
                image: `registry.example.com/bench/${app}:1.0.${Math.floor(rand() * 50)}`,
                ports: [{ name: "http", containerPort: port }],
                envFrom: [{ configMapRef: { name: `${app}-config` } }],
                resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                readinessProbe: { httpGet: { path: "/healthz", port: "http" } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: app, namespace: ns, labels },
      spec: {
        selector: { "app.kubernetes.io/name": app },
        ports: [{ name: "http", port: 80, targetPort: "http" }],
      },
    },
  ];
}

/**
 * Writes exactly `n` objects (Deployments, Services, ConfigMaps and ServiceAccounts, four per
 * "app", round-robin over `namespaces` namespaces) as one YAML file each under `dir`, plus
 * `<dir>/namespaces.yaml` with the Namespace objects (apply that first).
 */
export async function generateObjects(
  dir: string,
  n: number,
  opts: { namespaces?: number; prefix?: string; seed?: number } = {},
): Promise<GeneratedObjects> {
  const nsCount = opts.namespaces ?? 10;
  const prefix = opts.prefix ?? "bench";
  const rand = rng(opts.seed ?? 42);
  const namespaces = Array.from({ length: nsCount }, (_, i) => `${prefix}-ns-${String(i).padStart(2, "0")}`);
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, "namespaces.yaml"),
    namespaces
      .map((name) => stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } }))
      .join("---\n"),
  );
  for (const ns of namespaces) await mkdir(join(dir, ns), { recursive: true });
  const files: string[] = [];
  const counts: Record<string, number> = {};
  for (let app = 0; files.length < n; app++) {
    const ns = namespaces[app % nsCount]!;
    for (const obj of appObjects(ns, `app-${String(app).padStart(5, "0")}`, rand)) {
      if (files.length >= n) break;
      const file = join(dir, ns, `${obj.kind.toLowerCase()}-${obj.metadata.name}.yaml`);
      await writeFile(file, stringify(obj));
      files.push(file);
      counts[obj.kind] = (counts[obj.kind] ?? 0) + 1;
    }
  }
  return { namespaces, files, counts };
}

/**
 * Writes `n` tiny charts `<dir>/chart-<i>` (Chart.yaml, values.yaml, a ConfigMap and a Service
 * template; no hooks, so they install without a controller manager) and returns their dirs.
 */
export async function generateCharts(
  dir: string,
  n: number,
  opts: { version?: string } = {},
): Promise<string[]> {
  const version = opts.version ?? "0.1.0";
  const dirs: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `chart-${String(i).padStart(4, "0")}`;
    const chart = join(dir, name);
    await mkdir(join(chart, "templates"), { recursive: true });
    await writeFile(
      join(chart, "Chart.yaml"),
      stringify({ apiVersion: "v2", name, version, appVersion: "1.0.0", description: "benchmark chart" }),
    );
    await writeFile(
      join(chart, "values.yaml"),
      stringify({ message: `hello from ${name}`, port: 80, replicas: 1 }),
    );
    await writeFile(
      join(chart, "templates", "configmap.yaml"),
      [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: {{ .Release.Name }}-config",
        "data:",
        "  message: {{ .Values.message | quote }}",
        "  replicas: {{ .Values.replicas | quote }}",
        "",
      ].join("\n"),
    );
    await writeFile(
      join(chart, "templates", "service.yaml"),
      [
        "apiVersion: v1",
        "kind: Service",
        "metadata:",
        "  name: {{ .Release.Name }}",
        "spec:",
        "  selector:",
        "    app.kubernetes.io/instance: {{ .Release.Name }}",
        "  ports:",
        "    - port: {{ .Values.port }}",
        "",
      ].join("\n"),
    );
    dirs.push(chart);
  }
  return dirs;
}

/** The i-th benchmark tag: mostly semver (some pre-releases), every 10th a Flux-style `main-<sha>-<ts>`. */
export function benchTag(i: number): string {
  if (i % 10 === 9) return `main-${(0x1000000 + i * 7919).toString(16).slice(-7)}-${1_700_000_000 + i}`;
  if (i % 10 === 5) return `1.${Math.floor(i / 100)}.${i % 100}-rc.1`;
  return `1.${Math.floor(i / 100)}.${i % 100}`;
}

/**
 * Pushes `n` tags of `repo` (see benchTag) with `concurrency` uploads in flight. The layer is
 * shared, so each tag costs one config blob and one manifest. `created` grows with i, so
 * "latest by build time" is the last tag. Returns the tags in push order.
 */
export async function pushTags(
  reg: RegistryRef,
  repo: string,
  n: number,
  opts: { concurrency?: number; startAt?: Date } = {},
): Promise<string[]> {
  const tags = Array.from({ length: n }, (_, i) => benchTag(i));
  const start = (opts.startAt ?? new Date("2025-01-01T00:00:00Z")).getTime();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await pushImage(reg, repo, tags[i]!, {
        created: new Date(start + i * 60_000),
        layerContent: "shared benchmark layer\n",
        labels: { "org.opencontainers.image.version": tags[i]! },
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, n) }, worker));
  return tags;
}

/** What generateGitRepo made. */
export interface GeneratedRepo {
  /** The repository (bare when `bare`, else a checked-out work tree). */
  path: string;
  /** Commit id of main's tip. */
  head: string;
  /** Paths of the files in the tree (relative to the repo root). */
  files: string[];
}

function run(
  cmd: string,
  args: string[],
  cwd: string,
  input?: NodeJS.ReadableStream | string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err.slice(-2000)}`)),
    );
    if (typeof input === "string") child.stdin.end(input);
    else if (input) input.pipe(child.stdin);
    else child.stdin.end();
  });
}

/**
 * Creates a git repo at `dir` with `files` YAML files (the tutorial layout: releases/<env>/<app>.yaml)
 * and `commits` commits on main: the first adds every file, each later one bumps the image tag in
 * one file, with gitops-bot style subjects and trailers. Built with `git fast-import` in one pass
 * (2000 commits take well under a second), then checked out unless `bare`.
 */
export async function generateGitRepo(
  dir: string,
  opts: { files: number; commits: number; bare?: boolean; branch?: string },
): Promise<GeneratedRepo> {
  const branch = opts.branch ?? "main";
  const envs = ["dev", "stg", "prod"];
  const paths = Array.from(
    { length: opts.files },
    (_, i) => `releases/${envs[i % envs.length]}/app-${String(i).padStart(5, "0")}.yaml`,
  );
  const content = (i: number, version: number) =>
    stringify({
      apiVersion: "helm.fluxcd.io/v1",
      kind: "HelmRelease",
      metadata: {
        name: `app-${i}`,
        namespace: envs[i % envs.length],
        annotations: { "fluxcd.io/automated": "true" },
      },
      spec: {
        releaseName: `app-${i}`,
        chart: { git: "https://git.example.com/charts.git", path: `charts/app-${i}`, ref: "main" },
        values: { image: { repository: `registry.example.com/app-${i}`, tag: `1.0.${version}` } },
      },
    });

  await mkdir(dir, { recursive: true });
  await run(
    "git",
    ["init", "--quiet", ...(opts.bare ? ["--bare"] : []), `--initial-branch=${branch}`, dir],
    dir,
  );

  const chunks: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const t0 = 1_700_000_000;
  const versions = new Array<number>(opts.files).fill(0);
  for (let c = 0; c < Math.max(opts.commits, 1); c++) {
    const when = `${t0 + c * 60} +0000`;
    let msg: string;
    const changes: string[] = [];
    if (c === 0) {
      msg = `Initial import of ${opts.files} releases\n`;
      for (const [i, p] of paths.entries()) changes.push(`M 100644 inline ${p}\n${data(content(i, 0))}`);
    } else {
      const i = (c * 7) % Math.max(opts.files, 1);
      versions[i] = (versions[i] ?? 0) + 1;
      const env = envs[i % envs.length];
      msg =
        `[${env}/app-${i}] release 1.0.${versions[i]}\n\n` +
        `Gitops-Action: release\nGitops-Env: ${env}\nGitops-App: app-${i}\n` +
        `Gitops-To: 1.0.${versions[i]}\nRequested-By: slack:U${1000 + (c % 17)} (bench)\n`;
      if (opts.files > 0) changes.push(`M 100644 inline ${paths[i]}\n${data(content(i, versions[i]!))}`);
    }
    chunks.push(
      `commit refs/heads/${branch}\nmark :${c + 1}\n` +
        `author Bench User <bench@example.com> ${when}\ncommitter gitops-bot <bot@example.com> ${when}\n` +
        data(msg) +
        (c > 0 ? `from :${c}\n` : "") +
        changes.join("") +
        "\n",
    );
  }
  chunks.push("done\n");
  await run("git", ["fast-import", "--quiet", "--done"], dir, chunks.join(""));
  if (!opts.bare) await run("git", ["reset", "--quiet", "--hard", branch], dir);
  const head = (await run("git", ["rev-parse", branch], dir)).trim();
  return { path: dir, head, files: paths };
}
