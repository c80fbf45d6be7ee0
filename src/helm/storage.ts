/**
 * Helm's release storage (the `secret` driver: Secrets `sh.helm.release.v1.<name>.v<N>` of type
 * `helm.sh/release.v1` in the release namespace), read through the Kubernetes API instead of a
 * helm process: one LIST per release tells the decision everything it needs (revision, status,
 * our labels), so a no-op reconcile spawns no helm at all (ADR 0009).
 *
 * Writes are limited to what helm-controller itself does through the SDK: "unlock" (a stale
 * `pending-*` revision becomes `failed`) and our own test-result label on the latest revision.
 * Callers must hold the per-release lock and know no helm process of theirs runs for the release.
 *
 * The port is structural (a subset of `KubeClient`), so this module does not depend on src/kube.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import type { HelmStatusName } from "./cli.js";

/** The minimal object shape read and written here. */
export interface StorageObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  data?: Record<string, string>;
  [k: string]: unknown;
}

/** What this module needs from the Kubernetes client (`KubeClient` satisfies it). */
export interface SecretsPort {
  list(
    apiVersion: string,
    kind: string,
    opts?: { namespace?: string; labelSelector?: string; signal?: AbortSignal },
  ): Promise<StorageObject[]>;
  replace(obj: StorageObject, opts?: { signal?: AbortSignal }): Promise<StorageObject>;
}

/** One stored revision, as the decision sees it. */
export interface StoredRevision {
  version: number;
  status: HelmStatusName;
  /** Every label of the storage object (helm's own and ours). */
  labels: Record<string, string>;
}

/** Labels on the storage object that belong to helm itself. */
export const HELM_SYSTEM_LABELS = ["name", "owner", "status", "version", "createdAt", "modifiedAt"];

/** Our label holding the result of `helm test` for that revision: `passed` | `failed`. */
export const TEST_LABEL = "gitops-bot.dev/test";

/** Our label on a revision we unlocked from a stale `pending-*`: it failed by interruption, not
 * by its chart or values, so it does not count as a failure of that config. */
export const UNLOCKED_LABEL = "gitops-bot.dev/unlocked";

function decodeRelease(data: string): Record<string, unknown> {
  // Through the API, `data.release` is base64 of helm's own base64(gzip(JSON)).
  const inner = Buffer.from(Buffer.from(data, "base64").toString("utf8"), "base64");
  const json = inner[0] === 0x1f && inner[1] === 0x8b ? gunzipSync(inner) : inner;
  return JSON.parse(json.toString("utf8")) as Record<string, unknown>;
}

function encodeRelease(rel: Record<string, unknown>): string {
  const inner = gzipSync(Buffer.from(JSON.stringify(rel), "utf8")).toString("base64");
  return Buffer.from(inner, "utf8").toString("base64");
}

export class HelmStorage {
  constructor(private readonly kube: SecretsPort) {}

  private async objects(namespace: string, release: string, signal?: AbortSignal): Promise<StorageObject[]> {
    const items = await this.kube.list("v1", "Secret", {
      namespace,
      labelSelector: `owner=helm,name=${release}`,
      ...(signal ? { signal } : {}),
    });
    return items
      .filter((o) => o.type === "helm.sh/release.v1")
      .sort((a, b) => Number(b.metadata.labels?.version ?? 0) - Number(a.metadata.labels?.version ?? 0));
  }

  /** Every stored revision of the release, newest first; [] when it does not exist. */
  async revisions(namespace: string, release: string, signal?: AbortSignal): Promise<StoredRevision[]> {
    return (await this.objects(namespace, release, signal)).map((o) => {
      const labels = o.metadata.labels ?? {};
      return {
        version: Number(labels.version ?? 0),
        status: (labels.status ?? "unknown") as HelmStatusName,
        labels,
      };
    });
  }

  /**
   * helm-controller's unlock (`internal/reconcile/unlock.go`): when the latest revision is
   * `pending-*`, mark it `failed` with "Release unlocked from stale '<status>' state". Resolves
   * the status it unlocked, or undefined when the latest revision was not pending (nothing done).
   * A concurrent change of the object fails the replace with a 409 (optimistic concurrency).
   */
  async unlock(
    namespace: string,
    release: string,
    signal?: AbortSignal,
  ): Promise<HelmStatusName | undefined> {
    const latest = (await this.objects(namespace, release, signal))[0];
    const status = latest?.metadata.labels?.status;
    if (!latest || !status?.startsWith("pending-") || !latest.data?.release) return undefined;
    const rel = decodeRelease(latest.data.release);
    const info = (rel.info ?? {}) as Record<string, unknown>;
    info.status = "failed";
    info.description = `Release unlocked from stale '${status}' state`;
    rel.info = info;
    await this.kube.replace(
      {
        ...latest,
        metadata: {
          ...latest.metadata,
          labels: { ...latest.metadata.labels, status: "failed", [UNLOCKED_LABEL]: "true" },
        },
        data: { ...latest.data, release: encodeRelease(rel) },
      },
      signal ? { signal } : {},
    );
    return status as HelmStatusName;
  }

  /** Records a `helm test` result on revision `version` (our label; helm ignores it). */
  async markTested(namespace: string, release: string, version: number, passed: boolean): Promise<void> {
    const obj = (await this.objects(namespace, release)).find(
      (o) => Number(o.metadata.labels?.version) === version,
    );
    if (!obj) return;
    await this.kube.replace({
      ...obj,
      metadata: {
        ...obj.metadata,
        labels: { ...obj.metadata.labels, [TEST_LABEL]: passed ? "passed" : "failed" },
      },
    });
  }
}
