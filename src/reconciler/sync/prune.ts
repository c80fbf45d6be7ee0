import { TransientError } from "../../core/errors.js";
import type { SyncObjectResult } from "../../core/events.js";
import { type KubeClient, type KubeObject, objectId } from "../../kube/client.js";
import { ANN_SOURCE } from "./plan.js";

type Limit = <T>(fn: () => Promise<T>) => Promise<T>;

/** What the prune step did. */
export interface PruneOutcome {
  /** Keys of the deleted objects. */
  pruned: string[];
  /** One `pruned` or `failed` result per candidate that was tried. */
  objects: SyncObjectResult[];
  /** The first TransientError: the rest of the deletes went on, the inventory keeps what is unconfirmed. */
  transient?: TransientError;
}

/**
 * Deletes the prune candidates (`pruneCandidates` in plan.ts), workloads first and Namespaces and
 * CRDs last (deleting those takes their contents along), each with a UID precondition so that a
 * re-created object of the same name is never deleted. Checks `signal` before every delete.
 */
export async function prune(
  kube: KubeClient,
  candidates: { key: string; obj: KubeObject; order: 0 | 1 }[],
  limit: Limit,
  signal: AbortSignal,
): Promise<PruneOutcome> {
  const out: PruneOutcome = { pruned: [], objects: [] };
  for (const phase of [0, 1]) {
    await Promise.all(
      candidates
        .filter((c) => c.order === phase)
        .map(({ key, obj: o }) =>
          limit(async () => {
            const file = o.metadata.annotations?.[ANN_SOURCE] ?? "";
            const id = objectId(o);
            try {
              if (signal.aborted) throw new TransientError("sync aborted: leadership lost");
              await kube.delete(
                {
                  apiVersion: o.apiVersion,
                  kind: o.kind,
                  namespace: o.metadata.namespace,
                  name: o.metadata.name,
                },
                { uid: o.metadata.uid, signal },
              );
              out.pruned.push(key);
              out.objects.push({ id, file, action: "pruned" });
            } catch (err) {
              if (err instanceof TransientError) out.transient ??= err;
              else
                out.objects.push({
                  id,
                  file,
                  action: "failed",
                  error: `prune: ${err instanceof Error ? err.message : String(err)}`,
                });
            }
          }),
        ),
    );
  }
  return out;
}
