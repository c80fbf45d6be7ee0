/**
 * `FakeKubeClient`: an in-memory double of our `KubeClient` port (not of any module). It keeps
 * objects by kind/namespace/name, serves discovery for built-in kinds and for CRDs applied to it
 * (Established at once), records managedFields the way server-side apply does (our manager owns
 * what it applied; `mutate` moves a field to another manager like `kubectl edit`), answers 201 on
 * create, keeps resourceVersion when an apply changes nothing, and lets tests inject faults.
 */
import { randomUUID } from "node:crypto";
import { TransientError } from "../../src/core/errors.js";
import {
  type ApplyOptions,
  type ApplyResult,
  type DeleteOptions,
  KubeApiError,
  type KubeClient,
  type KubeObject,
  type ListOptions,
  type ObjectRef,
  type RequestStats,
  type ResourceInfo,
  splitApiVersion,
  type WatchEvent,
} from "../../src/kube/client.js";

type Verb = "get" | "list" | "apply" | "dryRun" | "create" | "replace" | "delete";

const BUILTIN: [string, string, string, boolean][] = [
  ["v1", "Namespace", "namespaces", false],
  ["v1", "ConfigMap", "configmaps", true],
  ["v1", "Secret", "secrets", true],
  ["v1", "Service", "services", true],
  ["v1", "ServiceAccount", "serviceaccounts", true],
  ["apps/v1", "Deployment", "deployments", true],
  ["apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", false],
  ["coordination.k8s.io/v1", "Lease", "leases", true],
];

// biome-ignore lint/suspicious/noExplicitAny: fieldsV1 trie.
type Fields = Record<string, any>;

/** fieldsV1 of an object as SSA would record it (lists of objects keyed by `name`, others atomic). */
export function fieldsOf(value: unknown): Fields {
  const out: Fields = {};
  if (Array.isArray(value)) {
    for (const el of value) {
      if (el && typeof el === "object" && "name" in el)
        out[`k:${JSON.stringify({ name: el.name })}`] = fieldsOf(el);
    }
    return out;
  }
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined) continue;
      out[`f:${k}`] = fieldsOf(v);
    }
  }
  return out;
}

function content(obj: KubeObject): string {
  const { metadata, ...rest } = obj;
  return JSON.stringify({ rest, labels: metadata.labels ?? {}, annotations: metadata.annotations ?? {} });
}

export class FakeKubeClient implements KubeClient {
  private readonly kinds = new Map<string, ResourceInfo>();
  readonly objects = new Map<string, KubeObject>();
  private rv = 1;
  private readonly counters: RequestStats = { reads: 0, writes: 0 };
  /** Every request, in order, e.g. `apply Deployment ns/name`. */
  readonly calls: string[] = [];
  /** Return an error to make a request fail (checked before every request). */
  fault:
    | ((verb: Verb, obj: { kind: string; name?: string; namespace?: string }) => Error | undefined)
    | undefined;

  constructor() {
    for (const [apiVersion, kind, resource, namespaced] of BUILTIN)
      this.serve(apiVersion, kind, resource, namespaced);
  }

  /** Makes discovery serve a kind. */
  serve(apiVersion: string, kind: string, resource: string, namespaced: boolean): void {
    const { group, version } = splitApiVersion(apiVersion);
    this.kinds.set(`${apiVersion}|${kind}`, { group, version, kind, resource, namespaced });
  }

  stats(): RequestStats {
    return { ...this.counters };
  }

  private key(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
    const { group } = splitApiVersion(apiVersion);
    return `${group}|${kind}|${namespace ?? ""}|${name}`;
  }

  private check(verb: Verb, obj: { kind: string; name?: string; namespace?: string }): void {
    this.calls.push(`${verb} ${obj.kind} ${obj.namespace ?? ""}/${obj.name ?? ""}`);
    const err = this.fault?.(verb, obj);
    if (err) throw err;
  }

  private info(apiVersion: string, kind: string): ResourceInfo {
    const info = this.kinds.get(`${apiVersion}|${kind}`);
    if (!info)
      throw new KubeApiError(`the server does not serve kind ${kind} in ${apiVersion}`, 404, "UnknownKind");
    return info;
  }

  async resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    return this.kinds.get(`${apiVersion}|${kind}`);
  }

  /** The stored object (a copy), for assertions. */
  peek(ref: ObjectRef): KubeObject | undefined {
    const o = this.objects.get(this.key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
    return o && structuredClone(o);
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    this.check("get", ref);
    this.counters.reads++;
    const info = this.info(ref.apiVersion, ref.kind);
    return this.peek({ ...ref, namespace: info.namespaced ? ref.namespace : undefined });
  }

  async list(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<KubeObject[]> {
    this.check("list", { kind, namespace: opts.namespace });
    this.counters.reads++;
    if (!this.kinds.has(`${apiVersion}|${kind}`)) return [];
    const want = (opts.labelSelector ?? "")
      .split(",")
      .filter(Boolean)
      .map((s) => s.split("=") as [string, string]);
    const { group } = splitApiVersion(apiVersion);
    return [...this.objects.values()]
      .filter((o) => splitApiVersion(o.apiVersion).group === group && o.kind === kind)
      .filter((o) => !opts.namespace || o.metadata.namespace === opts.namespace)
      .filter((o) => want.every(([k, v]) => o.metadata.labels?.[k] === v))
      .map((o) => structuredClone(o));
  }

  async apply(obj: KubeObject, opts: ApplyOptions): Promise<ApplyResult> {
    const md = obj.metadata;
    this.check(opts.dryRun ? "dryRun" : "apply", { kind: obj.kind, name: md.name, namespace: md.namespace });
    const info = this.info(obj.apiVersion, obj.kind);
    const ns = info.namespaced ? (md.namespace ?? "default") : undefined;
    if (ns && !this.objects.has(this.key("v1", "Namespace", undefined, ns))) {
      throw new KubeApiError(`namespaces "${ns}" not found`, 404, "NotFound");
    }
    const k = this.key(obj.apiVersion, obj.kind, ns, md.name);
    const prev = this.objects.get(k);
    if (opts.subresource === "status") {
      if (!prev) throw new KubeApiError(`${obj.kind.toLowerCase()} "${md.name}" not found`, 404, "NotFound");
      const updated = { ...structuredClone(prev), status: structuredClone(obj.status) };
      if (content(prev) !== content(updated)) updated.metadata.resourceVersion = String(++this.rv);
      this.counters.writes++;
      this.objects.set(k, updated);
      return { object: structuredClone(updated), created: false };
    }
    const next: KubeObject = structuredClone(obj);
    const { metadata: _m, ...body } = next;
    next.metadata = {
      ...structuredClone(md),
      namespace: ns,
      uid: prev?.metadata.uid ?? randomUUID(),
      creationTimestamp: prev?.metadata.creationTimestamp ?? new Date().toISOString(),
      resourceVersion: prev?.metadata.resourceVersion ?? "0",
      managedFields: [
        ...(prev?.metadata.managedFields ?? []).filter((m) => m.manager !== opts.fieldManager),
        {
          manager: opts.fieldManager,
          operation: "Apply",
          apiVersion: obj.apiVersion,
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:metadata": fieldsOf({ labels: md.labels, annotations: md.annotations }),
            ...fieldsOf(body),
          },
        },
      ],
    };
    if (!prev || content(prev) !== content(next)) next.metadata.resourceVersion = String(++this.rv);
    if (obj.kind === "CustomResourceDefinition") {
      next.status = { conditions: [{ type: "Established", status: "True" }] };
    }
    if (!ns) delete next.metadata.namespace;
    if (opts.dryRun) {
      this.counters.reads++;
      return { object: structuredClone(next), created: !prev };
    }
    this.counters.writes++;
    this.objects.set(k, next);
    if (obj.kind === "CustomResourceDefinition") this.serveCrd(next);
    return { object: structuredClone(next), created: !prev };
  }

  private serveCrd(crd: KubeObject): void {
    const spec = crd.spec as {
      group: string;
      names: { kind: string; plural: string };
      scope: string;
      versions: { name: string }[];
    };
    for (const v of spec.versions) {
      this.serve(`${spec.group}/${v.name}`, spec.names.kind, spec.names.plural, spec.scope === "Namespaced");
    }
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    this.check("create", { kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace });
    const info = this.info(obj.apiVersion, obj.kind);
    const ns = info.namespaced ? (obj.metadata.namespace ?? "default") : undefined;
    const k = this.key(obj.apiVersion, obj.kind, ns, obj.metadata.name);
    if (this.objects.has(k))
      throw new KubeApiError(`${obj.kind} "${obj.metadata.name}" already exists`, 409, "AlreadyExists");
    if (ns && !this.objects.has(this.key("v1", "Namespace", undefined, ns))) {
      throw new KubeApiError(`namespaces "${ns}" not found`, 404, "NotFound");
    }
    this.counters.writes++;
    const next = structuredClone(obj);
    next.metadata = {
      ...next.metadata,
      uid: randomUUID(),
      resourceVersion: String(++this.rv),
      creationTimestamp: new Date().toISOString(),
    };
    this.objects.set(k, next);
    return structuredClone(next);
  }

  async replace(obj: KubeObject): Promise<KubeObject> {
    this.check("replace", { kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace });
    const k = this.key(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
    const prev = this.objects.get(k);
    if (!prev) throw new KubeApiError(`${obj.kind} "${obj.metadata.name}" not found`, 404, "NotFound");
    if (obj.metadata.resourceVersion !== prev.metadata.resourceVersion) {
      throw new KubeApiError(
        "the object has been modified; please apply your changes to the latest version",
        409,
        "Conflict",
      );
    }
    this.counters.writes++;
    const next = structuredClone(obj);
    next.metadata.resourceVersion = String(++this.rv);
    this.objects.set(k, next);
    return structuredClone(next);
  }

  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<boolean> {
    this.check("delete", ref);
    const info = this.info(ref.apiVersion, ref.kind);
    const k = this.key(ref.apiVersion, ref.kind, info.namespaced ? ref.namespace : undefined, ref.name);
    const prev = this.objects.get(k);
    if (!prev) return false;
    if (opts.uid && prev.metadata.uid !== opts.uid) {
      throw new KubeApiError("Precondition failed: UID in precondition does not match", 409, "Conflict");
    }
    this.counters.writes++;
    this.objects.delete(k);
    return true;
  }

  /** Changes a field the way `kubectl edit` does: the value changes and ownership moves to `manager`. */
  mutate(ref: ObjectRef, path: string[], value: unknown, manager = "kubectl-edit"): void {
    const k = this.key(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    const o = this.objects.get(k);
    if (!o) throw new Error(`no such object ${k}`);
    let cur = o as Record<string, unknown>;
    for (const p of path.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
    cur[path[path.length - 1] as string] = value;
    const ours = o.metadata.managedFields?.find((m) => m.operation === "Apply");
    let f = ours?.fieldsV1;
    for (const p of path.slice(0, -1)) f = f?.[`f:${p}`];
    if (f) delete f[`f:${path[path.length - 1]}`];
    o.metadata.managedFields?.push({ manager, operation: "Update", fieldsV1: {} });
    o.metadata.resourceVersion = String(++this.rv);
  }

  // biome-ignore lint/correctness/useYield: the fake never emits watch events.
  async *watch(): AsyncIterable<WatchEvent> {
    throw new TransientError("watch is not supported by FakeKubeClient");
  }
}
