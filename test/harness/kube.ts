import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { freePorts, waitFor } from "./ports.js";
import { type ManagedProcess, removeOnExit, startProcess, stopAll } from "./process.js";
import { type E2eTools, loadTools } from "./tools.js";

/** A running etcd on loopback. */
export interface EtcdServer {
  /** http://127.0.0.1:<port> */
  url: string;
  dataDir: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** A running kube-apiserver (+ its etcd) on loopback, with an admin token in system:masters. */
export interface KubeEnv {
  /** https://127.0.0.1:<port> */
  server: string;
  /** Bearer token of user "admin" (group system:masters). */
  token: string;
  /** PEM bundle that verifies the API server's self-signed serving certificate. */
  caPem: string;
  /** kubeconfig file for the suite (context "e2e", user "admin"); also fine for helm/kubectl. */
  kubeconfigPath: string;
  /** Working dir holding certs, keys, token file, logs; removed by stop(). */
  dir: string;
  /** Log files of etcd and kube-apiserver (kept until stop()). */
  logs: { etcd: string; apiserver: string };
  etcd: EtcdServer;
  /** The running kube-apiserver process (a new one after `restartApiServer`). */
  readonly apiserver: ManagedProcess;
  /** Kills the API server and starts it again on the same port and certificates (etcd keeps the
   * data); resolves when it is ready again. `downMs`: how long it stays down. */
  restartApiServer(opts?: { downMs?: number }): Promise<void>;
  /** Stops the API server, then etcd, and removes all files. Idempotent. */
  stop(): Promise<void>;
}

export interface StartKubeOptions {
  tools?: E2eTools;
  /** Where the kubeconfig goes (default: inside `dir`). */
  kubeconfigPath?: string;
  /** ms to wait for /readyz (default 120 s: a cold start on a busy 2-core box can take a while). */
  readyTimeoutMs?: number;
}

/** tmpfs when there is one: etcd fsyncs are the slowest part of an API server under test. */
function fastTmp(): string {
  return existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
}

async function startFailure(proc: ManagedProcess, err: unknown): Promise<Error> {
  const msg = err instanceof Error ? err.message : String(err);
  return new Error(
    `${proc.name} did not start: ${msg}\n--- ${proc.logFile} (tail) ---\n${await proc.logTail(40)}`,
  );
}

/** Starts etcd on free loopback ports with `--unsafe-no-fsync` and a data dir on tmpfs; waits for /health. */
export async function startEtcd(opts: { tools?: E2eTools; logFile?: string } = {}): Promise<EtcdServer> {
  const tools = opts.tools ?? (await loadTools());
  const dataDir = await mkdtemp(join(fastTmp(), "gitops-bot-etcd-"));
  const forget = removeOnExit(dataDir);
  const logFile = opts.logFile ?? join(dataDir, "etcd.log");
  for (let attempt = 1; ; attempt++) {
    const [client, peer] = await freePorts(2);
    const url = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const proc = startProcess(
      "etcd",
      tools.etcd,
      [
        "--name=e2e",
        `--data-dir=${join(dataDir, "data")}`,
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=e2e=${peerUrl}`,
        "--unsafe-no-fsync",
        "--log-level=warn",
      ],
      { logFile },
    );
    try {
      await waitFor(
        "etcd /health",
        async () => {
          const res = await fetch(`${url}/health`);
          return res.ok && ((await res.json()) as { health?: string }).health === "true";
        },
        { timeoutMs: 30_000, abort: proc.exitReason },
      );
    } catch (err) {
      await proc.stop();
      const tailText = await proc.logTail();
      // Another process may have grabbed the port between freePorts() and bind: retry.
      if (attempt < 3 && /address already in use/.test(tailText)) continue;
      const error = await startFailure(proc, err);
      await rm(dataDir, { recursive: true, force: true });
      forget();
      throw error;
    }
    return {
      url,
      dataDir,
      process: proc,
      stop: async () => {
        await proc.stop();
        await rm(dataDir, { recursive: true, force: true });
        forget();
      },
    };
  }
}

/** GET over TLS trusting only `caPem`, with a bearer token; resolves with status and body. */
export function kubeGet(
  server: string,
  path: string,
  token: string,
  caPem: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}${path}`,
      { ca: caPem, headers: { authorization: `Bearer ${token}` }, timeout: 5_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** Writes a kubeconfig (cluster/context/user all named "e2e"/"admin") and returns its path. */
export async function writeKubeconfig(
  path: string,
  server: string,
  caPem: string,
  token: string,
): Promise<string> {
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "e2e",
        cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") },
      },
    ],
    users: [{ name: "admin", user: { token } }],
    contexts: [{ name: "e2e", context: { cluster: "e2e", user: "admin", namespace: "default" } }],
    "current-context": "e2e",
    preferences: {},
  };
  // 0600: helm warns about group/world-readable kubeconfigs.
  await writeFile(path, stringify(doc), { mode: 0o600 });
  return path;
}

/**
 * Starts etcd + kube-apiserver on random free loopback ports, the way controller-runtime's
 * envtest runs them (self-signed serving cert, static admin token, RBAC, service-account keys
 * from one RSA key), waits for /readyz and writes a kubeconfig. There is no controller manager:
 * namespaces never finish deleting, nothing is garbage-collected, Deployments get no pods.
 * On any failure everything started so far is stopped before the error is thrown.
 */
export async function startKube(opts: StartKubeOptions = {}): Promise<KubeEnv> {
  const tools = opts.tools ?? (await loadTools());
  const dir = await mkdtemp(join(fastTmp(), "gitops-bot-kube-"));
  const forget = removeOnExit(dir);
  const logs = { etcd: join(dir, "etcd.log"), apiserver: join(dir, "kube-apiserver.log") };
  let etcd: EtcdServer | undefined;
  let apiserver: ManagedProcess | undefined;
  const cleanup = () =>
    stopAll([
      async () => {
        await rm(dir, { recursive: true, force: true });
        forget();
      },
      etcd?.stop,
      apiserver && (() => apiserver!.stop()),
    ]);
  try {
    etcd = await startEtcd({ tools, logFile: logs.etcd });

    const certDir = join(dir, "certs");
    await mkdir(certDir, { recursive: true });
    const token = randomBytes(24).toString("hex");
    const tokenFile = join(dir, "tokens.csv");
    await writeFile(tokenFile, `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
    // One RSA key both verifies and signs service-account tokens (as envtest does).
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const saKey = join(dir, "sa.key");
    await writeFile(saKey, privateKey, { mode: 0o600 });

    for (let attempt = 1; ; attempt++) {
      const [port] = await freePorts(1);
      const server = `https://127.0.0.1:${port}`;
      const etcdUrl = etcd.url;
      const launch = () =>
        startProcess(
          "kube-apiserver",
          tools.kubeApiserver,
          [
            `--etcd-servers=${etcdUrl}`,
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            `--secure-port=${port}`,
            `--cert-dir=${certDir}`,
            `--token-auth-file=${tokenFile}`,
            "--authorization-mode=RBAC",
            `--service-account-issuer=${server}`,
            `--service-account-key-file=${saKey}`,
            `--service-account-signing-key-file=${saKey}`,
            "--service-cluster-ip-range=10.0.0.0/24",
            "--disable-admission-plugins=ServiceAccount",
            "--allow-privileged=true",
            "--v=0",
          ],
          { logFile: logs.apiserver },
        );
      apiserver = launch();
      let proc = apiserver;
      try {
        // The serving cert appears in certDir a moment after start; then wait for /readyz.
        const certFile = join(certDir, "apiserver.crt");
        const caPem = await waitFor(
          "kube-apiserver serving certificate",
          async () => (existsSync(certFile) ? await readFile(certFile, "utf8") : null),
          { timeoutMs: 60_000, abort: proc.exitReason },
        );
        await waitFor(
          "kube-apiserver /readyz",
          async () => (await kubeGet(server, "/readyz", token, caPem)).status === 200,
          { timeoutMs: opts.readyTimeoutMs ?? 120_000, intervalMs: 250, abort: proc.exitReason },
        );
        const kubeconfigPath = await writeKubeconfig(
          opts.kubeconfigPath ?? join(dir, "kubeconfig"),
          server,
          caPem,
          token,
        );
        const etcdServer = etcd;
        let stopped: Promise<void> | null = null;
        return {
          server,
          token,
          caPem,
          kubeconfigPath,
          dir,
          logs,
          etcd: etcdServer,
          get apiserver() {
            return proc;
          },
          restartApiServer: async ({ downMs = 0 } = {}) => {
            // Killed, not drained: what a crash or an OOM kill looks like to clients.
            await proc.stop(0);
            if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
            proc = launch();
            apiserver = proc;
            // Same port and cert dir: the serving certificate (and so the kubeconfig) stays valid.
            await waitFor(
              "kube-apiserver /readyz after a restart",
              async () => (await kubeGet(server, "/readyz", token, caPem)).status === 200,
              { timeoutMs: opts.readyTimeoutMs ?? 120_000, intervalMs: 250, abort: proc.exitReason },
            );
          },
          stop: () => {
            stopped ??= stopAll([
              async () => {
                await rm(dir, { recursive: true, force: true });
                forget();
              },
              opts.kubeconfigPath ? () => rm(kubeconfigPath, { force: true }) : undefined,
              etcdServer.stop,
              () => proc.stop(),
            ]);
            return stopped;
          },
        };
      } catch (err) {
        await proc.stop();
        if (attempt < 3 && /address already in use/.test(await proc.logTail())) continue;
        throw await startFailure(proc, err);
      }
    }
  } catch (err) {
    await cleanup().catch(() => {});
    throw err;
  }
}

/** A KubeConfig for @kubernetes/client-node loaded from a kubeconfig file. */
export function kubeConfigFromFile(kubeconfigPath: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc;
}

/**
 * Creates a namespace named `<prefix>-<random>` and returns its name. Use one per test.
 * Without a controller manager a deleted namespace stays Terminating forever, so tests never
 * rely on namespace deletion; the whole etcd is thrown away at the end of the run instead.
 */
export async function createNamespace(
  kubeconfig: string | KubeConfig,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const kc = typeof kubeconfig === "string" ? kubeConfigFromFile(kubeconfig) : kubeconfig;
  const base = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 50);
  const name = `${base || "test"}-${randomBytes(4).toString("hex")}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({
    body: { metadata: { name, labels: { "e2e.gitops-bot.dev/test": "true", ...labels } } },
  });
  return name;
}
