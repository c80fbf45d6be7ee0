/**
 * `gitops-bot cmd --config gitops-bot.yaml -- images <app> <env>` as CI runs it (the real CLI in a
 * child process): candidates from the real registry newest first with their creation time, the one
 * running, the one automation releases next, and why automation waits.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushImage } from "../../harness/registry.js";
import { runCli } from "../../helpers/cli.js";
import { day, deployment, PASSWORD, reg, server, setup, USER, useImageFixture } from "./fixture.js";

useImageFixture();

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "images-cmd-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = (args: string[], env: Record<string, string>) => runCli(args, { env });

describe("images via gitops-bot cmd --config", () => {
  it("lists candidates newest first, marks running and next, and says why automation waits", async () => {
    const img = `${reg.host}/cmd/web`;
    await pushImage(reg, "cmd/web", "dev-1", { created: day(1) });
    await pushImage(reg, "cmd/web", "dev-3", { created: day(3) });
    await pushImage(reg, "cmd/web", "dev-2", { created: day(2) });
    await pushImage(reg, "cmd/web", "main-9", { created: day(9) });
    const s = await setup({
      "releases/dev/web.yaml": deployment({
        env: "dev",
        name: "web",
        images: [{ container: "app", image: `${img}:dev-2`, filter: "glob:dev-*" }],
      }),
      "releases/stg/web.yaml": deployment({
        env: "stg",
        name: "web",
        images: [{ container: "app", image: `${img}:dev-1`, filter: "glob:dev-*" }],
        locked: true,
      }),
    });
    const config = join(dir, "gitops-bot.yaml");
    await writeFile(
      config,
      [
        "repo:",
        `  url: ${server.url(s.name)}`,
        `  workdir: ${join(dir, "work")}`,
        '  auth: { username: "${GIT_USER}", password: "${GIT_PASSWORD}" }',
        "images:",
        "  registries:",
        `    - host: "${reg.host}"`,
        "",
      ].join("\n"),
    );
    const env = { GIT_USER: USER, GIT_PASSWORD: PASSWORD };
    const dev = await cli(["cmd", "--config", config, "--", "images", "web", "dev"], env);
    expect(dev.stderr).toBe("");
    expect(dev.code).toBe(0);
    const lines = dev.stdout.split("\n");
    const at = (tag: string) => lines.findIndex((l) => l.includes(tag));
    expect(at("dev-3")).toBeGreaterThan(-1);
    expect(at("dev-3")).toBeLessThan(at("dev-2"));
    expect(at("dev-2")).toBeLessThan(at("dev-1"));
    expect(lines[at("dev-3")]).toContain("← next");
    expect(lines[at("dev-3")]).toContain(day(3).toISOString());
    expect(lines[at("dev-2")]).toContain("← running");
    expect(dev.stdout).not.toContain("main-9");
    expect(dev.stdout).toContain("1 more tag(s) not listed");

    const stg = await cli(["cmd", "--config", config, "--json", "--", "images web stg"], env);
    expect(stg.code).toBe(0);
    const j = JSON.parse(stg.stdout);
    expect(j.data.images[0]).toMatchObject({ container: "app", repository: img, filter: "glob:dev-*" });
    expect(j.data.images[0].waiting).toMatch(
      /stg\/web container app \(releases\/stg\/web.yaml\) is locked by dave/,
    );
    expect(j.data.images[0].tags.map((t: { tag: string }) => t.tag)).toEqual(["dev-3", "dev-2", "dev-1"]);
    expect(j.text).toContain("Automation waits");

    // In CI the registry webhook's secret is not set: the other commands (and `images`,
    // anonymously) still work.
    const ci = join(dir, "ci.yaml");
    await writeFile(
      ci,
      (await readFile(config, "utf8")).replace(
        "images:\n",
        "images:\n  webhookSecret: ${REGISTRY_HOOK_SECRET}\n",
      ),
    );
    const status = await cli(["cmd", "--config", ci, "--", "images", "web", "dev"], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("dev-2");
    expect(status.stderr).toContain("REGISTRY_HOOK_SECRET");
  });
});
