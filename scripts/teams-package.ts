/**
 * `npm run teams:package`: builds the Teams app package to upload in the Teams admin center (or
 * Developer Portal): a zip of `manifest.json`, `color.png` (192×192) and `outline.png` (32×32,
 * white on transparent).
 *
 *   npm run teams:package -- --config gitops-bot.yaml [--out dist/gitops-bot-teams.zip]
 *   npm run teams:package -- --app-id <Microsoft App ID> [--privacy-url URL] [--terms-url URL]
 *
 * The manifest is the repo's `manifest.json` with the command list from the command registry
 * (scripts/teams-manifest.ts), the package version, and the bot's Microsoft App ID: `--app-id`, or
 * `teams.appId` of the configuration (with `${ENV_VAR}`s resolved from the environment). The
 * privacy and terms URLs default to the project's; pass your organisation's with the flags (or
 * TEAMS_PRIVACY_URL / TEAMS_TERMS_URL / TEAMS_WEBSITE_URL). test/unit/scripts/teams-package.test.ts
 * validates the result against the Teams manifest schema shipped with @microsoft/app-manifest.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { zipSync } from "fflate";
import { PNG } from "pngjs";
import { loadConfig } from "../src/config/load.js";
import { withCommands } from "./teams-manifest.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The manifest schema version the package targets (the newest @microsoft/app-manifest ships). */
export const MANIFEST_VERSION = "1.30";
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export interface PackageOptions {
  /** The bot's Microsoft App ID (a GUID); also the Teams app id unless `id` is given. */
  appId: string;
  id?: string;
  privacyUrl?: string;
  termsUrl?: string;
  websiteUrl?: string;
  /** The package version (default: package.json's). */
  version?: string;
}

export class PackageError extends Error {}

/** The manifest to upload: the repo's template, the registry's commands, ids, URLs and version. */
export function buildManifest(
  template: Record<string, unknown>,
  opts: PackageOptions,
): Record<string, unknown> {
  const id = opts.id ?? opts.appId;
  for (const [what, v] of [
    ["--app-id (teams.appId)", opts.appId],
    ["--id", id],
  ] as const) {
    if (!GUID.test(v)) throw new PackageError(`${what} must be a GUID (the Microsoft App ID), got "${v}"`);
  }
  const developer = { ...(template["developer"] as Record<string, string>) };
  for (const [key, url] of [
    ["privacyUrl", opts.privacyUrl],
    ["termsOfUseUrl", opts.termsUrl],
    ["websiteUrl", opts.websiteUrl],
  ] as const) {
    if (url === undefined) continue;
    if (!/^https:\/\/[^\s/]+/.test(url))
      throw new PackageError(`${key} must be an https:// URL, got "${url}"`);
    developer[key] = url;
  }
  const withCmds = withCommands(template);
  const bots = (withCmds["bots"] as Record<string, unknown>[]).map((b, i) =>
    i === 0 ? { ...b, botId: opts.appId } : b,
  );
  return {
    ...withCmds,
    $schema: `https://developer.microsoft.com/en-us/json-schemas/teams/v${MANIFEST_VERSION}/MicrosoftTeams.schema.json`,
    manifestVersion: MANIFEST_VERSION,
    version: opts.version ?? (template["version"] as string),
    id,
    developer,
    bots,
  };
}

// --- icons ---------------------------------------------------------------------------------------

type Pt = [number, number];
/** The glyph, in unit coordinates: a git graph (a trunk with a branch merging into it). */
const NODES: Pt[] = [
  [0.34, 0.24],
  [0.34, 0.76],
  [0.68, 0.38],
];
const EDGES: [Pt, Pt][] = [
  [
    [0.34, 0.24],
    [0.34, 0.76],
  ],
  [
    [0.68, 0.38],
    [0.68, 0.5],
  ],
  [
    [0.68, 0.5],
    [0.34, 0.66],
  ],
];

function segmentDistance(p: Pt, a: Pt, b: Pt): number {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy);
}

function inGlyph(p: Pt): boolean {
  return (
    NODES.some((n) => Math.hypot(p[0] - n[0], p[1] - n[1]) <= 0.1) ||
    EDGES.some(([a, b]) => segmentDistance(p, a, b) <= 0.035)
  );
}

/** Fraction of a pixel covered by the glyph (4×4 supersampling, for smooth edges). */
function coverage(x: number, y: number, size: number): number {
  let hits = 0;
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) if (inGlyph([(x + (i + 0.5) / 4) / size, (y + (j + 0.5) / 4) / size])) hits++;
  }
  return hits / 16;
}

function hexColor(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new PackageError(`accentColor ${hex} is not #rrggbb`);
  return [
    Number.parseInt(m[1] ?? "0", 16),
    Number.parseInt(m[2] ?? "0", 16),
    Number.parseInt(m[3] ?? "0", 16),
  ];
}

/**
 * An icon as PNG bytes. `color`: the glyph in white on the accent colour, opaque (192×192).
 * `outline`: the glyph in white on transparent, as Teams requires (32×32).
 */
export function renderIcon(kind: "color" | "outline", accent = "#2C2D30"): Buffer {
  const size = kind === "color" ? 192 : 32;
  const png = new PNG({ width: size, height: size });
  const bg = hexColor(accent);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const c = coverage(x, y, size);
      const o = (y * size + x) * 4;
      if (kind === "color") {
        for (let k = 0; k < 3; k++) png.data[o + k] = Math.round((bg[k] ?? 0) * (1 - c) + 255 * c);
        png.data[o + 3] = 255;
      } else {
        png.data.fill(255, o, o + 3);
        png.data[o + 3] = Math.round(255 * c);
      }
    }
  }
  return PNG.sync.write(png);
}

/** The zip: manifest.json, color.png and outline.png at its root, as Teams expects. */
export function buildPackage(manifest: Record<string, unknown>): Uint8Array {
  const accent = (manifest["accentColor"] as string | undefined) ?? "#2C2D30";
  const icons = manifest["icons"] as { color: string; outline: string };
  return zipSync({
    "manifest.json": new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`),
    [icons.color]: renderIcon("color", accent),
    [icons.outline]: renderIcon("outline", accent),
  });
}

async function appIdFromConfig(path: string, env: NodeJS.ProcessEnv): Promise<string> {
  const cfg = await loadConfig(path, env);
  if (!cfg.teams?.appId) throw new PackageError(`${path} has no teams.appId: set it, or pass --app-id`);
  return cfg.teams.appId;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string" },
      "app-id": { type: "string" },
      id: { type: "string" },
      "privacy-url": { type: "string" },
      "terms-url": { type: "string" },
      "website-url": { type: "string" },
      out: { type: "string", default: "dist/gitops-bot-teams.zip" },
    },
  });
  const env = process.env;
  const appId = values["app-id"] ?? (values.config ? await appIdFromConfig(values.config, env) : undefined);
  if (!appId) throw new PackageError("pass --app-id <Microsoft App ID> or --config <file with teams.appId>");
  const pkg = JSON.parse(await readFile(resolve(ROOT, "package.json"), "utf8")) as { version: string };
  const template = JSON.parse(await readFile(resolve(ROOT, "manifest.json"), "utf8")) as Record<
    string,
    unknown
  >;
  const manifest = buildManifest(template, {
    appId,
    ...(values.id !== undefined && { id: values.id }),
    ...((values["privacy-url"] ?? env["TEAMS_PRIVACY_URL"]) && {
      privacyUrl: values["privacy-url"] ?? env["TEAMS_PRIVACY_URL"],
    }),
    ...((values["terms-url"] ?? env["TEAMS_TERMS_URL"]) && {
      termsUrl: values["terms-url"] ?? env["TEAMS_TERMS_URL"],
    }),
    ...((values["website-url"] ?? env["TEAMS_WEBSITE_URL"]) && {
      websiteUrl: values["website-url"] ?? env["TEAMS_WEBSITE_URL"],
    }),
    version: pkg.version,
  });
  const out = resolve(values.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, buildPackage(manifest));
  process.stdout.write(
    `wrote ${out} (manifest ${MANIFEST_VERSION}, bot ${appId}): upload it in Teams > Apps > Manage your apps\n`,
  );
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`teams:package: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = err instanceof PackageError ? 2 : 1;
    },
  );
}
