#!/usr/bin/env node
// `npm run e2e:tools`: provisions the real components the e2e suite runs against, from this
// machine's registries only (Go module proxy, Debian apt), and caches them under
// $HOME/.cache/gitops-bot-tools/<tool>-<version>/bin with a stamp so a second run takes seconds.
//
//   kube-apiserver  built from test/e2e/tools/kube-apiserver (wrapper Go module), version-stamped
//   etcd            built from test/e2e/tools/etcd (wrapper Go module)
//   helm            `go install helm.sh/helm/v4/cmd/helm@<version>`
//   docker-registry Debian package (installed with apt-get when missing and we are root)
//   htpasswd        apache2-utils (bcrypt entries for the registry's htpasswd auth)
//   git, kubectl    taken from PATH (kubectl is optional: only the benchmarks use it)
//
// It writes $HOME/.cache/gitops-bot-tools/env.json, which test/harness/tools.ts reads.
// Flags: --force (rebuild everything), --only=<tool>[,<tool>] (provision a subset).
// Env: GITOPS_BOT_TOOLS_DIR overrides the cache root; E2E_TOOLS_BUILD_TIMEOUT_MIN (default 75).
// No shell strings anywhere: every process is spawned with an argument array.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TOOLS_SRC = join(REPO, "test", "e2e", "tools");
const ROOT = process.env.GITOPS_BOT_TOOLS_DIR || join(homedir(), ".cache", "gitops-bot-tools");
const HELM_VERSION = "v4.3.1";
const MIN_GO = [1, 26];
const BUILD_TIMEOUT_MS = Number(process.env.E2E_TOOLS_BUILD_TIMEOUT_MIN || 75) * 60_000;
// Bump when the way a tool is built changes, so stale caches are rebuilt.
const RECIPE = "1";

const args = process.argv.slice(2);
const force = args.includes("--force");
const onlyArg = args.find((a) => a.startsWith("--only="));
const only = onlyArg ? new Set(onlyArg.slice("--only=".length).split(",")) : null;

const t0 = Date.now();
const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;
const log = (msg) => process.stdout.write(`[e2e:tools] ${msg}\n`);

class ToolError extends Error {}

/** Runs a command (argument array, never a shell); resolves with its output, rejects with the tail of it. */
function run(
  cmd,
  argv,
  { cwd = REPO, env = process.env, timeoutMs = 120_000, label = cmd, echo = false } = {},
) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, argv, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const onData = (chunk) => {
      out += chunk.toString();
      // Keep only the tail: a cold Go build prints thousands of "downloading" lines.
      if (out.length > 200_000) out = out.slice(-100_000);
      if (echo) process.stdout.write(chunk);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new ToolError(`${label}: timed out after ${secs(timeoutMs)}\n${tail(out)}`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new ToolError(`${label}: cannot start ${cmd}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(out);
      else reject(new ToolError(`${label}: exited with ${signal ?? code}\n${tail(out)}`));
    });
  });
}

function tail(text, lines = 40) {
  // Drop Go's download chatter so the real error is what the reader sees.
  const kept = text.split("\n").filter((l) => !/^go: (downloading|finding|extracting) /.test(l));
  return kept.slice(-lines).join("\n");
}

/** Finds an executable on PATH (plus the usual sbin dirs, where Debian may put things). */
function which(name) {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

async function hashFiles(paths, extra) {
  const h = createHash("sha256");
  for (const p of paths) {
    // The path relative to the repo, so that every checkout of the same commit shares the cache.
    h.update(relative(REPO, p));
    h.update(existsSync(p) ? await readFile(p) : "<missing>");
  }
  h.update(extra);
  return h.digest("hex").slice(0, 16);
}

async function readStamp(dir) {
  try {
    return JSON.parse(await readFile(join(dir, "stamp.json"), "utf8"));
  } catch {
    return null;
  }
}

function goEnv() {
  return {
    ...process.env,
    GOTOOLCHAIN: "local", // never download another Go toolchain behind our back
    // -buildvcs=false: the wrapper modules sit inside this git checkout, and VCS stamping fails
    // when the checkout belongs to another user (common in CI containers).
    GOFLAGS: "-mod=mod -buildvcs=false",
    CGO_ENABLED: "0",
  };
}

async function checkGo() {
  const go = which("go");
  if (!go) throw new ToolError("go is not on PATH: install Go >= 1.26 (k8s 1.36 needs it)");
  const out = await run(go, ["env", "GOVERSION"], { env: goEnv(), label: "go env" });
  const m = /go(\d+)\.(\d+)/.exec(out);
  if (!m || Number(m[1]) < MIN_GO[0] || (Number(m[1]) === MIN_GO[0] && Number(m[2]) < MIN_GO[1])) {
    throw new ToolError(`go ${out.trim()} is too old: k8s 1.36 needs go >= ${MIN_GO.join(".")}`);
  }
  return { go, version: out.trim() };
}

/** Reads `require <module> <version>` from a wrapper module's go.mod. */
async function requiredVersion(modDir, module) {
  const text = await readFile(join(modDir, "go.mod"), "utf8");
  const m = new RegExp(`^\\s*(?:require\\s+)?${module.replaceAll(".", "\\.")}\\s+(v\\S+)`, "m").exec(text);
  if (!m?.[1]) throw new ToolError(`${modDir}/go.mod does not require ${module}`);
  return m[1];
}

function k8sLdflags(version) {
  const m = /^v(\d+)\.(\d+)/.exec(version);
  const flags = ["-s", "-w"];
  // Helm refuses charts that declare kubeVersion unless the server reports a real version,
  // and client-go reports its own: stamp both packages.
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    flags.push(
      `-X ${pkg}.gitVersion=${version}`,
      `-X ${pkg}.gitMajor=${m?.[1] ?? ""}`,
      `-X ${pkg}.gitMinor=${m?.[2] ?? ""}`,
      `-X ${pkg}.gitCommit=0000000000000000000000000000000000000000`,
      `-X ${pkg}.gitTreeState=clean`,
      `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
    );
  }
  return flags.join(" ");
}

/**
 * Provisions one Go-built tool: reuses the cached binary when its stamp matches the recipe,
 * otherwise builds into a temp path and renames it into place (a killed build never leaves
 * a half-written binary behind a valid stamp).
 */
async function goTool({ name, version, key: keyFn, build, check }) {
  const key = await keyFn();
  const dir = join(ROOT, `${name}-${version}`);
  const bin = join(dir, "bin", name);
  const stamp = await readStamp(dir);
  if (!force && stamp?.key === key && existsSync(bin)) {
    try {
      await check(bin);
      log(`${name} ${version}: cached (${bin})`);
      return { name, bin, version, built: false, seconds: 0 };
    } catch (err) {
      log(`${name} ${version}: cached binary does not run (${err.message.split("\n")[0]}), rebuilding`);
    }
  }
  log(`${name} ${version}: building (cold builds take minutes; kube-apiserver ~15+ min on 2 cores)...`);
  const started = Date.now();
  await mkdir(join(dir, "bin"), { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}`;
  await rm(tmp, { force: true });
  // A heartbeat, so that a long cold build does not look like a hang.
  const beat = setInterval(
    () => log(`${name} ${version}: still building (${secs(Date.now() - started)})`),
    60_000,
  );
  try {
    await build(tmp);
  } finally {
    clearInterval(beat);
  }
  await chmod(tmp, 0o755);
  await check(tmp);
  await rename(tmp, bin);
  // -mod=mod may have completed go.sum during the build: stamp what the next run will hash.
  const builtKey = await keyFn();
  const seconds = (Date.now() - started) / 1000;
  await writeFile(
    join(dir, "stamp.json"),
    `${JSON.stringify({ name, version, key: builtKey, builtAt: new Date().toISOString(), seconds }, null, 2)}\n`,
  );
  log(`${name} ${version}: built in ${secs(seconds * 1000)} -> ${bin}`);
  return { name, bin, version, built: true, seconds };
}

async function kubeApiserver(go) {
  const modDir = join(TOOLS_SRC, "kube-apiserver");
  const version = await requiredVersion(modDir, "k8s.io/kubernetes");
  const ldflags = k8sLdflags(version);
  const files = ["go.mod", "go.sum", "main.go"].map((f) => join(modDir, f));
  return goTool({
    name: "kube-apiserver",
    version,
    key: () => hashFiles(files, `${RECIPE}|${go.version}|${ldflags}`),
    build: (out) =>
      run(go.go, ["build", "-trimpath", "-ldflags", ldflags, "-o", out, "."], {
        cwd: modDir,
        env: goEnv(),
        timeoutMs: BUILD_TIMEOUT_MS,
        label: "go build kube-apiserver",
      }),
    check: async (bin) => {
      const out = await run(bin, ["--version"], { label: "kube-apiserver --version" });
      if (!out.includes(version)) throw new ToolError(`kube-apiserver --version says ${out.trim()}`);
    },
  });
}

async function etcd(go) {
  const modDir = join(TOOLS_SRC, "etcd");
  const version = await requiredVersion(modDir, "go.etcd.io/etcd/server/v3");
  const files = ["go.mod", "go.sum", "main.go"].map((f) => join(modDir, f));
  return goTool({
    name: "etcd",
    version,
    key: () => hashFiles(files, `${RECIPE}|${go.version}`),
    build: (out) =>
      run(go.go, ["build", "-trimpath", "-ldflags", "-s -w", "-o", out, "."], {
        cwd: modDir,
        env: goEnv(),
        timeoutMs: BUILD_TIMEOUT_MS,
        label: "go build etcd",
      }),
    check: async (bin) => {
      const out = await run(bin, ["--version"], { label: "etcd --version" });
      if (!out.includes(version.slice(1))) throw new ToolError(`etcd --version says ${out.trim()}`);
    },
  });
}

async function helm(go) {
  const version = HELM_VERSION;
  // The same stamps as helm's Makefile for a release tag (else it reports "+unreleased").
  const ldflags = [
    "-s -w",
    `-X helm.sh/helm/v4/internal/version.version=${version}`,
    "-X helm.sh/helm/v4/internal/version.metadata=",
    "-X helm.sh/helm/v4/internal/version.gitTreeState=clean",
  ].join(" ");
  return goTool({
    name: "helm",
    version,
    key: () => hashFiles([], `${RECIPE}|${go.version}|${ldflags}`),
    build: async (out) => {
      const gobin = `${out}.d`;
      await rm(gobin, { recursive: true, force: true });
      // `go install pkg@version` ignores the current module; GOFLAGS=-mod=mod is not allowed there.
      await run(go.go, ["install", "-trimpath", "-ldflags", ldflags, `helm.sh/helm/v4/cmd/helm@${version}`], {
        env: { ...goEnv(), GOFLAGS: "-buildvcs=false", GOBIN: gobin },
        timeoutMs: BUILD_TIMEOUT_MS,
        label: "go install helm",
      });
      await rename(join(gobin, "helm"), out);
      await rm(gobin, { recursive: true, force: true });
    },
    check: async (bin) => {
      const out = await run(bin, ["version", "--short"], { label: "helm version" });
      if (!out.startsWith("v4.")) throw new ToolError(`helm version says ${out.trim()}`);
    },
  });
}

/** Debian packages: use what is there; install with apt-get when missing and we are root. */
async function debianTools() {
  const wanted = [
    { bin: "docker-registry", pkg: "docker-registry" },
    { bin: "htpasswd", pkg: "apache2-utils" },
    { bin: "git", pkg: "git" },
    // sshd for the git-over-SSH integration tests (test/harness/ssh-server.ts).
    { bin: "sshd", pkg: "openssh-server" },
  ];
  const missing = wanted.filter((w) => !which(w.bin));
  if (missing.length > 0) {
    const pkgs = missing.map((m) => m.pkg);
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    if (!isRoot || !which("apt-get")) {
      throw new ToolError(
        `missing ${missing.map((m) => m.bin).join(", ")}: run apt-get install -y ${pkgs.join(" ")}`,
      );
    }
    const started = Date.now();
    log(`apt-get install ${pkgs.join(" ")}...`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = ["install", "-y", "--no-install-recommends", ...pkgs];
    try {
      await run("apt-get", install, { env, timeoutMs: 15 * 60_000, label: "apt-get install" });
    } catch {
      // A fresh machine has no package lists yet.
      await run("apt-get", ["update"], { env, timeoutMs: 15 * 60_000, label: "apt-get update" });
      await run("apt-get", install, { env, timeoutMs: 15 * 60_000, label: "apt-get install" });
    }
    log(`apt-get install: ${secs(Date.now() - started)}`);
  }
  const found = {};
  for (const w of wanted) {
    const p = which(w.bin);
    if (!p) throw new ToolError(`${w.bin} still not found after installing ${w.pkg}`);
    found[w.bin] = p;
  }
  const regVersion = (
    await run(found["docker-registry"], ["--version"], { label: "docker-registry --version" })
  )
    .trim()
    .split(/\s+/)
    .find((s) => /^v?\d+\.\d+/.test(s));
  log(
    `docker-registry ${regVersion ?? "?"}: ${found["docker-registry"]}; htpasswd: ${found.htpasswd}; git: ${found.git}`,
  );
  return { ...found, registryVersion: regVersion ?? null };
}

async function main() {
  log(`cache: ${ROOT}${force ? " (--force: rebuilding)" : ""}`);
  await mkdir(ROOT, { recursive: true });
  const envFile = join(ROOT, "env.json");
  let previous = {};
  try {
    previous = JSON.parse(await readFile(envFile, "utf8"));
  } catch {
    // first run
  }
  const wants = (t) => !only || only.has(t);

  const goInfo = wants("kube-apiserver") || wants("etcd") || wants("helm") ? await checkGo() : null;
  const deb = wants("debian") ? debianTools() : Promise.resolve(null);
  if (goInfo) log(`${goInfo.version}, GOTOOLCHAIN=local, CGO_ENABLED=0`);
  // The three Go builds run concurrently: a cold build is mostly module downloads (network)
  // interleaved with compiling, and Go's build cache is safe for concurrent use.
  const results = await Promise.allSettled([
    wants("kube-apiserver") && goInfo ? kubeApiserver(goInfo) : null,
    wants("etcd") && goInfo ? etcd(goInfo) : null,
    wants("helm") && goInfo ? helm(goInfo) : null,
    deb,
  ]);
  const failures = results.filter((r) => r.status === "rejected").map((r) => r.reason);
  if (failures.length > 0) {
    for (const f of failures)
      process.stderr.write(`\n[e2e:tools] FAILED: ${f instanceof Error ? f.message : f}\n`);
    throw new ToolError(`${failures.length} tool(s) could not be provisioned (see above)`);
  }
  const [kas, etc, hlm, debs] = results.map((r) => (r.status === "fulfilled" ? r.value : null));
  const kubectl = which("kubectl");
  const env = {
    ...previous,
    generatedAt: new Date().toISOString(),
    ...(kas && { kubeApiserver: kas.bin, kubeVersion: kas.version }),
    ...(etc && { etcd: etc.bin, etcdVersion: etc.version }),
    ...(hlm && { helm: hlm.bin, helmVersion: hlm.version }),
    ...(debs && {
      registry: debs["docker-registry"],
      registryVersion: debs.registryVersion,
      htpasswd: debs.htpasswd,
      git: debs.git,
    }),
    kubectl,
  };
  await writeFile(envFile, `${JSON.stringify(env, null, 2)}\n`);
  if (!kubectl) log("kubectl: not on PATH (optional: only the benchmarks compare against it)");
  else log(`kubectl: ${kubectl}`);
  for (const r of [kas, etc, hlm]) {
    if (r) log(`  ${r.name} ${r.version}: ${r.built ? `built in ${secs(r.seconds * 1000)}` : "cached"}`);
  }
  log(`wrote ${envFile}`);
  log(`done in ${secs(Date.now() - t0)}`);
}

main().catch((err) => {
  process.stderr.write(
    `\n[e2e:tools] FAILED after ${secs(Date.now() - t0)}: ${err instanceof Error ? err.message : err}\n`,
  );
  process.exit(1);
});
