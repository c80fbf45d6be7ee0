/**
 * Bad input for the Helm service, end to end: a chart path that does not exist, a required
 * valuesFrom Secret that is missing, a chart that refuses to render with a secret value in its
 * message. Each gives one clear event naming the release and its file, none blocks the others,
 * and the secret (a canary) never reaches an event.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helmFixture, podinfoRelease } from "./helm-service-fixture.js";
import { nsYaml, type SyncSuite, startSyncSuite } from "./sync-fixture.js";

let suite: SyncSuite;
beforeAll(async () => {
  suite = await startSyncSuite();
});
afterAll(async () => {
  await suite?.stop();
});

const CANARY = "canary-7f3e9a1b2c";

const hr = (ns: string, name: string, spec: string) => `apiVersion: helm.fluxcd.io/v1
kind: HelmRelease
metadata:
  name: ${name}
  namespace: ${ns}
spec:
${spec}`;

describe("Helm service e2e: bad input is one release's problem", () => {
  it("missing chart path, missing values Secret, a chart that fails to render: one event each, the rest deploys", async () => {
    const chart = "  chart:\n    git: git@github.com:fluxcd/helm-operator-get-started\n    ref: master\n";
    const f = await helmFixture(suite, (ns) => ({
      [`namespaces/${ns}.yaml`]: nsYaml(ns),
      "charts/strict/Chart.yaml": "apiVersion: v2\nname: strict\nversion: 0.1.0\n",
      "charts/strict/templates/cm.yaml":
        '{{- if .Values.refuse }}{{ fail (printf "refusing to render with token %s" .Values.token) }}{{- end }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  ok: "yes"\n',
      "releases/dev/podinfo.yaml": podinfoRelease(ns, { tag: "3.0.0" }),
      "releases/dev/nochart.yaml": hr(ns, "nochart", `${chart}    path: charts/missing\n`),
      "releases/dev/nosecret.yaml": hr(
        ns,
        "nosecret",
        `${chart}    path: charts/strict\n  valuesFrom:\n    - secretKeyRef: { name: not-there }\n`,
      ),
      "releases/dev/strict-values.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: strict-values\n  namespace: ${ns}\nstringData:\n  values.yaml: |\n    token: ${CANARY}\n    refuse: true\n`,
      "releases/dev/strict.yaml": hr(
        ns,
        "strict",
        `${chart}    path: charts/strict\n  valuesFrom:\n    - secretKeyRef: { name: strict-values }\n`,
      ),
    }));
    expect((await f.syncAndSettle())?.status).toBe("ready");
    expect(await f.history()).toEqual([[1, "deployed"]]);
    const results = Object.fromEntries(
      await Promise.all(
        ["nochart", "nosecret", "strict"].map(async (n) => [n, (await f.settle(n))?.status] as const),
      ),
    );
    expect(results).toEqual({ nochart: "stalled", nosecret: "stalled", strict: "failed" });

    const byRelease = Object.fromEntries(f.helmEvents().map((e) => [e.release, e]));
    expect(byRelease[`${f.ns}-podinfo`]?.phase).toBe("deployed");
    expect(byRelease[`${f.ns}-nochart`]).toMatchObject({
      phase: "stalled",
      file: "releases/dev/nochart.yaml",
    });
    expect(byRelease[`${f.ns}-nochart`]?.error).toContain("charts/missing does not exist");
    expect(byRelease[`${f.ns}-nosecret`]?.error).toMatch(
      /releases\/dev\/nosecret\.yaml: spec\.valuesFrom\[0\].*not found/,
    );
    expect(byRelease[`${f.ns}-strict`]).toMatchObject({ phase: "failed", file: "releases/dev/strict.yaml" });
    expect(byRelease[`${f.ns}-strict`]?.error).toContain("refusing to render");
    // One event per release, and the Secret's value nowhere.
    expect(f.helmEvents()).toHaveLength(4);
    expect(JSON.stringify(f.events)).not.toContain(CANARY);

    // Resyncing the same revision adds no event and calls no helm for the failed ones.
    f.events.length = 0;
    await f.push({ "README.md": "x\n" }, "unrelated");
    await f.syncAndSettle();
    for (const n of ["nochart", "nosecret", "strict"]) await f.settle(n);
    expect(f.helmEvents()).toEqual([]);
  });
});
