/**
 * The narrow Kubernetes port (DESIGN.md `KubeClient`): get / list / server-side apply (with
 * dry-run) / create / replace / delete / watch, plus discovery to map a kind to its resource and
 * scope. The reconcilers depend on this interface only; unit tests use `FakeKubeClient`
 * (test/helpers), the e2e suite the real `HttpKubeClient` (src/kube/http-client.ts).
 */

/** Object metadata, the part of every object the bot reads or writes. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  managedFields?: ManagedFieldsEntry[];
  [key: string]: unknown;
}

/** One entry of `metadata.managedFields` (server-side apply field ownership). */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: "Apply" | "Update";
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  // biome-ignore lint/suspicious/noExplicitAny: fieldsV1 is an open-ended trie of "f:"/"k:"/"v:" keys.
  fieldsV1?: Record<string, any>;
  subresource?: string;
}

/** Any Kubernetes object. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** Identifies one object. `namespace` is ignored for cluster-scoped kinds. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** What discovery knows about a kind. */
export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  /** Plural resource name used in URLs, e.g. `deployments`. */
  resource: string;
  namespaced: boolean;
}

export interface ApplyOptions {
  fieldManager: string;
  /** Take ownership of conflicting fields (SSA `force=true`). */
  force?: boolean;
  /** Server-side dry run: validate and default, persist nothing. */
  dryRun?: boolean;
  /** Apply to the `status` subresource (the object must exist; only `status` is written). */
  subresource?: "status";
  signal?: AbortSignal;
}

export interface ApplyResult {
  object: KubeObject;
  /** True when the apply created the object (HTTP 201). */
  created: boolean;
}

export interface ListOptions {
  /** Omit for all namespaces (or for cluster-scoped kinds). */
  namespace?: string;
  labelSelector?: string;
  signal?: AbortSignal;
}

export interface DeleteOptions {
  /** Delete only if the object still has this uid (guards against deleting a re-created object). */
  uid?: string;
  /** Delete only if the object still has this resourceVersion. */
  resourceVersion?: string;
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  signal?: AbortSignal;
}

/** One watch notification. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KubeObject;
}

/** Counts of requests by verb, so benchmarks and tests can assert "no writes". */
export interface RequestStats {
  reads: number;
  writes: number;
}

export interface KubeClient {
  /** Maps apiVersion + kind to its resource; undefined when the API server does not serve it.
   * Results are cached; a miss re-reads that group-version once (a CRD may have just appeared). */
  resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined>;
  /** The object, or undefined when it does not exist. */
  get(ref: ObjectRef, opts?: { signal?: AbortSignal }): Promise<KubeObject | undefined>;
  /** All objects of a kind (one request per page). An unknown kind yields []. */
  list(apiVersion: string, kind: string, opts?: ListOptions): Promise<KubeObject[]>;
  /** Server-side apply (PATCH application/apply-patch+yaml). */
  apply(obj: KubeObject, opts: ApplyOptions): Promise<ApplyResult>;
  /** Create; throws `KubeApiError` 409 when it exists. */
  create(obj: KubeObject, opts?: { signal?: AbortSignal }): Promise<KubeObject>;
  /** Replace (PUT) with optimistic concurrency: `metadata.resourceVersion` must match (else 409). */
  replace(obj: KubeObject, opts?: { signal?: AbortSignal }): Promise<KubeObject>;
  /** Deletes; resolves false when it was already gone. */
  delete(ref: ObjectRef, opts?: DeleteOptions): Promise<boolean>;
  /** Streams changes of a kind until `signal` aborts or the server ends the watch. */
  watch(
    apiVersion: string,
    kind: string,
    opts: ListOptions & { resourceVersion?: string; signal: AbortSignal },
  ): AsyncIterable<WatchEvent>;
  /** Requests made so far (reads = GET/LIST/WATCH and dry runs, writes = persisted changes). */
  stats(): RequestStats;
}

/** An error status from the API server about this request: a 4xx other than 429, or a 500 about
 * the object a write carried (see `isOutage`). Outages (429, 502-504, storage trouble, timeouts)
 * and network failures are `TransientError`s instead. `message` is the API server's own message. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

// A 500 saying the API server could not reach its storage or ran out of time: an outage, whatever
// the request was. Anything else a 500 says on a write is about the object it carried.
const OUTAGE_500 =
  /etcdserver|timed? ?out|timeout|deadline exceeded|code = Unavailable|leader changed|no leader|currently unable|try again later|too many requests/i;
// An admission webhook is part of one kind's path, not of the cluster: its failures are the object's.
const WEBHOOK = /failed calling webhook/i;

/**
 * True when an error answer means the cluster (not this request) is in trouble, so the caller
 * retries with backoff instead of reporting the object: 429, 502, 503 and 504; a 5xx whose body is
 * not a Kubernetes `Status` (a proxy or load balancer answered); a `Timeout`/`ServerTimeout`/
 * `ServiceUnavailable` reason; and a 500 from a read or a delete, or one whose message is about
 * storage or time. A 500 answering a write of an object for any other reason (`failed to create
 * typed patch object … expected numeric` for `replicas: three`, a failing admission webhook) is
 * about that object's content: the caller reports it with the object and goes on with the rest.
 */
export function isOutage(
  status: number,
  answer: { isStatus: boolean; reason?: string; message?: string },
  request: { objectWrite: boolean },
): boolean {
  if (status === 429 || status === 502 || status === 503 || status === 504) return true;
  if (status < 500) return false;
  if (!answer.isStatus) return true;
  if (["Timeout", "ServerTimeout", "ServiceUnavailable", "TooManyRequests"].includes(answer.reason ?? ""))
    return true;
  if (status !== 500 || !request.objectWrite) return true;
  const message = answer.message ?? "";
  return !WEBHOOK.test(message) && OUTAGE_500.test(message);
}

/** True for a `KubeApiError` with this status code. */
export function isStatus(err: unknown, status: number): err is KubeApiError {
  return err instanceof KubeApiError && err.status === status;
}

/**
 * Creates `namespace` unless it exists. A 403 (narrowed RBAC: the bot may not create namespaces)
 * is not an error here: the namespace must then exist already, and the write that follows says so
 * if it does not.
 */
export async function ensureNamespace(
  kube: KubeClient,
  namespace: string,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } }, { signal });
  } catch (err) {
    if (!isStatus(err, 409) && !isStatus(err, 403)) throw err;
  }
}

/** `group/version` split; the core group is "". */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf("/");
  return i < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** The fluxcloud-style id `namespace:kind/name` (cluster-scoped: `<cluster>:kind/name`), kind lower-cased. */
export function objectId(obj: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${obj.metadata.namespace || "<cluster>"}:${obj.kind.toLowerCase()}/${obj.metadata.name}`;
}
