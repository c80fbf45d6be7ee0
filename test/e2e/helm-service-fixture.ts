// The Helm service e2e fixture: a config repo in the tutorial's layout on the suite's git server,
// the sync and the Helm service wired as serve wires them (the sync's applied revision triggers
// Helm), against the shared API server and the real helm. Interval 1 h: the test triggers runs.
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { configSchema } from "../../src/config/schema.js";
import type { GitopsEvent, HelmEvent } from "../../src/core/events.js";
import { nullLogger } from "../../src/core/ports.js";
import { GitConfigRepo } from "../../src/gitops/git-config-repo.js";
import { HelmCli } from "../../src/helm/cli.js";
import type { ReconcileResult } from "../../src/reconciler/controller.js";
import type { HelmPayload } from "../../src/reconciler/helm/reconciler.js";
import { HelmService } from "../../src/reconciler/helm/service.js";
import { SyncService } from "../../src/reconciler/sync/service.js";
import { e2eEnv, e2eKubeClient } from "../harness/e2e.js";
import { PASSWORD, type SyncSuite } from "./sync-fixture.js";

/** The tutorial's chart, made of objects that are ready at once (no controller-manager here). */
export const CHART: Record<string, string> = {
  "charts/podinfo/Chart.yaml": "apiVersion: v2\nname: podinfo\nversion: 3.1.0\n",
  "charts/podinfo/values.yaml":
    "image:\n  repository: stefanprodan/podinfo\n  tag: 3.0.0\nservice:\n  port: 9898\n",
  "charts/podinfo/templates/configmap.yaml":
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n',
  "charts/podinfo/templates/service.yaml":
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  ports:\n    - port: {{ .Values.service.port }}\n",
  // Never ready here (no controller-manager): what a hanging `--wait` upgrade needs.
  "charts/podinfo/templates/deployment.yaml":
    "{{- if .Values.deployment }}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n    spec:\n      containers: [{name: x, image: example.invalid/x:1}]\n{{- end }}\n",
};

/** `releases/dev/podinfo.yaml` as in the tutorial: chart.git names the upstream repo in SSH form. */
export function podinfoRelease(
  ns: string,
  opts: { tag: string; port?: number; rollback?: boolean; hang?: { timeout: number } },
): string {
  return `apiVersion: helm.fluxcd.io/v1
kind: HelmRelease
metadata:
  name: podinfo
  namespace: ${ns}
  annotations:
    fluxcd.io/automated: "true"
spec:
  chart:
    git: git@github.com:fluxcd/helm-operator-get-started
    path: charts/podinfo
    ref: master
  wait: ${opts.hang ? `true\n  timeout: ${opts.hang.timeout}` : "false"}
${opts.rollback ? "  rollback:\n    enable: true\n" : ""}  values:
    image:
      repository: stefanprodan/podinfo
      tag: ${opts.tag}
    service:
      port: ${opts.port ?? 9898}
${opts.hang ? "    deployment: true\n" : ""}`;
}

export interface HelmFixture {
  ns: string;
  release: string;
  events: GitopsEvent[];
  helmEvents(): HelmEvent[];
  push(files: Record<string, string | null>, message: string): Promise<string>;
  /** Sync (which triggers Helm), then wait for the release's pass at that revision. */
  syncAndSettle(): Promise<ReconcileResult<HelmPayload> | undefined>;
  /** Waits for (another) pass of one HelmRelease of the fixture's namespace. */
  settle(name: string): Promise<ReconcileResult<HelmPayload> | undefined>;
  history(): Promise<[number, string][]>;
  sync: SyncService;
  helm: HelmService;
  /** A new Helm service in place of the running one (a restart), leading at once. */
  restartHelm(): HelmService;
  repo: GitConfigRepo;
  cli: HelmCli;
  kube: ReturnType<typeof e2eKubeClient>;
}

export async function helmFixture(
  suite: SyncSuite,
  files: (ns: string) => Record<string, string>,
): Promise<HelmFixture> {
  const id = randomBytes(4).toString("hex");
  const ns = `helmsvc-${id}`;
  const seed = join(suite.scratch, `seed-${id}`);
  for (const [p, content] of Object.entries({ ...CHART, ...files(ns) })) {
    await mkdir(dirname(join(seed, p)), { recursive: true });
    await writeFile(join(seed, p), content);
  }
  const repoName = `helm-${id}.git`;
  await suite.git.createBareRepo(repoName, { seedFrom: seed });
  const cfg = configSchema.parse({
    repo: {
      url: suite.git.url(repoName),
      auth: { username: "e2e", password: PASSWORD },
      workdir: join(suite.scratch, `work-${id}`),
      aliases: ["git@github.com:fluxcd/helm-operator-get-started"],
    },
    sync: { name: `e2e-${id}`, interval: "1h" },
    helm: { binary: e2eEnv().tools.helm, cacheDir: join(suite.scratch, `helm-${id}`), interval: "1h" },
    kube: { kubeconfig: e2eEnv().kubeconfigPath, leaderElection: { enabled: false } },
  });
  const repo = await GitConfigRepo.open(cfg.repo, { logger: nullLogger });
  const kube = e2eKubeClient();
  const events: GitopsEvent[] = [];
  const sink = { emit: (e: GitopsEvent) => events.push(e) };
  let helm: HelmService | undefined;
  const sync = SyncService.fromConfig(cfg, {
    repo,
    kube,
    sink,
    onApplied: (rev) => helm?.revisionApplied(rev),
  });
  const makeHelm = () =>
    new HelmService(cfg, {
      repo,
      kube,
      sink,
      appliedRevision: async () => (await sync.status.read()).lastAppliedRevision,
    });
  helm = makeHelm();
  const cli = new HelmCli({
    binary: e2eEnv().tools.helm,
    home: join(suite.scratch, `cli-${id}`),
    kubeconfig: e2eEnv().kubeconfigPath,
  });
  const release = `${ns}-podinfo`;
  let svc = helm;
  sync.controller.start();
  svc.controller.start();
  suite.cleanups.push(async () => {
    sync.pause();
    svc.pause();
    await svc.drain(60_000);
    await repo.close();
    kube.close();
  });
  const f: HelmFixture = {
    ns,
    release,
    events,
    helmEvents: () => events.filter((e): e is HelmEvent => e.kind === "helm"),
    push: (changes, message) => suite.git.commitDirect(repoName, { files: changes, message }),
    async syncAndSettle() {
      const r = await sync.trigger();
      if (r.result?.status !== "ready") throw new Error(`sync did not apply: ${r.message}`);
      await f.helm.scan(r.revision);
      return f.helm.reconcileNow({ namespace: ns, name: "podinfo" });
    },
    settle: (name) => f.helm.reconcileNow({ namespace: ns, name }),
    restartHelm() {
      svc.pause();
      svc = makeHelm();
      helm = svc;
      f.helm = svc;
      svc.lead();
      return svc;
    },
    history: async () =>
      (await cli.history({ release, namespace: ns })).map((h) => [h.revision, h.status] as [number, string]),
    sync,
    helm: svc,
    repo,
    kube,
    cli,
  };
  return f;
}
