/**
 * Writes the outcome onto the HelmRelease object itself (status subresource) when the cluster has
 * its CRD, so `kubectl get hr -A` shows phase, revision and message. Without the CRD there is no
 * object (the sync skips it): nothing to do. Written only when the status changed since the last
 * write of this process; best effort (a failure is logged at debug by the caller).
 */
import type { KubeClient } from "../../kube/client.js";
import type { ConditionStatus } from "../conditions.js";

export interface HelmReleaseStatus {
  /** CamelCase, like helm-operator's: Deployed, Failed, RolledBack, Stalled, Progressing, … */
  phase: string;
  releaseName: string;
  /** Helm's status of the latest revision (`deployed`, `failed`, …) when known. */
  releaseStatus?: string;
  /** Helm revision. */
  revision?: number;
  /** The config repo revision this was reconciled at. */
  lastAppliedRevision: string;
  message: string;
}

/** The v1-style phase of a condition. */
export function phaseOf(status: ConditionStatus, reason: string | undefined): string {
  if (reason === "RolledBack") return "RolledBack";
  if (reason === "Uninstalled" || reason === "Skipped" || reason === "NotOwned") return reason;
  if (status === "ready") return "Deployed";
  if (status === "progressing") return "Progressing";
  return status === "stalled" ? "Stalled" : "Failed";
}

export class HelmReleaseStatusWriter {
  private readonly written = new Map<string, string>();

  constructor(
    private readonly kube: KubeClient,
    private readonly fieldManager: string,
  ) {}

  forget(): void {
    this.written.clear();
  }

  /** True when it wrote; false when the CRD or the object is missing, or nothing changed. */
  async write(
    ref: { apiVersion: string; namespace: string; name: string },
    status: HelmReleaseStatus,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const key = `${ref.apiVersion}|${ref.namespace}/${ref.name}`;
    const text = JSON.stringify(status);
    if (this.written.get(key) === text) return false;
    if (!(await this.kube.resource(ref.apiVersion, "HelmRelease"))) return false;
    const live = await this.kube.get({ ...ref, kind: "HelmRelease" }, signal ? { signal } : {});
    if (!live) return false;
    const body: Record<string, unknown> = { ...status };
    if (typeof live.metadata.generation === "number") body.observedGeneration = live.metadata.generation;
    await this.kube.apply(
      {
        apiVersion: ref.apiVersion,
        kind: "HelmRelease",
        metadata: { name: ref.name, namespace: ref.namespace },
        status: body,
      },
      { fieldManager: this.fieldManager, force: true, subresource: "status", ...(signal ? { signal } : {}) },
    );
    this.written.set(key, text);
    return true;
  }
}
