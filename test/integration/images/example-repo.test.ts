/**
 * Image automation over the shipped example config repo (HelmRelease values layouts and plain
 * Deployments with two containers), its images moved to the local registry: every env follows its
 * own filter, in ONE commit, and the manual env and the pinned sidecar stay where they are.
 */
import { describe, expect, it } from "vitest";
import { readTrailers } from "../../../src/gitops/trailers.js";
import { pushImage } from "../../harness/registry.js";
import { loadDir } from "../../helpers/example-repo.js";
import { day, reg, released, setup, useImageFixture } from "./fixture.js";

useImageFixture();

describe("image automation on the example config repo", () => {
  it("dev follows glob:dev-* by time, prod follows semver, stg stays; one commit for all", async () => {
    const pushes: [string, string, number][] = [
      ["stefanprodan/podinfo", "dev-kb9lm91e", 1],
      ["stefanprodan/podinfo", "dev-x1", 5],
      ["stefanprodan/podinfo", "stg-9ij63o4c", 1],
      ["stefanprodan/podinfo", "0.4.10", 1],
      ["stefanprodan/podinfo", "0.4.11", 2],
      ["stefanprodan/podinfo", "0.5.0", 3],
      ["example/frontend", "dev-1b7e0d2", 0],
      ["example/frontend", "dev-3f2a1c9", 1],
      ["example/frontend", "dev-f00", 4],
      ["example/frontend", "1.4.2", 1],
      ["example/frontend", "1.5.0", 2],
      ["example/frontend", "2.0.0", 3],
      ["library/nginx", "1.27.3", 1],
    ];
    for (const [repo, tag, d] of pushes) await pushImage(reg, `ex/${repo}`, tag, { created: day(d) });
    const files: Record<string, string> = {};
    for (const [p, text] of Object.entries(loadDir())) {
      files[p] = text
        .replaceAll("ghcr.io/", `${reg.host}/ex/`)
        .replaceAll("docker.io/library/", `${reg.host}/ex/library/`);
    }
    const s = await setup(files);
    const before = (await s.log()).length;
    const r = await s.cycle();
    expect(r.result).toMatchObject({ status: "ready", reason: "Released" });
    const log = await s.log();
    expect(log.length).toBe(before + 1);
    expect(log[0]!.subject).toBe("Auto-release multiple (4) images");
    const changes = readTrailers(log[0]!.trailers)
      .other.filter(([k]) => k === "Gitops-Change")
      .map(([, v]) => v)
      .sort();
    expect(changes).toEqual([
      "dev/frontend web: dev-3f2a1c9 -> dev-f00 (releases/dev/frontend.yaml)",
      "dev/podinfo chart-image: dev-kb9lm91e -> dev-x1 (releases/dev/podinfo.yaml)",
      "prod/frontend web: 1.4.2 -> 1.5.0 (releases/prod/frontend.yaml)",
      "prod/podinfo chart-image: 0.4.10 -> 0.4.11 (releases/prod/podinfo.yaml)",
    ]);
    expect(released(s.events)).toHaveLength(4);
    // The HelmRelease values edit touches only the tag line.
    const dev = (await s.repo.read("releases/dev/podinfo.yaml")) ?? "";
    const seeded = files["releases/dev/podinfo.yaml"] ?? "";
    expect(dev).toBe(seeded.replace("tag: dev-kb9lm91e", "tag: dev-x1"));
    // stg (glob:stg-* has nothing newer, frontend is manual) and the nginx sidecars stay.
    expect(await s.repo.read("releases/stg/podinfo.yaml")).toBe(files["releases/stg/podinfo.yaml"]);
    expect(await s.repo.read("releases/stg/frontend.yaml")).toBe(files["releases/stg/frontend.yaml"]);
    expect(await s.repo.read("releases/dev/frontend.yaml")).toContain(`${reg.host}/ex/library/nginx:1.27.3`);
  });
});
