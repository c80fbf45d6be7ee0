/**
 * Generates the chart's `values.schema.json` and the values table of its README:
 *
 *   npm run chart:schema              rewrite charts/gitops-bot/values.schema.json and README.md
 *   npm run chart:schema -- --check   exit 1 when either is stale (the unit test does the same)
 *
 * `config` is the bot's own configuration schema (src/config/schema.ts through zod 4's JSON Schema,
 * input side, so defaults are optional), with one relaxation: a number or boolean may also be a
 * `${ENV_VAR}` string, because the bot interpolates before it validates. Everything else is the
 * chart's own values, described below (the table in the README is rendered from these
 * descriptions). Helm validates values against the file on install, upgrade, lint and template,
 * so `--set replicaCount=two` or a typo under `config` fails before anything reaches the cluster.
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";
import { configSchema } from "../src/config/schema.js";

type Schema = Record<string, unknown>;

export const CHART_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "charts", "gitops-bot");

const str = (description: string, extra: Schema = {}): Schema => ({ type: "string", description, ...extra });
const bool = (description: string): Schema => ({ type: "boolean", description });
const int = (description: string, minimum = 0): Schema => ({ type: "integer", minimum, description });
const obj = (description: string): Schema => ({ type: "object", description });
const list = (description: string, items: Schema = { type: "object" }): Schema => ({
  type: "array",
  items,
  description,
});
const labels = (description: string): Schema => ({
  type: "object",
  additionalProperties: { type: "string" },
  description,
});
const probe = (description: string): Schema => ({ type: ["object", "null"], description });
/** An object whose keys are all listed (a typo is an error). */
const strict = (description: string, properties: Record<string, Schema>, required?: string[]): Schema => ({
  type: "object",
  description,
  additionalProperties: false,
  properties,
  ...(required && { required }),
});
const intOrPercent = (description: string): Schema => ({
  description,
  anyOf: [
    { type: "integer", minimum: 0 },
    { type: "string", pattern: "^(\\d+%?)?$" },
  ],
});

/** The chart's own values (all but `config`). Keep in the order of values.yaml. */
function chartValues(config: Schema): Record<string, Schema> {
  return {
    global: obj("Helm's global values (when the chart is a dependency)."),
    image: strict("Image of gitops-bot, built from the repo's Dockerfile.", {
      repository: str("Registry and repository.", { minLength: 1 }),
      tag: str("Tag; defaults to the chart's appVersion."),
      digest: str("Digest (`sha256:…`); wins over the tag.", { pattern: "^(sha256:[a-f0-9]{64})?$" }),
      pullPolicy: str("Image pull policy.", { enum: ["Always", "IfNotPresent", "Never"] }),
    }),
    imagePullSecrets: list("Secrets to pull the image with (`[{name: regcred}]`).", {
      type: "object",
      required: ["name"],
      properties: { name: { type: "string" } },
    }),
    replicaCount: int(
      "Replicas. Reconcilers and reports run on the Lease-elected leader; every replica serves chat.",
    ),
    nameOverride: str("Overrides the chart name in object names."),
    fullnameOverride: str("Name of every object of the release (default `<release>-gitops-bot`)."),
    config,
    existingSecret: str(
      "Existing Secret whose keys become environment variables, referenced as `${VAR}` in `config`.",
    ),
    secretEnv: str("Deprecated alias of `existingSecret`."),
    extraEnv: list("Extra environment variables (`[{name, value}]` or `[{name, valueFrom}]`).", {
      type: "object",
      required: ["name"],
    }),
    extraEnvFrom: list("Extra `envFrom` sources."),
    extraVolumes: list("Extra volumes of the pod."),
    extraVolumeMounts: list("Extra volume mounts of the container."),
    podAnnotations: labels("Annotations of the pod."),
    podLabels: labels("Extra labels of the pod."),
    rbac: strict("RBAC (docs/adr/0007-chart-rbac.md, docs/adr/0016-chart-least-privilege.md).", {
      create: bool("Create the Roles/ClusterRoles and bindings."),
      clusterAdmin: bool("The sync reconciler may apply and prune anything (default)."),
      rules: list("RBAC rules for what the config repo holds, when `clusterAdmin` is false."),
      namespaced: bool("No cluster-wide objects: grant the rights by a Role in each of `rbac.namespaces`."),
      namespaces: list("Namespaces of namespaced mode (default: the release namespace).", {
        type: "string",
        minLength: 1,
      }),
      helm: strict("What the HelmRelease reconciler needs beyond `rules` (when not `clusterAdmin`).", {
        enabled: bool("Grant Secrets (helm's release storage) and HelmRelease status access."),
        namespaces: list("Namespaces HelmReleases install into (empty: cluster-wide).", {
          type: "string",
          minLength: 1,
        }),
      }),
    }),
    serviceAccount: strict("The ServiceAccount.", {
      create: bool("Create the ServiceAccount."),
      name: str("Its name (default: the full name)."),
      annotations: labels("Annotations (e.g. for workload identity)."),
    }),
    service: strict("The Service in front of the HTTP server.", {
      type: str("Service type.", { enum: ["ClusterIP", "NodePort", "LoadBalancer"] }),
      port: { type: "integer", minimum: 1, maximum: 65535, description: "Service port." },
      annotations: labels("Annotations of the Service."),
    }),
    ingress: strict("Ingress for `/slack/events`, `/api/messages` and `/hooks/git` only.", {
      enabled: bool("Create the Ingress."),
      className: str("Ingress class."),
      annotations: labels("Annotations (e.g. `cert-manager.io/cluster-issuer`)."),
      host: str("Host name."),
      tls: list("TLS blocks (`[{secretName, hosts}]`)."),
    }),
    resources: obj("Container resources (docs/operations.md, Sizing)."),
    podSecurityContext: obj("Pod security context (non-root, seccomp RuntimeDefault)."),
    securityContext: obj("Container security context (read-only root filesystem, no capabilities)."),
    workDirSizeLimit: {
      type: ["string", "integer"],
      description: 'Size limit of the emptyDir with the working clone and helm\'s caches (`""`: none).',
    },
    startupProbe: probe("Startup probe: covers the first clone before liveness counts (null: none)."),
    livenessProbe: probe("Liveness probe (null: none)."),
    readinessProbe: probe("Readiness probe (null: none)."),
    terminationGracePeriodSeconds: int("Seconds Kubernetes waits after SIGTERM."),
    strategy: obj("Deployment strategy."),
    priorityClassName: str("Priority class of the pod."),
    nodeSelector: labels("Node selector."),
    tolerations: list("Tolerations."),
    affinity: obj("Affinity."),
    topologySpreadConstraints: list("Topology spread constraints."),
    serviceMonitor: strict("Prometheus Operator ServiceMonitor for `/metrics`.", {
      enabled: bool("Create the ServiceMonitor (needs the monitoring.coreos.com CRDs)."),
      interval: str("Scrape interval."),
      scrapeTimeout: str("Scrape timeout."),
      labels: labels("Extra labels (e.g. the `release` label your Prometheus selects)."),
      metricRelabelings: list("Metric relabelings."),
    }),
    podDisruptionBudget: strict("PodDisruptionBudget (useful with two or more replicas).", {
      enabled: bool("Create the PodDisruptionBudget."),
      minAvailable: intOrPercent("Pods that must stay up."),
      maxUnavailable: intOrPercent("Pods that may be down (wins over minAvailable)."),
    }),
    crds: strict("Optional CRDs.", {
      helmRelease: strict("The `helm.fluxcd.io/v1` HelmRelease CRD.", {
        install: bool("Install it (kept on uninstall), so `kubectl get hr` works."),
      }),
    }),
  };
}

const ENV_REF = { type: "string", pattern: "\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}" };

/** Lets every number/integer/boolean leaf also be a `${ENV_VAR}` string (interpolated before validation). */
function allowEnvRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowEnvRefs);
  if (!node || typeof node !== "object") return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === "enum" || k === "const" || k === "default" ? v : allowEnvRefs(v);
  }
  const t = out["type"];
  if (t === "number" || t === "integer" || t === "boolean") {
    const { description, default: def, ...rest } = out;
    return {
      ...(description !== undefined && { description }),
      ...(def !== undefined && { default: def }),
      anyOf: [rest, ENV_REF],
    };
  }
  return out;
}

/** The whole values schema (pure, for the drift test). */
export function renderValuesSchema(schema: z.ZodType = configSchema): string {
  const json = z.toJSONSchema(schema, {
    target: "draft-7",
    io: "input",
    unrepresentable: "any",
    reused: "inline",
  }) as Schema;
  const { $schema: _s, definitions, ...config } = json;
  const values = {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "gitops-bot chart values",
    description: "Generated by `npm run chart:schema` from src/config/schema.ts and scripts/chart-schema.ts.",
    type: "object",
    additionalProperties: false,
    properties: chartValues({
      ...(allowEnvRefs(config) as Schema),
      description: "The gitops-bot configuration (docs/configuration.md), mounted as gitops-bot.yaml.",
    }),
    ...(definitions !== undefined && { definitions: allowEnvRefs(definitions) }),
  };
  return `${JSON.stringify(values, null, 2)}\n`;
}

const TABLE_START = "<!-- values:start (generated by `npm run chart:schema`) -->";
const TABLE_END = "<!-- values:end -->";

/** A default from values.yaml for the table: compact JSON, long ones shortened. */
function defaultOf(values: unknown, path: string): string {
  let cur: unknown = values;
  for (const k of path.split("."))
    cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[k] : undefined;
  if (cur === undefined) return "";
  if (path === "config") return "see values.yaml";
  const text = JSON.stringify(cur);
  return `\`${text.length > 60 ? `${text.slice(0, 57)}…` : text}\``.replaceAll("|", "\\|");
}

/** The README's values table: every chart value but `config` (its reference is docs/configuration.md). */
export function renderValuesTable(schemaText: string, valuesText: string): string {
  const root = JSON.parse(schemaText) as { properties: Record<string, Schema> };
  const values = parse(valuesText) as unknown;
  const rows: string[] = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"];
  const walk = (prefix: string, node: Schema) => {
    const props = node["properties"] as Record<string, Schema> | undefined;
    if (props && prefix !== "config") {
      for (const [k, v] of Object.entries(props)) walk(prefix ? `${prefix}.${k}` : k, v);
      return;
    }
    const type = node["type"] ?? (node["anyOf"] ? "integer \\| string" : "");
    const desc = String(node["description"] ?? "").replaceAll("|", "\\|");
    const types = Array.isArray(type) ? type.join(" \\| ") : type;
    rows.push(`| \`${prefix}\` | ${types} | ${defaultOf(values, prefix)} | ${desc} |`);
  };
  walk("", root as unknown as Schema);
  return `${TABLE_START}\n${rows.join("\n")}\n${TABLE_END}`;
}

/** `readme` with its values table replaced (the markers must be there). */
export function withValuesTable(readme: string, schemaText: string, valuesText: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start)
    throw new Error(`charts/gitops-bot/README.md lacks the ${TABLE_START} markers`);
  return `${readme.slice(0, start)}${renderValuesTable(schemaText, valuesText)}${readme.slice(end + TABLE_END.length)}`;
}

async function main(argv: string[]): Promise<number> {
  const schemaPath = join(CHART_DIR, "values.schema.json");
  const readmePath = join(CHART_DIR, "README.md");
  const schema = renderValuesSchema();
  const readme = await readFile(readmePath, "utf8");
  const newReadme = withValuesTable(readme, schema, await readFile(join(CHART_DIR, "values.yaml"), "utf8"));
  const current = await readFile(schemaPath, "utf8").catch(() => "");
  if (argv.includes("--check")) {
    const stale = [current !== schema && schemaPath, readme !== newReadme && readmePath].filter(Boolean);
    if (stale.length > 0) {
      process.stderr.write(`${stale.join(", ")}: out of date; run \`npm run chart:schema\`\n`);
      return 1;
    }
    return 0;
  }
  await writeFile(schemaPath, schema);
  await writeFile(readmePath, newReadme);
  process.stdout.write(`wrote ${schemaPath} and the values table of ${readmePath}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
