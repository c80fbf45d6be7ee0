import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { AppManifestUtils } from "@microsoft/app-manifest";
import { unzipSync } from "fflate";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import {
  buildManifest,
  buildPackage,
  MANIFEST_VERSION,
  PackageError,
} from "../../../scripts/teams-package.js";
import { commands } from "../../../src/bot/commands/index.js";

const root = resolve(import.meta.dirname, "../../..");
const template = JSON.parse(readFileSync(join(root, "manifest.json"), "utf8")) as Record<string, unknown>;
const schemasDir = join(root, "node_modules/@microsoft/app-manifest/build/json-schemas/teams");
const APP_ID = "6f1c2a7e-8b4d-4e7a-9c3f-2d5b8a1e0f47";

/** The newest released (not dev-preview) Teams manifest schema @microsoft/app-manifest ships. */
function newestSchemaVersion(): string {
  const versions = readdirSync(schemasDir)
    .filter((d) => /^v\d+\.\d+$/.test(d))
    .map((d) => d.slice(1))
    .sort((a, b) => {
      const [am, an] = a.split(".").map(Number);
      const [bm, bn] = b.split(".").map(Number);
      return (am ?? 0) - (bm ?? 0) || (an ?? 0) - (bn ?? 0);
    });
  const newest = versions.at(-1);
  if (!newest) throw new Error(`no Teams schemas under ${schemasDir}`);
  return newest;
}

const unzip = (zip: Uint8Array) => unzipSync(zip);

describe("npm run teams:package", () => {
  it("targets the newest Teams manifest schema and the manifest validates against it", async () => {
    expect(MANIFEST_VERSION, "bump MANIFEST_VERSION in scripts/teams-package.ts").toBe(newestSchemaVersion());
    const schema = JSON.parse(
      readFileSync(join(schemasDir, `v${MANIFEST_VERSION}/MicrosoftTeams.schema.json`), "utf8"),
    );
    const files = unzip(buildPackage(buildManifest(template, { appId: APP_ID, version: "1.2.3" })));
    const manifest = JSON.parse(new TextDecoder().decode(files["manifest.json"]));
    expect(await AppManifestUtils.validateAgainstSchema(manifest, schema)).toEqual([]);
    expect(manifest.manifestVersion).toBe(MANIFEST_VERSION);
    expect(manifest.version).toBe("1.2.3");
    expect(manifest.id).toBe(APP_ID);
    expect(manifest.bots[0].botId).toBe(APP_ID);
  });

  it("lists the commands of the command registry, help first", () => {
    const manifest = buildManifest(template, { appId: APP_ID }) as {
      bots: { commandLists: { commands: { title: string }[] }[] }[];
    };
    const titles = manifest.bots[0]?.commandLists[0]?.commands.map((c) => c.title) ?? [];
    expect(titles[0]).toBe("help");
    const names = new Set(commands.map((c) => c.name));
    for (const t of titles) expect(names.has(t), `${t} is a registered command`).toBe(true);
    expect(titles.length).toBe(Math.min(10, commands.length));
  });

  it("ships color.png 192×192 (opaque) and outline.png 32×32 (white on transparent)", () => {
    const files = unzip(buildPackage(buildManifest(template, { appId: APP_ID })));
    expect(Object.keys(files).sort()).toEqual(["color.png", "manifest.json", "outline.png"]);
    const color = PNG.sync.read(Buffer.from(files["color.png"] ?? []));
    expect([color.width, color.height]).toEqual([192, 192]);
    const outline = PNG.sync.read(Buffer.from(files["outline.png"] ?? []));
    expect([outline.width, outline.height]).toEqual([32, 32]);
    let transparent = 0;
    let opaqueWhite = 0;
    for (let i = 0; i < outline.data.length; i += 4) {
      const [r, g, b, a] = [outline.data[i], outline.data[i + 1], outline.data[i + 2], outline.data[i + 3]];
      if (a === 0) transparent++;
      else {
        expect([r, g, b]).toEqual([255, 255, 255]);
        if (a === 255) opaqueWhite++;
      }
    }
    expect(transparent).toBeGreaterThan(0);
    expect(opaqueWhite).toBeGreaterThan(0);
    for (let i = 3; i < color.data.length; i += 4) expect(color.data[i]).toBe(255);
  });

  it("uses the organisation's privacy and terms URLs, and refuses what Teams would reject", () => {
    const m = buildManifest(template, {
      appId: APP_ID,
      privacyUrl: "https://example.com/privacy",
      termsUrl: "https://example.com/terms",
    }) as { developer: Record<string, string> };
    expect(m.developer["privacyUrl"]).toBe("https://example.com/privacy");
    expect(m.developer["termsOfUseUrl"]).toBe("https://example.com/terms");
    expect(() => buildManifest(template, { appId: "my-bot" })).toThrow(PackageError);
    expect(() => buildManifest(template, { appId: "my-bot" })).toThrow(/must be a GUID/);
    expect(() => buildManifest(template, { appId: APP_ID, privacyUrl: "http://example.com" })).toThrow(
      /https:\/\/ URL/,
    );
  });

  it("the command writes the zip with the App ID from the configuration", async () => {
    const dir = await mkdtemp(join(tmpdir(), "teams-package-"));
    try {
      const config = join(dir, "gitops-bot.yaml");
      await writeFile(
        config,
        `repo: { url: ${dir} }\nteams: { appId: "\${TEAMS_APP_ID}", appPassword: "\${TEAMS_APP_PASSWORD}" }\n`,
      );
      const out = join(dir, "app.zip");
      const env = { ...process.env, TEAMS_APP_ID: APP_ID, TEAMS_APP_PASSWORD: "s3cret" };
      await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", join(root, "scripts/teams-package.ts"), "--config", config, "--out", out],
        { env, cwd: root },
      );
      const manifest = JSON.parse(new TextDecoder().decode(unzip(await readFile(out))["manifest.json"]));
      expect(manifest.bots[0].botId).toBe(APP_ID);
      expect(JSON.stringify(manifest)).not.toContain("s3cret");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
