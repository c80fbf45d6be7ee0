/**
 * The Dockerfile cannot be built here (no Docker, no internet), so this keeps it honest against the
 * package instead: the entrypoint is the package's bin, every file it copies exists and is in the
 * build context, helm is the version the e2e tests run (with a pinned module checksum), the image
 * runs as a non-root user and writes only to the volumes the chart mounts.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { toolsDir } from "../../harness/tools.js";

const root = resolve(import.meta.dirname, "../../..");
const goOnPath = () => (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, "go")));
const read = (p: string) => readFileSync(join(root, p), "utf8");

interface Instruction {
  op: string;
  args: string;
  stage: string;
}

/** Instructions in order (continuation lines joined, comments dropped), each with its stage name. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = "";
  let stageIndex = 0;
  const logical = text
    .split("\n")
    .filter((l) => !/^\s*#/.test(l))
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  for (const line of logical) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) throw new Error(`cannot parse Dockerfile line: ${line}`);
    if (m[1] === "FROM") stage = /\sAS\s+(\S+)/i.exec(m[2])?.[1] ?? `#${stageIndex}`;
    if (m[1] === "FROM") stageIndex++;
    out.push({ op: m[1], args: m[2], stage });
  }
  return out;
}

const dockerfile = parseDockerfile(read("Dockerfile"));
const stages = [...new Set(dockerfile.map((i) => i.stage))];
const runtime = dockerfile.filter((i) => i.stage === stages.at(-1));
const json = (args: string) => JSON.parse(args) as string[];
const pkg = JSON.parse(read("package.json")) as { bin: Record<string, string>; engines: { node: string } };

describe("the Dockerfile", () => {
  it("is multi-stage and its entrypoint runs the package's bin", () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const entry = runtime.filter((i) => i.op === "ENTRYPOINT").at(-1);
    expect(entry, "the runtime stage has an ENTRYPOINT").toBeDefined();
    const argv = json(entry?.args ?? "[]");
    const bin = pkg.bin["gitops-bot"];
    expect(bin).toBeDefined();
    const workdir = runtime.filter((i) => i.op === "WORKDIR").at(-1)?.args;
    expect(argv.slice(-2)).toEqual(["node", join(workdir ?? "/", bin ?? "")]);
    // The bin is compiled from src/ (tsconfig.build.json: rootDir src, outDir dist).
    expect(existsSync(join(root, (bin ?? "").replace(/^dist\//, "src/").replace(/\.js$/, ".ts")))).toBe(true);
    // The default command is the one the chart runs, with the config the chart mounts.
    const cmd = json(runtime.filter((i) => i.op === "CMD").at(-1)?.args ?? "[]");
    const deployment = read("charts/gitops-bot/templates/deployment.yaml");
    expect(deployment).toContain(`args: ${JSON.stringify(cmd).replaceAll(",", ", ")}`);
    expect(deployment).toContain("mountPath: /etc/gitops-bot");
  });

  it("copies only files that exist and that .dockerignore leaves in the build context", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    const copies = dockerfile.filter((i) => i.op === "COPY" && !i.args.startsWith("--from"));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const parts = copy.args.split(/\s+/);
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(join(root, src)), `${src} (COPY in stage ${copy.stage}) exists`).toBe(true);
        const top = src.replace(/^\.\//, "").split("/")[0];
        expect(ignored, `${src} is not in .dockerignore`).not.toContain(top);
      }
    }
    // What the runtime needs at run time: the compiled code, its dependencies, the demo's examples.
    const fromBuild = runtime.filter((i) => i.op === "COPY").map((i) => i.args);
    expect(fromBuild).toContain("--from=build /app/dist ./dist");
    expect(fromBuild).toContain("--from=build /app/node_modules ./node_modules");
    expect(fromBuild.some((a) => a.startsWith("examples "))).toBe(true);
  });

  it("builds helm at the version the e2e tests use, checked against a pinned module checksum", () => {
    const e2eVersion = /const HELM_VERSION = "(v[^"]+)"/.exec(read("scripts/e2e-tools.mjs"))?.[1];
    expect(e2eVersion).toMatch(/^v4\./);
    const arg = (name: string) =>
      dockerfile.find((i) => i.op === "ARG" && i.args.startsWith(`${name}=`))?.args.slice(name.length + 1);
    expect(arg("HELM_VERSION")).toBe(e2eVersion);
    const sum = arg("HELM_MODULE_SUM") ?? "";
    expect(sum).toMatch(/^h1:[A-Za-z0-9+/]{43}=$/);
    const helmStage = dockerfile.filter((i) => i.stage === "helm" && i.op === "RUN").map((i) => i.args);
    expect(helmStage.some((r) => r.includes("${HELM_MODULE_SUM}") && r.includes("exit 1"))).toBe(true);
    expect(helmStage.some((r) => r.includes("helm.sh/helm/v4/cmd/helm@${HELM_VERSION}"))).toBe(true);
    expect(
      runtime.some((i) => i.op === "COPY" && i.args === "--from=helm /out/helm /usr/local/bin/helm"),
    ).toBe(true);
    // When `npm run e2e:tools` has built helm, the module it downloaded is the one pinned here.
    const modCache = process.env["GOMODCACHE"] || join(homedir(), "go", "pkg", "mod");
    const ziphash = join(modCache, "cache/download/helm.sh/helm/v4/@v", `${e2eVersion}.ziphash`);
    if (existsSync(ziphash)) expect(readFileSync(ziphash, "utf8").trim()).toBe(sum);
    // And the helm binary the e2e tests run was built from exactly that module.
    const e2eHelm = join(toolsDir(), `helm-${e2eVersion}`, "bin", "helm");
    if (existsSync(e2eHelm) && goOnPath()) {
      const info = execFileSync("go", ["version", "-m", e2eHelm], { encoding: "utf8" });
      expect(info).toMatch(
        new RegExp(`\\smod\\s+helm\\.sh/helm/v4\\s+${e2eVersion}\\s+${sum.replace(/[+/=]/g, "\\$&")}`),
      );
    }
  });

  it("runs as a non-root user with writable paths only on volumes (read-only root filesystem)", () => {
    const user = runtime.filter((i) => i.op === "USER").at(-1)?.args ?? "root";
    const uid = user.split(":")[0] ?? "";
    expect(uid).toMatch(/^\d+$/); // numeric, so runAsNonRoot can verify it
    expect(Number(uid)).toBeGreaterThan(0);
    const values = read("charts/gitops-bot/values.yaml");
    expect(values).toContain(`runAsUser: ${uid}`);

    const env = runtime
      .filter((i) => i.op === "ENV")
      .flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1] ?? "", m[2] ?? ""] as const));
    const home = Object.fromEntries(env)["HOME"] ?? "";
    const volumes = json(runtime.find((i) => i.op === "VOLUME")?.args ?? "[]");
    expect(volumes).toContain(home);
    expect(volumes).toContain("/tmp");
    // Every cache/config directory is under a volume.
    for (const [k, v] of env) {
      if (/HOME$|TMPDIR/.test(k)) {
        expect(
          volumes.some((vol) => v === vol || v.startsWith(`${vol}/`)),
          `${k}=${v} is on a volume`,
        ).toBe(true);
      }
    }
    const deployment = read("charts/gitops-bot/templates/deployment.yaml");
    for (const vol of volumes) expect(deployment).toContain(`mountPath: ${vol}`);
  });

  it("uses a Node.js base image that package.json supports", () => {
    const bases = dockerfile.filter((i) => i.op === "FROM" && i.args.startsWith("node:"));
    expect(bases.length).toBeGreaterThan(0);
    for (const b of bases) {
      const major = /^node:(\d+)/.exec(b.args)?.[1];
      expect(pkg.engines.node).toContain(`^${major}`);
    }
  });
});
