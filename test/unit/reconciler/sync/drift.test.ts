import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../../src/kube/client.js";
import { lostFields } from "../../../../src/reconciler/sync/drift.js";

const desired: KubeObject = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "dev", labels: { app: "web" } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "app", image: "nginx", ports: [{ containerPort: 80 }] }] },
    },
  },
};

// managedFields as kube-apiserver 1.36 records them for `desired` (captured from a real server).
const applied = () => ({
  "f:metadata": { "f:labels": { "f:app": {} } },
  "f:spec": {
    "f:replicas": {},
    "f:selector": {},
    "f:template": {
      "f:metadata": { "f:labels": { "f:app": {} } },
      "f:spec": {
        "f:containers": {
          'k:{"name":"app"}': {
            ".": {},
            "f:image": {},
            "f:name": {},
            "f:ports": { 'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} } },
          },
        },
      },
    },
  },
});

function live(fields: Record<string, unknown> | undefined, manager = "gitops-bot"): KubeObject {
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      managedFields: fields ? [{ manager, operation: "Apply", fieldsV1: fields }] : [],
    },
  };
}

describe("lostFields", () => {
  it("finds no drift when we still own every field we applied (atomic maps, keyed lists, defaulted keys)", () => {
    expect(lostFields(desired, live(applied()), "gitops-bot")).toEqual([]);
  });

  it("names the fields whose ownership moved to another manager", () => {
    const f = applied();
    delete (f["f:spec"] as Record<string, unknown>)["f:replicas"];
    const c = (
      f["f:spec"]["f:template"]["f:spec"]["f:containers"] as Record<string, Record<string, unknown>>
    )['k:{"name":"app"}'] as Record<string, unknown>;
    delete c["f:image"];
    expect(lostFields(desired, live(f), "gitops-bot")).toEqual([
      "spec.replicas",
      "spec.template.spec.containers[0].image",
    ]);
  });

  it("reports a list item that is no longer ours", () => {
    const f = applied();
    f["f:spec"]["f:template"]["f:spec"]["f:containers"] = { 'k:{"name":"sidecar"}': { ".": {} } } as never;
    expect(lostFields(desired, live(f), "gitops-bot")).toEqual(["spec.template.spec.containers[0]"]);
  });

  it("treats an object we own nothing of as replaced", () => {
    expect(lostFields(desired, live(undefined), "gitops-bot")).toEqual(["*"]);
    expect(lostFields(desired, live(applied(), "kubectl"), "gitops-bot")).toEqual(["*"]);
  });
});
