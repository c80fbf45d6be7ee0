/**
 * `gitops-bot report --print` over a real config repo and a real registry: the automation section
 * reads the same catalog as `images` (the registry's tags, newest first, and why automation waits:
 * locked, frozen, or the next cycle), lists the auto-release committed through the real write path,
 * and the Helm section says in one line that it is off without a cluster.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareDemoRepo } from "../../../src/app/demo.js";
import { repoSchema } from "../../../src/config/schema.js";
import { nullLogger } from "../../../src/core/ports.js";
import { GitConfigRepo } from "../../../src/gitops/git-config-repo.js";
import type { Actor } from "../../../src/gitops/operations.js";
import { ReleaseService } from "../../../src/gitops/release-service.js";
import { pushImage, type RegistryServer, startRegistry } from "../../harness/registry.js";
import { runCli } from "../../helpers/cli.js";
import { deployment } from "../images/fixture.js";

const run = promisify(execFile);
const day = (n: number) => new Date(Date.UTC(2026, 0, n, 12));
const bot: Actor = {
  id: "automation:image",
  name: "image-automation",
  identity: { name: "gitops-bot", email: "bot@example.com" },
};
const bob: Actor = { id: "slack:UBOB", name: "bob", identity: { name: "bob", email: "bob@example.com" } };

let reg: RegistryServer;
let dir: string;

beforeAll(async () => {
  reg = await startRegistry();
  dir = await mkdtemp(join(tmpdir(), "report-auto-"));
});
afterAll(async () => {
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli(args, { env: { KUBECONFIG: "", HOME: dir } });

/** A config repo (bare, like a git server's) with web automated in dev, stg and prod (prod locked). */
async function configRepo(): Promise<string> {
  const files: Record<string, string> = {
    "releases/dev/web.yaml": deployment({
      env: "dev",
      name: "web",
      images: [{ container: "web", image: `${reg.host}/team/web:dev-1`, filter: "glob:dev-*" }],
    }),
    "releases/stg/web.yaml": deployment({
      env: "stg",
      name: "web",
      images: [{ container: "web", image: `${reg.host}/team/web:dev-1`, filter: "glob:dev-*" }],
    }),
    "releases/prod/web.yaml": deployment({
      env: "prod",
      name: "web",
      images: [{ container: "web", image: `${reg.host}/team/api:1.0.0`, filter: "semver:^1.0" }],
      locked: true,
    }),
  };
  const seed = join(dir, "seed");
  for (const [p, c] of Object.entries(files)) {
    await mkdir(dirname(join(seed, p)), { recursive: true });
    await writeFile(join(seed, p), c);
  }
  const { repo } = await prepareDemoRepo(join(dir, "src"), seed);
  const bare = join(dir, "config.git");
  await run("git", ["clone", "-q", "--bare", repo, bare]);
  return bare;
}

describe("gitops-bot report: the automation section", () => {
  it("shows candidates and why they wait, the auto-release of the period, and Helm off", async () => {
    for (const [tag, n] of [
      ["dev-1", 1],
      ["dev-2", 2],
      ["dev-3", 3],
    ] as const)
      await pushImage(reg, "team/web", tag, { created: day(n) });
    for (const tag of ["1.0.0", "1.1.0", "2.0.0"]) await pushImage(reg, "team/api", tag);
    const url = await configRepo();

    // What image automation and a chat user would have committed: an auto-release and a freeze.
    const repo = await GitConfigRepo.open(
      repoSchema.parse({ url, workdir: join(dir, "writer"), author: bot.identity }),
      { logger: nullLogger },
    );
    const ops = new ReleaseService({ repo });
    const r = await ops.autoRelease({
      updates: [{ app: "web", env: "dev", container: "web", tag: "dev-2" }],
      actor: bot,
    });
    expect(r.applied).toHaveLength(1);
    await ops.freeze({ env: "stg", actor: bob, message: "release weekend" });
    await repo.close();

    const config = join(dir, "gitops-bot.yaml");
    await writeFile(
      config,
      `clusterName: laptop
repo:
  url: ${url}
  workdir: ${join(dir, "work")}
notifications:
  destinations:
    - { name: ops, type: webhook, url: "https://hooks.example.com/x" }
  reports:
    - { name: weekly, schedule: "0 9 * * 1", sections: [automation, helm], to: [ops] }
`,
    );
    const out = await cli(["report", "weekly", "--print", "--config", config]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const h = reg.host;
    expect(out.stdout).toContain("== Image automation (3) ==");
    expect(out.stdout).toContain("stg: frozen by bob <bob@example.com>: release weekend (0 d)");
    expect(out.stdout).toContain(`dev/web: ${h}/team/web:dev-2 -> dev-3 on the next cycle`);
    expect(out.stdout).toContain(`stg/web: ${h}/team/web:dev-1 -> dev-3 waits: env frozen (2 newer)`);
    expect(out.stdout).toContain(`prod/web: ${h}/team/api:1.0.0 -> 1.1.0 waits: locked by dave`);
    expect(out.stdout).toMatch(
      /auto-releases \(1\):\n {2}[0-9a-f]{7} .*Auto-release .*team\/web:dev-2.*\n {4}dev\/web web: dev-1 -> dev-2 \(releases\/dev\/web\.yaml\)/,
    );
    expect(out.stdout).toContain(
      "== Helm releases (0) ==\nHelm is off: no cluster configured, and Helm releases follow the sync",
    );
    // Locked and frozen are decisions, not problems.
    expect(out.stdout).toContain("All good: nothing needs attention.");
  });
});
