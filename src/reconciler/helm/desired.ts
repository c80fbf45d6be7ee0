/**
 * The HelmReleases of one config repo revision (the one the sync applied): read from git with the
 * sync's own loader and paths, so it works with or without a HelmRelease CRD in the cluster.
 * Pure apart from the git reads: no cluster, no helm. Bad input is one entry's problem (`invalid`),
 * never the others'.
 */

import type { ConfigRepo } from "../../gitops/config-repo.js";
import { isConfigRepo, type ResolvedChart } from "../../helm/chart-source.js";
import { labelDigest } from "../../helm/digest.js";
import {
  type ChartSourceSpec,
  type FluxSource,
  HELM_V2_PREFIX,
  type HelmReleaseSpec,
  isHelmRelease,
  parseHelmRelease,
  resolveSourceRef,
} from "../../helm/spec.js";
import type { KubeObject } from "../../kube/client.js";
import { loadManifests, type Manifest, type SyncPath } from "../sync/manifests.js";

/** Annotations that opt an object out of pruning (the sync's, plus Flux's). */
const PRUNE_OPT_OUT = ["gitops-bot.dev/prune", "kustomize.toolkit.fluxcd.io/prune"];

export interface DesiredRelease {
  key: string;
  spec: HelmReleaseSpec;
  source: ChartSourceSpec;
  /** True when the chart is read from our own clone (chart.git names the config repo). */
  fromConfigRepo: boolean;
  /** May be uninstalled when it leaves git (sync pruning on, path prunes, no opt-out annotation). */
  prune: boolean;
  /** Identifies the input for the controller's "stalled until it changes" (spec + chart source;
   * the reconciler adds the chart's content digest for charts of the config repo). */
  fingerprint: string;
  /** A config-repo chart, resolved while loading the revision (its digest is in the fingerprint). */
  chart?: ResolvedChart;
}

/** A HelmRelease present in git that is not reconciled: never uninstalled while it is there. */
export interface KeptRelease {
  key: string;
  file: string;
  apiVersion: string;
  /** invalid: its spec cannot be used (message says why); skipped: ignored, suspended or left to Flux. */
  kind: "invalid" | "skipped";
  message: string;
}

export interface DesiredSet {
  revision: string;
  releases: Map<string, DesiredRelease>;
  kept: Map<string, KeptRelease>;
  /** ConfigMaps and Secrets of the same revision, by `namespace/name` (valuesFrom reads them first). */
  objects: Map<string, KubeObject>;
  /** v2 HelmReleases left to Flux's helm-controller in this revision. */
  leftToFlux: number;
}

export interface DesiredOptions {
  paths: SyncPath[];
  /** The sync's global prune switch. */
  prune: boolean;
  repo: { url: string; aliases?: readonly string[] };
  /** False: v2 HelmReleases are left to Flux (helm.v2 = flux with its CRD present, or never). */
  reconcileV2: boolean;
  /** Why v2 is not reconciled (for the kept entry's message). */
  v2Reason?: string;
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? "default"}/${o.metadata.name}`;

function fluxSources(manifests: Manifest[]): FluxSource[] {
  const out: FluxSource[] = [];
  for (const { object: o } of manifests) {
    if (!o.apiVersion.startsWith("source.toolkit.fluxcd.io/")) continue;
    if (o.kind !== "HelmRepository" && o.kind !== "GitRepository" && o.kind !== "OCIRepository") continue;
    const spec = (o.spec ?? {}) as { url?: unknown; ref?: Record<string, unknown> };
    if (typeof spec.url !== "string") continue;
    const ref = spec.ref?.commit ?? spec.ref?.tag ?? spec.ref?.branch;
    out.push({
      kind: o.kind,
      name: o.metadata.name,
      namespace: o.metadata.namespace ?? "default",
      url: spec.url,
      ...(typeof ref === "string" ? { ref } : {}),
    });
  }
  return out;
}

function prunable(m: Manifest, opts: DesiredOptions): boolean {
  const ann = m.object.metadata.annotations ?? {};
  return opts.prune && m.prune && !PRUNE_OPT_OUT.some((a) => ann[a] === "disabled");
}

/** Reads and classifies every HelmRelease of `revision` under the sync paths. */
export async function desiredAt(
  repo: ConfigRepo,
  revision: string,
  opts: DesiredOptions,
): Promise<DesiredSet> {
  const loaded = await loadManifests(repo, revision, opts.paths);
  const set: DesiredSet = {
    revision,
    releases: new Map(),
    kept: new Map(),
    objects: new Map(),
    leftToFlux: 0,
  };
  for (const m of loaded.manifests) {
    const o = m.object;
    if (o.apiVersion === "v1" && (o.kind === "ConfigMap" || o.kind === "Secret")) {
      set.objects.set(`${o.kind}/${keyOf(o)}`, o);
    }
  }
  const sources = fluxSources(loaded.manifests);
  const candidates = [
    ...loaded.manifests.map((m) => ({ m, ignored: false })),
    ...loaded.ignored.map((m) => ({ m, ignored: true })),
  ];
  for (const { m, ignored } of candidates) {
    if (!isHelmRelease(m.object)) continue;
    const key = keyOf(m.object);
    const keep = (kind: KeptRelease["kind"], message: string) =>
      set.kept.set(key, { key, file: m.file, apiVersion: m.object.apiVersion, kind, message });
    if (ignored) {
      keep("skipped", `${m.file}: fluxcd.io/ignore is set: not reconciled`);
      continue;
    }
    if (m.object.apiVersion.startsWith(HELM_V2_PREFIX) && !opts.reconcileV2) {
      set.leftToFlux++;
      keep("skipped", `${m.file}: ${opts.v2Reason ?? "v2 HelmReleases are not reconciled (helm.v2)"}`);
      continue;
    }
    if (set.releases.has(key) || set.kept.get(key)?.kind === "invalid") {
      keep("invalid", `${m.file}: HelmRelease ${key} is defined twice; fix one of them`);
      set.releases.delete(key);
      continue;
    }
    let spec: HelmReleaseSpec;
    let source: ChartSourceSpec;
    try {
      spec = parseHelmRelease(m.object, m.file);
      source = resolveSourceRef(spec, sources);
    } catch (err) {
      keep("invalid", (err as Error).message);
      continue;
    }
    if (spec.suspend) {
      keep("skipped", `${m.file}: suspended`);
      continue;
    }
    const fromConfigRepo = source.type === "git" && isConfigRepo(source.url, opts.repo);
    set.releases.set(key, {
      key,
      spec,
      source,
      fromConfigRepo,
      prune: prunable(m, opts),
      fingerprint: labelDigest({ spec: { ...spec, file: undefined }, source }),
    });
  }
  return set;
}
