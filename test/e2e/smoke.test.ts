// Smoke suite: proves the e2e environment is the real thing (a real API server with server-side
// apply, field managers, CRDs and RBAC; the real helm CLI; a real registry; a real git server).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  type V1Deployment,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eEnv, e2eKubeConfig, newNamespace } from "../harness/e2e.js";
import { type GitServer, startGitServer } from "../harness/git-server.js";
import { kubeGet } from "../harness/kube.js";
import { waitFor } from "../harness/ports.js";
import { authHeaders, listTags, pushImage, type RegistryRef } from "../harness/registry.js";

const execFileP = promisify(execFile);
const FIELD_MANAGER = "gitops-bot";

let kc: KubeConfig;
let objects: KubernetesObjectApi;
let scratch: string;

beforeAll(async () => {
  kc = e2eKubeConfig();
  objects = KubernetesObjectApi.makeApiClient(kc);
  scratch = await mkdtemp(join(tmpdir(), "gitops-bot-smoke-"));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Server-side apply, the way the sync reconciler does it. */
function apply<T extends KubernetesObject>(obj: T, manager = FIELD_MANAGER, force = true): Promise<T> {
  return objects.patch(obj, undefined, undefined, manager, force, PatchStrategy.ServerSideApply);
}

function deployment(ns: string, name: string, replicas: number, image: string): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image }] },
      },
    },
  };
}

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

describe("kube-apiserver", () => {
  it("serves a versioned API and rejects unauthenticated requests", async () => {
    const env = e2eEnv();
    const version = await kubeGet(env.kubeServer, "/version", env.kubeToken, env.kubeCaPem);
    expect(version.status).toBe(200);
    // The binary is version-stamped at build time; helm relies on this for kubeVersion checks.
    expect(JSON.parse(version.body).gitVersion).toBe(env.tools.kubeVersion);
    const anonymous = await kubeGet(env.kubeServer, "/api/v1/namespaces", "not-a-token", env.kubeCaPem);
    expect(anonymous.status).toBe(401);
  });

  it("creates a namespace per test", async () => {
    const ns = await newNamespace("smoke-ns");
    const got = await kc.makeApiClient(CoreV1Api).readNamespace({ name: ns });
    expect(got.metadata?.name).toBe(ns);
    expect(got.status?.phase).toBe("Active");
  });

  it("server-side applies a Deployment with field ownership and conflict detection", async () => {
    const ns = await newNamespace("smoke-ssa");
    const applied = await apply(deployment(ns, "web", 2, "nginx:1.27"));
    expect(applied.metadata?.uid).toBeTruthy();
    const apps = kc.makeApiClient(AppsV1Api);
    const live = await apps.readNamespacedDeployment({ name: "web", namespace: ns });
    expect(live.spec?.replicas).toBe(2);
    const mine = live.metadata?.managedFields?.find((f) => f.manager === FIELD_MANAGER);
    expect(mine?.operation).toBe("Apply");

    // Another manager changing a field we own, without force: the real server refuses (409).
    const conflict = await statusOf(apply(deployment(ns, "web", 5, "nginx:1.27"), "someone-else", false));
    expect(conflict).toBe(409);

    // Re-applying our own change bumps the generation; no-op applies do not.
    await apply(deployment(ns, "web", 3, "nginx:1.28"));
    const again = await apply(deployment(ns, "web", 3, "nginx:1.28"));
    const after = await apps.readNamespacedDeployment({ name: "web", namespace: ns });
    expect(after.spec?.replicas).toBe(3);
    expect(after.spec?.template.spec?.containers[0]?.image).toBe("nginx:1.28");
    expect(after.metadata?.generation).toBe((live.metadata?.generation ?? 0) + 1);
    expect(again.metadata?.resourceVersion).toBe(after.metadata?.resourceVersion);
  });

  it("enforces RBAC for a service account token", async () => {
    const ns = await newNamespace("smoke-rbac");
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "reader" } } });
    const tr = await core.createNamespacedServiceAccountToken({
      name: "reader",
      namespace: ns,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tr.status?.token;
    expect(token).toBeTruthy();
    const env = e2eEnv();
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    expect((await kubeGet(env.kubeServer, path, token!, env.kubeCaPem)).status).toBe(403);

    await apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "cm-reader", namespace: ns },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["list"] }],
    });
    await apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "cm-reader", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cm-reader" },
      subjects: [{ kind: "ServiceAccount", name: "reader", namespace: ns }],
    });
    // The authorizer's cache catches up with the new binding within moments.
    await waitFor(
      "RoleBinding takes effect",
      async () => (await kubeGet(env.kubeServer, path, token!, env.kubeCaPem)).status === 200,
      {
        timeoutMs: 30_000,
      },
    );
  });

  it("establishes a CRD and validates custom resources against its schema", async () => {
    const ns = await newNamespace("smoke-crd");
    // A per-run group: CRDs are cluster-scoped and outlive the test.
    const group = `smoke${randomBytes(3).toString("hex")}.gitops-bot.dev`;
    const crdName = `widgets.${group}`;
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: crdName },
        spec: {
          group,
          scope: "Namespaced",
          names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: {
                    spec: {
                      type: "object",
                      required: ["size"],
                      properties: { size: { type: "integer", minimum: 1 }, color: { type: "string" } },
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    await waitFor(
      `CRD ${crdName} Established`,
      async () => {
        const crd = await ext.readCustomResourceDefinition({ name: crdName });
        return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );

    const widget: KubernetesObject & { spec: { size: number; color: string } } = {
      apiVersion: `${group}/v1`,
      kind: "Widget",
      metadata: { name: "blue", namespace: ns },
      spec: { size: 3, color: "blue" },
    };
    // Discovery may lag Established by a moment: retry the first apply until the kind is served.
    const applied = await waitFor("apply a Widget", async () => apply(widget), {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    expect(applied.metadata?.uid).toBeTruthy();
    const read = (await objects.read({
      apiVersion: widget.apiVersion!,
      kind: widget.kind!,
      metadata: { name: "blue", namespace: ns },
    })) as typeof widget;
    expect(read.spec).toEqual({ size: 3, color: "blue" });

    // The structural schema is enforced by the server (422 Invalid), not by us.
    const invalid = await statusOf(
      apply({ ...widget, metadata: { name: "bad", namespace: ns }, spec: { size: 0, color: "red" } }),
    );
    expect(invalid).toBe(422);
  });
});

describe("helm", () => {
  it("installs and upgrades a chart, and records the history", async () => {
    const env = e2eEnv();
    const ns = await newNamespace("smoke-helm");
    const chart = join(scratch, "hello-chart");
    await writeChart(chart);
    const helmHome = join(scratch, "helm-home");
    const helmEnv = {
      ...process.env,
      HELM_CACHE_HOME: join(helmHome, "cache"),
      HELM_CONFIG_HOME: join(helmHome, "config"),
      HELM_DATA_HOME: join(helmHome, "data"),
    };
    const helm = (...args: string[]) =>
      execFileP(env.tools.helm, [...args, "--kubeconfig", env.kubeconfigPath, "--namespace", ns], {
        env: helmEnv,
        timeout: 120_000,
      });

    // No --wait and no hooks: without a controller manager nothing would ever become ready.
    await helm("upgrade", "--install", "hello", chart, "--set", "message=first");
    await helm("upgrade", "--install", "hello", chart, "--set", "message=second");

    const { stdout } = await helm("history", "hello", "-o", "json");
    const history = JSON.parse(stdout) as Array<{
      revision: number;
      status: string;
      chart: string;
      app_version: string;
    }>;
    expect(history.map((h) => h.revision)).toEqual([1, 2]);
    expect(history.map((h) => h.status)).toEqual(["superseded", "deployed"]);
    expect(history[1]?.chart).toBe("hello-0.1.0");
    expect(history[1]?.app_version).toBe("1.2.3");

    // What the chart rendered is really in the cluster, with the upgraded value.
    const cm = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: "hello-config", namespace: ns });
    expect(cm.data?.message).toBe("second");
    expect(cm.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("Helm");
  });
});

async function writeChart(dir: string): Promise<void> {
  await mkdir(join(dir, "templates"), { recursive: true });
  await writeFile(
    join(dir, "Chart.yaml"),
    [
      "apiVersion: v2",
      "name: hello",
      "version: 0.1.0",
      'appVersion: "1.2.3"',
      'kubeVersion: ">=1.30.0-0"',
      "",
    ].join("\n"),
  );
  await writeFile(join(dir, "values.yaml"), "message: hello\n");
  await writeFile(
    join(dir, "templates", "configmap.yaml"),
    [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: {{ .Release.Name }}-config",
      "  labels:",
      "    app.kubernetes.io/managed-by: {{ .Release.Service }}",
      "data:",
      "  message: {{ .Values.message | quote }}",
      "",
    ].join("\n"),
  );
}

describe("registry", () => {
  it("accepts a pushed image and lists its tags", async () => {
    const env = e2eEnv();
    const reg: RegistryRef = { url: env.registryUrl };
    const repo = `smoke/app-${randomBytes(3).toString("hex")}`;
    const first = await pushImage(reg, repo, "1.0.0", {
      labels: { "org.opencontainers.image.revision": "abc" },
    });
    await pushImage(reg, repo, "1.1.0");
    expect((await listTags(reg, repo)).sort()).toEqual(["1.0.0", "1.1.0"]);

    // A HEAD on the tag gives the digest a pinned reference would use, and the config blob holds the labels.
    const head = await fetch(`${env.registryUrl}/v2/${repo}/manifests/1.0.0`, {
      method: "HEAD",
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(head.headers.get("docker-content-digest")).toBe(first.digest);
    const config = (await (
      await fetch(`${env.registryUrl}/v2/${repo}/blobs/${first.configDigest}`)
    ).json()) as {
      config: { Labels: Record<string, string> };
    };
    expect(config.config.Labels["org.opencontainers.image.revision"]).toBe("abc");
  });

  it("requires credentials on the htpasswd registry", async () => {
    const env = e2eEnv();
    const repo = `smoke/private-${randomBytes(3).toString("hex")}`;
    const anonymous = await fetch(`${env.authRegistryUrl}/v2/${repo}/tags/list`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    await expect(pushImage({ url: env.authRegistryUrl }, repo, "1.0.0")).rejects.toThrow(/401/);
    const wrong = await fetch(`${env.authRegistryUrl}/v2/`, {
      headers: authHeaders({ username: env.authRegistryCredentials.username, password: "wrong" }),
    });
    expect(wrong.status).toBe(401);

    const reg: RegistryRef = { url: env.authRegistryUrl, credentials: env.authRegistryCredentials };
    await pushImage(reg, repo, "2.0.0");
    expect(await listTags(reg, repo)).toEqual(["2.0.0"]);
  });
});

describe("git server", () => {
  let server: GitServer;
  const user = "e2e";
  const password = randomBytes(8).toString("hex");

  beforeAll(async () => {
    server = await startGitServer({ username: user, password });
    await server.createBareRepo("config.git");
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("accepts an authenticated push and serves it to a fresh clone", async () => {
    const git = (cwd: string, ...args: string[]) =>
      execFileP("git", ["-c", "user.name=Smoke", "-c", "user.email=smoke@example.com", ...args], { cwd });
    const authed = server.authUrl("config.git");
    const work = join(scratch, "work");
    await execFileP("git", ["clone", "--quiet", authed, work]);
    await writeFile(join(work, "app.yaml"), "image: registry.local/app:1.0.0\n");
    await git(work, "add", "app.yaml");
    await git(work, "commit", "--quiet", "-m", "[dev/app] release 1.0.0");
    await git(work, "push", "--quiet", "origin", "HEAD:main");
    const pushed = (await git(work, "rev-parse", "HEAD")).stdout.trim();

    const other = join(scratch, "other");
    await execFileP("git", ["clone", "--quiet", authed, other]);
    expect((await git(other, "rev-parse", "HEAD")).stdout.trim()).toBe(pushed);
    expect(await readFile(join(other, "app.yaml"), "utf8")).toBe("image: registry.local/app:1.0.0\n");

    // Another writer's commit shows up on fetch, on top of ours.
    const theirs = await server.commitDirect("config.git", {
      files: { "b.yaml": "x: 1\n" },
      message: "other writer",
    });
    await git(work, "fetch", "--quiet", "origin");
    expect((await git(work, "rev-parse", "origin/main")).stdout.trim()).toBe(theirs);
    expect((await git(work, "rev-parse", "origin/main~1")).stdout.trim()).toBe(pushed);

    // Without credentials the server refuses (git would prompt for a password; we forbid that).
    const anon = execFileP("git", ["ls-remote", server.url("config.git")], {
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
    });
    await expect(anon).rejects.toThrow(/401|Authentication failed|could not read Username/);
  });
});
