// The sync plan without a cluster: which objects are written, in which phase, which are skipped
// as unchanged, what counts as drift and what may be pruned. Discovery answers and live objects
// are plain values here; the steps that send requests are covered by sync.test.ts and the e2e suite.
import { describe, expect, it } from "vitest";
import type { KubeObject, ResourceInfo } from "../../../../src/kube/client.js";
import type { LoadedManifests, Manifest } from "../../../../src/reconciler/sync/manifests.js";
import {
  ANN_CREATED,
  ANN_PRUNE,
  type Discovery,
  decide,
  desiredSet,
  type PlanItem,
  pruneCandidates,
} from "../../../../src/reconciler/sync/plan.js";
import type { InventoryEntry } from "../../../../src/reconciler/sync/state.js";

const NAME = "default";
const OPTS = { name: NAME, fieldManager: "gitops-bot", driftCorrection: true };
const PATHS = [
  { path: "namespaces/", prune: true },
  { path: "releases/", prune: true },
  { path: "keep/", prune: false },
];

const info = (apiVersion: string, kind: string, namespaced: boolean): ResourceInfo => ({
  group: apiVersion.includes("/") ? (apiVersion.split("/")[0] ?? "") : "",
  version: apiVersion.split("/").at(-1) ?? "",
  kind,
  resource: `${kind.toLowerCase()}s`,
  namespaced,
});
const discovery: Discovery = new Map([
  ["v1|Namespace", info("v1", "Namespace", false)],
  ["v1|ConfigMap", info("v1", "ConfigMap", true)],
  [
    "apiextensions.k8s.io/v1|CustomResourceDefinition",
    info("apiextensions.k8s.io/v1", "CustomResourceDefinition", false),
  ],
]);

const manifest = (file: string, object: KubeObject): Manifest => ({ object, file, app: file, prune: true });
const ns = (name: string) =>
  manifest(`namespaces/${name}.yaml`, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
const cm = (file: string, name: string, value = "1", namespace = "dev") =>
  manifest(file, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace },
    data: { key: value },
  });
const crd = manifest("releases/crds.yaml", {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com" },
  spec: { group: "example.com", scope: "Namespaced", names: { kind: "Widget" }, versions: [{ name: "v1" }] },
});
// No namespace in git: the CRD in the same commit says Widget is namespaced, so "default" it is.
const widget = manifest("releases/dev/widget.yaml", {
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: { name: "w" },
});

const loaded = (manifests: Manifest[], extra: Partial<LoadedManifests> = {}): LoadedManifests => ({
  manifests,
  errors: [],
  ignored: [],
  files: manifests.length,
  ...extra,
});

/** The live object a previous apply of `it` left: same hash, every field owned by us. */
function appliedBefore(it: PlanItem, annotations: Record<string, string> = {}): KubeObject {
  const fields = (v: unknown): Record<string, unknown> =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [`f:${k}`, fields(x)]))
      : {};
  const obj = structuredClone(it.obj);
  const { metadata, ...rest } = obj;
  // The annotations were part of that apply (created-by included), so they are ours too.
  metadata.annotations = { ...metadata.annotations, ...annotations };
  obj.metadata = {
    ...metadata,
    uid: `uid-${it.id}`,
    managedFields: [
      {
        manager: "gitops-bot",
        operation: "Apply",
        fieldsV1: {
          ...fields(rest),
          "f:metadata": fields({ labels: metadata.labels, annotations: metadata.annotations }),
        },
      },
    ],
  };
  return obj;
}

const ids = (items: PlanItem[]) => items.map((i) => i.id);

describe("sync plan", () => {
  it("a first sync writes everything; Namespaces and CRDs go in phase 0, their custom resources can be planned before they exist", () => {
    const desired = desiredSet(
      loaded([cm("releases/dev/a.yaml", "a"), widget, ns("dev"), crd]),
      discovery,
      NAME,
    );
    const plan = decide(desired, new Map(), [], OPTS);
    expect(plan.items.every((i) => !i.error)).toBe(true);
    expect(ids(plan.pending.filter((i) => i.phase === 0))).toEqual([
      "<cluster>:namespace/dev",
      "<cluster>:customresourcedefinition/widgets.example.com",
    ]);
    expect(ids(plan.pending.filter((i) => i.phase === 1))).toEqual(["dev:configmap/a", "default:widget/w"]);
    // Every object carries the ownership label and the hash that makes the next sync a no-op.
    for (const it of plan.pending) {
      expect(it.obj.metadata.labels?.["gitops-bot.dev/sync"]).toBe(NAME);
      expect(it.obj.metadata.annotations?.["gitops-bot.dev/hash"]).toBe(it.hash);
    }
  });

  it("an unknown kind fails on its own, and a duplicate object fails the second definition", () => {
    const gadget = manifest("releases/dev/gadget.yaml", {
      apiVersion: "example.com/v1",
      kind: "Gadget",
      metadata: { name: "g", namespace: "dev" },
    });
    const desired = desiredSet(
      loaded([cm("releases/dev/a.yaml", "a"), cm("releases/dev/b.yaml", "a"), gadget]),
      discovery,
      NAME,
    );
    const errors = Object.fromEntries(desired.items.map((i) => [`${i.m.file}`, i.error]));
    expect(errors["releases/dev/a.yaml"]).toBeUndefined();
    expect(errors["releases/dev/b.yaml"]).toMatch(/also defined in releases\/dev\/a\.yaml/);
    expect(errors["releases/dev/gadget.yaml"]).toMatch(/unknown kind Gadget .*CRD/);
    expect(ids(decide(desired, new Map(), [], OPTS).pending)).toEqual(["dev:configmap/a"]);
  });

  it("leaves out HelmReleases (v1 and v2) whose CRD the cluster lacks, instead of failing them", () => {
    const hr = (file: string, apiVersion: string, name: string) =>
      manifest(file, { apiVersion, kind: "HelmRelease", metadata: { name, namespace: "dev" } });
    const desired = desiredSet(
      loaded([
        cm("releases/dev/a.yaml", "a"),
        hr("releases/dev/podinfo.yaml", "helm.fluxcd.io/v1", "podinfo"),
        hr("releases/dev/redis.yaml", "helm.toolkit.fluxcd.io/v2", "redis"),
        // Same kind name, another group: an ordinary unknown kind.
        hr("releases/dev/other.yaml", "example.com/v1", "other"),
      ]),
      discovery,
      NAME,
    );
    expect(Object.fromEntries(desired.items.map((i) => [i.id, i.error]))).toEqual({
      "dev:configmap/a": undefined,
      "dev:helmrelease/other": expect.stringMatching(/unknown kind HelmRelease in example.com\/v1/),
    });
    expect(Object.fromEntries(desired.skipped)).toEqual({
      "helm.fluxcd.io/v1|HelmRelease": [{ id: "dev:helmrelease/podinfo", file: "releases/dev/podinfo.yaml" }],
      "helm.toolkit.fluxcd.io/v2|HelmRelease": [
        { id: "dev:helmrelease/redis", file: "releases/dev/redis.yaml" },
      ],
    });
    expect(ids(decide(desired, new Map(), [], OPTS).pending)).toEqual(["dev:configmap/a"]);
  });

  it("applies HelmReleases like any custom resource when their CRD is served or in the same commit", () => {
    const v1 = manifest("releases/dev/podinfo.yaml", {
      apiVersion: "helm.fluxcd.io/v1",
      kind: "HelmRelease",
      metadata: { name: "podinfo", namespace: "dev" },
    });
    const hrCrd = manifest("releases/crds/hr.yaml", {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "helmreleases.helm.fluxcd.io" },
      spec: {
        group: "helm.fluxcd.io",
        scope: "Namespaced",
        names: { kind: "HelmRelease", plural: "helmreleases" },
        versions: [{ name: "v1" }],
      },
    });
    const inCommit = desiredSet(loaded([v1, hrCrd]), discovery, NAME);
    expect(inCommit.skipped.size).toBe(0);
    expect(ids(decide(inCommit, new Map(), [], OPTS).pending)).toContain("dev:helmrelease/podinfo");
    const served = new Map(discovery);
    served.set("helm.fluxcd.io/v1|HelmRelease", info("helm.fluxcd.io/v1", "HelmRelease", true));
    const withCrd = desiredSet(loaded([v1]), served, NAME);
    expect(withCrd.skipped.size).toBe(0);
    expect(ids(decide(withCrd, new Map(), [], OPTS).pending)).toEqual(["dev:helmrelease/podinfo"]);
  });

  it("skips unchanged objects, re-applies changed and drifted ones, and only records drift when correction is off", () => {
    const files = [
      cm("releases/dev/same.yaml", "same"),
      cm("releases/dev/changed.yaml", "changed", "2"),
      cm("releases/dev/edited.yaml", "edited"),
    ];
    const first = decide(desiredSet(loaded(files), discovery, NAME), new Map(), [], OPTS);
    const live = new Map(first.items.map((i) => [i.key, appliedBefore(i, { [ANN_CREATED]: NAME })]));
    const inventory: InventoryEntry[] = first.items.map((i) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "dev",
      name: i.obj.metadata.name,
      file: i.m.file,
    }));
    // "changed" moved on in git; someone took ownership of "edited"'s data behind git's back.
    const changedKey = first.items[1]?.key ?? "";
    const old = live.get(changedKey);
    if (old?.metadata.annotations) old.metadata.annotations["gitops-bot.dev/hash"] = "older";
    const edited = live.get(first.items[2]?.key ?? "");
    const entry = edited?.metadata.managedFields?.[0];
    if (entry?.fieldsV1) delete entry.fieldsV1["f:data"];

    const next = decide(desiredSet(loaded(files), discovery, NAME), live, inventory, OPTS);
    expect(ids(next.pending)).toEqual(["dev:configmap/changed", "dev:configmap/edited"]);
    expect(next.items[0]?.result).toEqual({
      id: "dev:configmap/same",
      file: "releases/dev/same.yaml",
      action: "unchanged",
    });
    expect(next.drift).toEqual([
      { id: "dev:configmap/edited", file: "releases/dev/edited.yaml", fields: ["data"], corrected: true },
    ]);
    // Created by us before: the annotation is kept on the re-apply.
    expect(next.pending[0]?.obj.metadata.annotations?.[ANN_CREATED]).toBe(NAME);

    const off = decide(desiredSet(loaded(files), discovery, NAME), live, inventory, {
      ...OPTS,
      driftCorrection: false,
    });
    expect(ids(off.pending)).toEqual(["dev:configmap/changed"]);
    expect(off.items[2]?.result).toMatchObject({ action: "unchanged", drift: ["data"] });
  });

  it("prunes only what left git and this sync created, workloads before Namespaces", () => {
    const before = decide(
      desiredSet(
        loaded([
          ns("dev"),
          ns("old"),
          cm("releases/dev/a.yaml", "a"),
          cm("releases/dev/gone.yaml", "gone"),
          cm("releases/dev/adopted.yaml", "adopted"),
          cm("releases/dev/pinned.yaml", "pinned"),
          cm("releases/dev/broken.yaml", "broken"),
          cm("keep/kept.yaml", "kept"),
        ]),
        discovery,
        NAME,
      ),
      new Map(),
      [],
      OPTS,
    );
    const live = new Map(
      before.items.map((i) => {
        const n = i.obj.metadata.name;
        const ann: Record<string, string> = n === "adopted" ? {} : { [ANN_CREATED]: NAME };
        if (n === "pinned") ann[ANN_PRUNE] = "disabled";
        return [i.key, appliedBefore(i, ann)];
      }),
    );
    // Now git has only the dev Namespace and "a"; broken.yaml does not parse.
    const now = decide(
      desiredSet(
        loaded([ns("dev"), cm("releases/dev/a.yaml", "a")], {
          errors: [
            { file: "releases/dev/broken.yaml", app: "releases/dev/broken.yaml", message: "invalid YAML" },
          ],
        }),
        discovery,
        NAME,
      ),
      live,
      [],
      OPTS,
    );
    const candidates = pruneCandidates(now, [], { name: NAME, paths: PATHS });
    expect(candidates.map((c) => [c.obj.metadata.name, c.order])).toEqual([
      ["old", 1],
      ["gone", 0],
    ]);
    expect(now.fileErrors).toEqual([
      {
        id: "file:releases/dev/broken.yaml",
        file: "releases/dev/broken.yaml",
        action: "failed",
        error: "invalid YAML",
      },
    ]);
  });
});
