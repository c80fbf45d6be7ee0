/**
 * Reading one workload document of the config repo into a `Workload`: metadata, the HelmRelease
 * chart, the images with the YAML paths setters change, and the Flux policies. Used by
 * `discovery.ts` for each workload document; pure.
 */
import { posix } from "node:path";
import type { ChartSource, ContainerImage, ImageLocation, Workload, WorkloadKind } from "../core/release.js";
import { parseImageRef, repositoryOf } from "./image-ref.js";
import { readPolicies } from "./policies.js";

/** A YAML mapping as plain JS. */
export type Obj = Record<string, unknown>;

/** True for a plain mapping (not null, not an array). */
export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
}

/** Reads one workload document (`kind` already known to be a workload kind): metadata, chart,
 * images with their YAML paths and policies. Reports what it cannot read through `problem` and
 * returns undefined when the document is not usable at all. */
export function readWorkload(
  js: Obj,
  file: string,
  docIndex: number,
  problem: (p: { message: string; hint?: string }) => void,
): Workload | undefined {
  const kind = js.kind as WorkloadKind;
  const apiVersion = str(js.apiVersion) ?? "";
  const meta = isObj(js.metadata) ? js.metadata : {};
  const name = str(meta.name);
  if (!name) {
    problem({ message: `document ${docIndex}: ${kind} without metadata.name` });
    return undefined;
  }
  const spec = isObj(js.spec) ? js.spec : {};
  const annotations = isObj(meta.annotations) ? meta.annotations : {};
  const pol = readPolicies(annotations);
  for (const p of pol.problems) problem(p);
  let images: ContainerImage[] = [];
  let chart: ChartSource | undefined;
  let releaseName: string | undefined;
  let namespace = str(meta.namespace);
  if (kind === "HelmRelease") {
    if (!apiVersion.startsWith("helm.fluxcd.io/") && !apiVersion.startsWith("helm.toolkit.fluxcd.io/")) {
      return undefined;
    }
    releaseName = str(spec.releaseName);
    chart = readChart(apiVersion, spec);
    namespace ??= str(spec.targetNamespace);
    images = helmImages(spec, annotations, problem);
  } else {
    const podSpecPath =
      kind === "CronJob" ? ["spec", "jobTemplate", "spec", "template", "spec"] : ["spec", "template", "spec"];
    let pod: unknown = js;
    for (const k of podSpecPath) pod = isObj(pod) ? pod[k] : undefined;
    if (isObj(pod)) images = podImages(pod, podSpecPath, problem);
  }
  for (const img of images) {
    const f = pol.filters.get(img.container);
    if (f) img.filter = f;
    const bad = pol.invalidFilters.get(img.container);
    if (!f && bad) img.filterError = bad;
  }
  const w: Workload = {
    kind,
    apiVersion,
    name,
    namespace: namespace ?? "default",
    file,
    docIndex,
    images,
    policies: pol.policies,
  };
  if (releaseName !== undefined) w.releaseName = releaseName;
  if (chart) w.chart = chart;
  return w;
}

function readChart(apiVersion: string, spec: Obj): ChartSource | undefined {
  const c = spec.chart;
  if (apiVersion.startsWith("helm.fluxcd.io/")) {
    if (!isObj(c)) return undefined;
    if (str(c.git) !== undefined || str(c.path) !== undefined) {
      const out: ChartSource = { type: "git" };
      const path = str(c.path);
      if (path) out.name = posix.basename(path.replace(/\/+$/, ""));
      const git = str(c.git);
      if (git) out.git = git;
      if (path) out.path = path;
      const ref = str(c.ref);
      if (ref) out.ref = ref;
      return out;
    }
    const out: ChartSource = { type: "helm-repo" };
    const name = str(c.name);
    if (name) out.name = name;
    const version = str(c.version);
    if (version) out.version = version;
    const repository = str(c.repository);
    if (repository) out.repository = repository;
    return out;
  }
  // Flux v2: spec.chart.spec.{chart, version, sourceRef}, or spec.chartRef.
  const cs = isObj(c) && isObj(c.spec) ? c.spec : undefined;
  if (cs) {
    const out: ChartSource = { type: "source-ref" };
    const chart = str(cs.chart);
    if (chart) out.name = posix.basename(chart.replace(/\/+$/, ""));
    if (chart?.includes("/")) out.path = chart;
    const version = str(cs.version);
    if (version) out.version = version;
    const src = isObj(cs.sourceRef) ? cs.sourceRef : undefined;
    if (src) out.repository = `${str(src.kind) ?? "?"}/${str(src.name) ?? "?"}`;
    return out;
  }
  const ref = isObj(spec.chartRef) ? spec.chartRef : undefined;
  if (ref) {
    const out: ChartSource = { type: "source-ref" };
    const name = str(ref.name);
    if (name) out.name = name;
    out.repository = `${str(ref.kind) ?? "?"}/${name ?? "?"}`;
    return out;
  }
  return undefined;
}

function podImages(
  pod: Obj,
  base: string[],
  problem: (p: { message: string; hint?: string }) => void,
): ContainerImage[] {
  const out: ContainerImage[] = [];
  for (const field of ["initContainers", "containers"] as const) {
    const list = pod[field];
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      if (!isObj(c)) return;
      const name = str(c.name) ?? `${field}[${i}]`;
      const image = str(c.image);
      if (image === undefined) return;
      const ref = parseImageRef(image);
      if (!ref) {
        problem({ message: `container ${name}: "${image}" is not an image reference` });
        return;
      }
      out.push({
        container: name,
        repository: repositoryOf(ref),
        tag: ref.tag ?? "latest",
        location: { tagPath: [...base, field, i, "image"] },
      });
    });
  }
  return out;
}

const ALIAS = /^(repository|tag|registry)\.(?:fluxcd\.io|flux\.weave\.works)\/(.+)$/;

function helmImages(
  spec: Obj,
  annotations: Obj,
  problem: (p: { message: string; hint?: string }) => void,
): ContainerImage[] {
  const values = isObj(spec.values) ? spec.values : undefined;
  const base = ["spec", "values"];
  const aliases = new Map<string, { repository?: string; tag?: string; registry?: string }>();
  for (const [k, v] of Object.entries(annotations)) {
    const m = ALIAS.exec(k);
    if (!m?.[1] || !m[2]) continue;
    if (typeof v !== "string" || v === "") {
      problem({ message: `${k} must be a dot-path under spec.values` });
      continue;
    }
    const a = aliases.get(m[2]) ?? {};
    a[m[1] as "repository" | "tag" | "registry"] = v;
    aliases.set(m[2], a);
  }
  const out: ContainerImage[] = [];
  if (aliases.size > 0) {
    for (const [alias, a] of aliases) {
      if (!a.repository) {
        problem({ message: `image alias ${alias} has no repository.fluxcd.io/${alias} annotation` });
        continue;
      }
      const split = (p: string) => [...base, ...p.split(".")];
      const get = (path: string[]) => {
        let cur: unknown = spec;
        for (const k of path.slice(1)) cur = isObj(cur) ? cur[k] : undefined;
        return str(cur);
      };
      const repoPath = split(a.repository);
      const repoVal = get(repoPath);
      if (repoVal === undefined) {
        problem({ message: `image alias ${alias}: no value at spec.values.${a.repository}` });
        continue;
      }
      const registryPath = a.registry ? split(a.registry) : undefined;
      const registry = registryPath ? get(registryPath) : undefined;
      const withRegistry = (r: string) => (registry ? `${registry.replace(/\/+$/, "")}/${r}` : r);
      if (a.tag) {
        const tagPath = split(a.tag);
        const tag = get(tagPath);
        if (tag === undefined) {
          problem({ message: `image alias ${alias}: no value at spec.values.${a.tag}` });
          continue;
        }
        const loc: ImageLocation = { tagPath, repositoryPath: repoPath };
        if (registryPath) loc.registryPath = registryPath;
        out.push({ container: alias, repository: withRegistry(repoVal), tag, location: loc });
      } else {
        const ref = parseImageRef(repoVal);
        if (!ref) {
          problem({ message: `image alias ${alias}: "${repoVal}" is not an image reference` });
          continue;
        }
        const loc: ImageLocation = { tagPath: repoPath };
        if (registryPath) loc.registryPath = registryPath;
        out.push({
          container: alias,
          repository: withRegistry(repositoryOf(ref)),
          tag: ref.tag ?? "latest",
          location: loc,
        });
      }
    }
    return out;
  }
  if (!values) return out;
  const top = interpretImage(values, base, "chart-image");
  if (top) out.push(top);
  for (const [k, v] of Object.entries(values)) {
    if (!isObj(v) || k === "image") continue;
    const sub = interpretImage(v, [...base, k], k, true);
    if (sub) out.push(sub);
  }
  return out;
}

/** The helm-operator value layouts: `image: repo:tag`, `image` + `tag`, `image.{repository,tag,registry}`. */
function interpretImage(
  m: Obj,
  base: (string | number)[],
  container: string,
  strict = false,
): ContainerImage | undefined {
  const image = m.image;
  if (typeof image === "string") {
    const tag = str(m.tag);
    const registry = str(m.registry);
    const withRegistry = (r: string) => (registry ? `${registry.replace(/\/+$/, "")}/${r}` : r);
    if (tag !== undefined) {
      if (!parseImageRef(image)) return undefined;
      const loc: ImageLocation = { tagPath: [...base, "tag"], repositoryPath: [...base, "image"] };
      if (registry) loc.registryPath = [...base, "registry"];
      return { container, repository: withRegistry(image), tag, location: loc };
    }
    const ref = parseImageRef(image);
    // Under a sub-key, `image: logo.png` is more likely a file than an untagged image.
    if (!ref || (strict && ref.tag === undefined && ref.digest === undefined)) return undefined;
    const loc: ImageLocation = { tagPath: [...base, "image"] };
    if (registry) loc.registryPath = [...base, "registry"];
    return {
      container,
      repository: withRegistry(repositoryOf(ref)),
      tag: ref.tag ?? "latest",
      location: loc,
    };
  }
  if (isObj(image)) {
    const repo = str(image.repository);
    if (repo === undefined) return undefined;
    const registry = str(image.registry);
    const withRegistry = (r: string) => (registry ? `${registry.replace(/\/+$/, "")}/${r}` : r);
    const tag = str(image.tag);
    if (tag !== undefined) {
      const loc: ImageLocation = {
        tagPath: [...base, "image", "tag"],
        repositoryPath: [...base, "image", "repository"],
      };
      if (registry) loc.registryPath = [...base, "image", "registry"];
      return { container, repository: withRegistry(repo), tag, location: loc };
    }
    const ref = parseImageRef(repo);
    if (!ref?.tag) return undefined;
    const loc: ImageLocation = { tagPath: [...base, "image", "repository"] };
    if (registry) loc.registryPath = [...base, "image", "registry"];
    return { container, repository: withRegistry(repositoryOf(ref)), tag: ref.tag, location: loc };
  }
  return undefined;
}
