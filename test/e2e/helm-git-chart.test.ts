/**
 * A HelmRelease whose chart lives in a second git repository (not the config repo): the Helm
 * service clones it with `helm.gitCredentials`, installs the chart, and upgrades on the next pass
 * when a template change is pushed to that repository without a version bump; a wrong `ref` in
 * another HelmRelease is one clear event and does not block this one. Real helm and API server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHART, helmFixture } from "./helm-service-fixture.js";
import { nsYaml, PASSWORD, type SyncSuite, startSyncSuite } from "./sync-fixture.js";

let suite: SyncSuite;
beforeAll(async () => {
  suite = await startSyncSuite();
});
afterAll(async () => {
  await suite?.stop();
});

function release(ns: string, name: string, git: string, ref: string): string {
  return `apiVersion: helm.fluxcd.io/v1
kind: HelmRelease
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  chart:
    git: ${git}
    path: charts/podinfo
    ref: ${ref}
  values:
    image:
      tag: 3.0.0
`;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 240; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("Helm service e2e: chart from another git repository", () => {
  it("installs from the chart repo, upgrades on a pushed template change (no version bump), reports a bad ref once", async () => {
    const chartsRepo = `charts-${Math.random().toString(36).slice(2, 8)}.git`;
    await suite.git.createBareRepo(chartsRepo);
    await suite.git.commitDirect(chartsRepo, { files: CHART, message: "chart 3.1.0" });
    const chartsUrl = suite.git.url(chartsRepo);
    const f = await helmFixture(
      suite,
      (ns) => ({
        [`namespaces/${ns}.yaml`]: nsYaml(ns),
        "releases/dev/podinfo.yaml": release(ns, "podinfo", chartsUrl, "main"),
        "releases/dev/broken.yaml": release(ns, "broken", chartsUrl, "no-such-branch"),
      }),
      // A short interval: the interval pass is what notices a change in the chart repo.
      {
        interval: "2s",
        gitCredentials: [{ urlPrefix: `${suite.git.baseUrl}/`, username: "e2e", password: PASSWORD }],
      },
    );
    const r = await f.syncAndSettle();
    expect(r?.status).toBe("ready");
    expect(await f.history()).toEqual([[1, "deployed"]]);
    const cm = async () =>
      (await f.kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: f.ns, name: f.release }))?.data as
        | Record<string, string>
        | undefined;
    expect((await cm())?.image).toBe("stefanprodan/podinfo:3.0.0");
    const installed = f.helmEvents().find((e) => e.release === f.release && e.phase === "deployed");
    expect(installed).toMatchObject({ chart: "podinfo", chartVersion: "3.1.0", revision: 1 });

    // The other release: one failed event naming the file, the URL and the fix.
    const broken = await until("the broken release's event", async () =>
      f.helmEvents().find((e) => e.release === `${f.ns}-broken`),
    );
    expect(broken.phase).toBe("failed");
    expect(broken.error).toBe(
      `releases/dev/broken.yaml: spec.chart.ref no-such-branch: no branch, tag or commit of that name in ${chartsUrl}; fix spec.chart.ref (or push it)`,
    );

    // A template edit in the chart repo, no version bump, nothing pushed to the config repo.
    await suite.git.commitDirect(chartsRepo, {
      files: {
        "charts/podinfo/templates/configmap.yaml":
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n  edited: "yes"\n',
      },
      message: "chart: template edit",
    });
    await until("the upgrade", async () => ((await f.history()).length >= 2 ? true : undefined));
    expect(await f.history()).toEqual([
      [1, "superseded"],
      [2, "deployed"],
    ]);
    expect((await cm())?.edited).toBe("yes");
    const upgraded = f.helmEvents().filter((e) => e.release === f.release && e.phase === "deployed");
    expect(upgraded.map((e) => e.revision)).toEqual([1, 2]);
    expect(upgraded[1]?.chartVersion).toBe("3.1.0");
    expect(upgraded[1]?.chartDigest).not.toBe(upgraded[0]?.chartDigest);

    // Passes with nothing changed make no new revision.
    await f.settle("podinfo");
    await f.settle("podinfo");
    expect((await f.history()).length).toBe(2);
    // The broken release was reported once, however many passes retried it.
    expect(f.helmEvents().filter((e) => e.release === `${f.ns}-broken`)).toHaveLength(1);
    // Credential canary: the chart repo's password appears in no event.
    expect(JSON.stringify(f.events)).not.toContain(PASSWORD);
  });
});
