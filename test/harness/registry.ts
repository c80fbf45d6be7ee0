import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { stringify } from "yaml";
import { freePorts, waitFor } from "./ports.js";
import { type ManagedProcess, removeOnExit, startProcess } from "./process.js";
import { loadRegistryTools, type RegistryTools } from "./tools.js";

const execFileP = promisify(execFile);

/** Basic-auth credentials for the htpasswd-protected registry. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Where a registry is and how to log in to it: all that pushImage/listTags need. */
export interface RegistryRef {
  /** http://127.0.0.1:<port> */
  url: string;
  credentials?: RegistryCredentials;
}

/** A running Debian docker-registry (distribution 2.8) on loopback. */
export interface RegistryServer extends RegistryRef {
  /** 127.0.0.1:<port>, the form image references use (`${host}/team/app:1.0.0`). */
  host: string;
  dir: string;
  process: ManagedProcess;
  /** Stops the registry and removes its storage. Idempotent. */
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  /** Default: env.json of `npm run e2e:tools`, else PATH (see loadRegistryTools). */
  tools?: RegistryTools;
  /** Turn on htpasswd auth. `true` generates random credentials. */
  auth?: RegistryCredentials | true;
}

/** Writes an htpasswd file with one bcrypt entry (the only hash docker-registry accepts). */
export async function writeHtpasswd(
  tools: RegistryTools,
  file: string,
  creds: RegistryCredentials,
): Promise<void> {
  // -C 4: the lowest bcrypt cost. The registry checks the hash on every request, and at the
  // default cost each request would spend tens of ms in bcrypt (benchmarks push thousands).
  // -i reads the password from stdin so it never shows in `ps`.
  const child = execFileP(tools.htpasswd, ["-n", "-i", "-B", "-C", "4", creds.username]);
  child.child.stdin?.end(creds.password);
  const { stdout } = await child;
  await writeFile(file, stdout, { mode: 0o600 });
}

/** The Authorization header for `creds`, or none. */
export function authHeaders(creds?: RegistryCredentials): Record<string, string> {
  return creds
    ? { authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}` }
    : {};
}

/**
 * Starts docker-registry on a free loopback port with filesystem storage in a temp dir, with
 * htpasswd (bcrypt) auth when `auth` is given; waits until /v2/ answers (200, or 401 with auth).
 */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RegistryServer> {
  const tools = opts.tools ?? (await loadRegistryTools());
  const dir = await mkdtemp(join(tmpdir(), "gitops-bot-registry-"));
  const forget = removeOnExit(dir);
  const credentials =
    opts.auth === true
      ? { username: "e2e", password: randomBytes(12).toString("hex") }
      : opts.auth || undefined;
  try {
    let htpasswd: string | undefined;
    if (credentials) {
      htpasswd = join(dir, "htpasswd");
      await writeHtpasswd(tools, htpasswd, credentials);
    }
    for (let attempt = 1; ; attempt++) {
      const [port] = await freePorts(1);
      const host = `127.0.0.1:${port}`;
      const config = {
        version: 0.1,
        log: { level: "warn", accesslog: { disabled: true } },
        storage: {
          filesystem: { rootdirectory: join(dir, "data") },
          delete: { enabled: true },
          cache: { blobdescriptor: "inmemory" },
        },
        http: { addr: host, secret: randomBytes(16).toString("hex") },
        ...(htpasswd && { auth: { htpasswd: { realm: "gitops-bot-e2e", path: htpasswd } } }),
      };
      const configFile = join(dir, `config-${attempt}.yml`);
      await writeFile(configFile, stringify(config));
      const proc = startProcess("docker-registry", tools.registry, ["serve", configFile], {
        logFile: join(dir, "registry.log"),
      });
      const url = `http://${host}`;
      try {
        await waitFor(
          "docker-registry /v2/",
          async () => {
            const res = await fetch(`${url}/v2/`);
            await res.arrayBuffer();
            return res.status === (credentials ? 401 : 200);
          },
          { timeoutMs: 30_000, abort: proc.exitReason },
        );
      } catch (err) {
        await proc.stop();
        const logText = await proc.logTail(40);
        if (attempt < 3 && /address already in use/.test(logText)) continue;
        throw new Error(`docker-registry did not start: ${(err as Error).message}\n${logText}`);
      }
      let stopped: Promise<void> | null = null;
      return {
        url,
        host,
        dir,
        process: proc,
        ...(credentials && { credentials }),
        stop: () => {
          stopped ??= proc.stop().finally(async () => {
            await rm(dir, { recursive: true, force: true });
            forget();
          });
          return stopped;
        },
      };
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    forget();
    throw err;
  }
}

/** sha256:<hex> of bytes. */
export function digestOf(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** A one-file ustar archive (enough for a real, unpackable image layer). */
function tarOneFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, "utf8");
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(`${content.length.toString(8).padStart(11, "0")}\0`, 124);
  header.write("00000000000\0", 136); // mtime 0 keeps layers reproducible
  header.write("        ", 148); // checksum is computed with this field as spaces
  header.write("0", 156);
  header.write("ustar\u000000", 257);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, pad, Buffer.alloc(1024)]);
}

async function registryFetch(reg: RegistryRef, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = {
    ...authHeaders(reg.credentials),
    ...(init.headers as Record<string, string> | undefined),
  };
  return fetch(new URL(path, reg.url), { ...init, headers });
}

async function expectStatus(res: Response, ok: number[], what: string): Promise<void> {
  if (!ok.includes(res.status)) {
    throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  }
  await res.arrayBuffer().catch(() => {});
}

/** Uploads a blob unless the registry has it (monolithic upload: POST, then PUT ?digest=). */
export async function pushBlob(reg: RegistryRef, repo: string, data: Buffer): Promise<string> {
  const digest = digestOf(data);
  const head = await registryFetch(reg, `/v2/${repo}/blobs/${digest}`, { method: "HEAD" });
  await head.arrayBuffer();
  if (head.status === 200) return digest;
  const start = await registryFetch(reg, `/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await expectStatus(start, [202], `start upload to ${repo}`);
  const location = start.headers.get("location");
  if (!location) throw new Error(`start upload to ${repo}: no Location header`);
  const put = new URL(location, reg.url);
  put.searchParams.set("digest", digest);
  const res = await registryFetch(reg, put.pathname + put.search, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: data,
  });
  await expectStatus(res, [201], `upload blob ${digest} to ${repo}`);
  return digest;
}

export interface PushedImage {
  /** Manifest digest (Docker-Content-Digest), what a pinned reference uses. */
  digest: string;
  configDigest: string;
  layerDigest: string;
  /** The `created` time written in the config blob. */
  created: string;
  /** Bytes of the manifest (for an index's descriptor). */
  size: number;
}

/**
 * Pushes a tiny but real OCI image (config blob, one gzipped tar layer, manifest) as `repo:tag`
 * with plain HTTP calls. `labels` and `created` land in the config blob, where registry scanners
 * read them. Blobs already in the registry are not uploaded again.
 */
export async function pushImage(
  reg: RegistryRef,
  repo: string,
  tag: string,
  opts: {
    labels?: Record<string, string>;
    /** `null`: no `created` field at all. */
    created?: Date | null;
    layerContent?: string;
    platform?: { os: string; architecture: string };
  } = {},
): Promise<PushedImage> {
  const raw = tarOneFile("hello.txt", Buffer.from(opts.layerContent ?? `${repo}:${tag}\n`));
  // level 9 and no timestamps in the gzip header: identical content gives identical digests.
  const layer = gzipSync(raw, { level: 9 });
  const created = opts.created === null ? "" : (opts.created ?? new Date()).toISOString();
  const config = Buffer.from(
    JSON.stringify({
      architecture: opts.platform?.architecture ?? "amd64",
      os: opts.platform?.os ?? "linux",
      ...(created ? { created } : {}),
      config: { Labels: opts.labels ?? {}, Cmd: ["/bin/true"] },
      rootfs: { type: "layers", diff_ids: [digestOf(raw)] },
      history: [{ created, created_by: "gitops-bot test harness" }],
    }),
  );
  const [configDigest, layerDigest] = [await pushBlob(reg, repo, config), await pushBlob(reg, repo, layer)];
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: configDigest,
      size: config.length,
    },
    layers: [
      { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: layer.length },
    ],
  });
  const res = await registryFetch(reg, `/v2/${repo}/manifests/${encodeURIComponent(tag)}`, {
    method: "PUT",
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  });
  const digest = res.headers.get("docker-content-digest") ?? digestOf(manifest);
  await expectStatus(res, [201], `put manifest ${repo}:${tag}`);
  return { digest, configDigest, layerDigest, created, size: Buffer.byteLength(manifest) };
}

/** Pushes an OCI image index as `repo:tag` over images already pushed (by digest), each with its
 * platform; `unknown/unknown` children stand for build attestations. Returns the index digest. */
export async function pushIndex(
  reg: RegistryRef,
  repo: string,
  tag: string,
  children: { image: PushedImage; os: string; architecture: string }[],
): Promise<string> {
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: children.map((c) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: c.image.digest,
      size: c.image.size,
      platform: { os: c.os, architecture: c.architecture },
    })),
  });
  const res = await registryFetch(reg, `/v2/${repo}/manifests/${encodeURIComponent(tag)}`, {
    method: "PUT",
    headers: { "content-type": "application/vnd.oci.image.index.v1+json" },
    body: index,
  });
  const digest = res.headers.get("docker-content-digest") ?? digestOf(index);
  await expectStatus(res, [201], `put index ${repo}:${tag}`);
  return digest;
}

/** All tags of `repo` (follows `Link` pagination; docker-registry 2.8 returns them unsorted). */
export async function listTags(reg: RegistryRef, repo: string): Promise<string[]> {
  const tags: string[] = [];
  let next: string | null = `/v2/${repo}/tags/list`;
  while (next) {
    const res = await registryFetch(reg, next);
    if (res.status !== 200) throw new Error(`list tags of ${repo}: HTTP ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { tags?: string[] | null };
    tags.push(...(body.tags ?? []));
    const link = res.headers.get("link");
    next = link ? (/<([^>]+)>/.exec(link)?.[1] ?? null) : null;
  }
  return tags;
}
