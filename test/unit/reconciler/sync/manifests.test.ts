import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  appOf,
  loadManifests,
  normalizeSyncPath,
  parseFile,
} from "../../../../src/reconciler/sync/manifests.js";
import { InMemoryConfigRepo } from "../../../helpers/in-memory-config-repo.js";

describe("parseFile", () => {
  it("reads multi-document files and List objects, skipping empty documents", () => {
    const text = [
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
      "",
      "# only a comment\n",
      "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: { name: s }\n",
    ].join("---\n");
    const r = parseFile(text, "f.yaml");
    expect("objects" in r && r.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "ConfigMap/a",
      "Secret/s",
    ]);
  });

  it.each([
    ["apiVersion: v1\nkind: ConfigMap\nmetadata: [x\n", /invalid YAML in document 1/],
    ["kind: ConfigMap\nmetadata:\n  name: a\n", /missing apiVersion/],
    ["apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", /missing metadata.name/],
    ["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n", /invalid YAML/],
    ["../../etc/passwd", /symbolic link/],
    ["- a\n- b\n", /not a Kubernetes object/],
  ])("rejects %j with a clear message", (text, message) => {
    const r = parseFile(text, "f.yaml");
    expect("error" in r && r.error).toMatch(message);
  });

  it("never throws, whatever the input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const r = parseFile(s, "f.yaml");
        expect("objects" in r || "error" in r).toBe(true);
      }),
    );
  });

  it("round-trips any well-formed object", () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
    fc.assert(
      fc.property(name, fc.dictionary(name, fc.string({ maxLength: 30 }), { maxKeys: 5 }), (n, data) => {
        const obj = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: n, namespace: "dev" }, data };
        const r = parseFile(stringify(obj), "f.yaml");
        expect(r).toEqual({ objects: [obj] });
      }),
    );
  });
});

describe("sync paths and apps", () => {
  it("normalizes paths and refuses ones that leave the repo", () => {
    expect(normalizeSyncPath("./releases")).toBe("releases/");
    expect(normalizeSyncPath("namespaces/")).toBe("namespaces/");
    expect(() => normalizeSyncPath("../other")).toThrow(/repo-relative/);
    expect(() => normalizeSyncPath("/etc")).toThrow(/repo-relative/);
  });

  it("reads `.` as the whole repo and tidies a path the way every repo path is tidied", async () => {
    expect(normalizeSyncPath(".")).toBe("");
    expect(normalizeSyncPath("./")).toBe("");
    expect(normalizeSyncPath("releases/./dev//")).toBe("releases/dev/");
    const repo = new InMemoryConfigRepo({
      "namespaces/dev.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dev\n",
      "releases/dev/podinfo/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    });
    const loaded = await loadManifests(repo, await repo.head(), [{ path: ".", prune: true }]);
    expect(loaded.errors).toEqual([]);
    expect(loaded.manifests.map((m) => m.file)).toEqual([
      "namespaces/dev.yaml",
      "releases/dev/podinfo/cm.yaml",
    ]);
  });

  it("groups an app folder as one app and a plain file as its own app", () => {
    expect(appOf("releases/dev/podinfo.yaml", "releases/")).toBe("releases/dev/podinfo.yaml");
    expect(appOf("releases/dev/podinfo/deploy.yaml", "releases/")).toBe("releases/dev/podinfo/");
    expect(appOf("releases/dev/podinfo/sub/svc.yaml", "releases/")).toBe("releases/dev/podinfo/");
    expect(appOf("namespaces/dev.yaml", "namespaces/")).toBe("namespaces/dev.yaml");
  });

  it("loads only YAML under the sync paths and sets ignored objects apart", async () => {
    const repo = new InMemoryConfigRepo({
      "namespaces/dev.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dev\n",
      "releases/dev/a.yml":
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    fluxcd.io/ignore: "true"\n',
      "releases/dev/notes.txt": "hello",
      "charts/podinfo/templates/x.yaml": "{{ .Values }}",
    });
    const loaded = await loadManifests(repo, await repo.head(), [
      { path: "namespaces", prune: true },
      { path: "releases/", prune: false },
    ]);
    expect(loaded.manifests.map((m) => m.file)).toEqual(["namespaces/dev.yaml"]);
    expect(loaded.ignored.map((m) => [m.file, m.prune])).toEqual([["releases/dev/a.yml", false]]);
    expect(loaded.errors).toEqual([]);
    expect(loaded.files).toBe(2);
  });

  it("never applies the bot's own records, even under a sync path that covers them", async () => {
    const repo = new InMemoryConfigRepo({
      "releases/dev/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: dev\n",
      ".gitops-bot/freezes.yaml": "freezes:\n  - env: prod\n    by: alice\n",
    });
    const loaded = await loadManifests(repo, await repo.head(), [
      { path: "releases", prune: true },
      { path: ".gitops-bot", prune: true },
    ]);
    expect(loaded.manifests.map((m) => m.file)).toEqual(["releases/dev/cm.yaml"]);
    expect(loaded.errors).toEqual([]);
  });
});

describe("loadManifests and a moving head", () => {
  it("never mixes two revisions when the head moves during the load", async () => {
    const cmText = (n: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${n}\n`;
    const repo = new InMemoryConfigRepo({ "releases/a.yaml": cmText("a"), "releases/b.yaml": cmText("b") });
    const rev = await repo.head();
    // A chat command commits while the sync reads: after a.yaml, before b.yaml.
    const realRead = repo.read.bind(repo);
    let moved = false;
    repo.read = async (p, at) => {
      if (p.endsWith("b.yaml")) await new Promise((r) => setTimeout(r, 20));
      const text = await realRead(p, at);
      if (!moved) {
        moved = true;
        repo.commitFiles({ "releases/b.yaml": cmText("b-new") }, "x");
      }
      return text;
    };
    const loaded = await loadManifests(repo, rev, [{ path: "releases/", prune: true }]);
    expect(loaded.manifests.map((m) => m.object.metadata.name)).toEqual(["a", "b"]);
    // And at the new head, the new content.
    const next = await loadManifests(repo, await repo.head(), [{ path: "releases/", prune: true }]);
    expect(next.manifests.map((m) => m.object.metadata.name)).toEqual(["a", "b-new"]);
  });
});
