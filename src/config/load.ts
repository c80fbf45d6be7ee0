import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { UserError } from "../core/errors.js";
import { type Config, configSchema } from "./schema.js";
import { unknownKeys } from "./unknown-keys.js";

/** One problem in the configuration, with the dotted path of the key. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** Thrown when the configuration is invalid; carries every problem at once. */
export class ConfigError extends UserError {
  readonly problems: ConfigProblem[];
  constructor(source: string, problems: ConfigProblem[]) {
    super(
      `invalid configuration in ${source}:\n${problems.map((p) => `  - ${p.path || "(root)"}: ${p.message}`).join("\n")}`,
      {
        code: "bad-config",
        hint: "Fix the keys listed above; `gitops-bot check` validates without starting.",
      },
    );
    this.problems = problems;
  }
}

/**
 * Replaces `${NAME}` (and `${NAME:-default}`) in every string of a parsed YAML tree with the
 * environment variable. Interpolation happens after parsing, so a secret containing YAML syntax
 * cannot change the document's structure. Unset variables without a default are reported.
 */
export function interpolate(
  value: unknown,
  env: Record<string, string | undefined>,
  problems: ConfigProblem[],
  path = "",
): unknown {
  if (typeof value === "string") {
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string, def: string | undefined) => {
        const v = env[name];
        if (v !== undefined && v !== "") return v;
        if (def !== undefined) return def;
        problems.push({ path, message: `environment variable ${name} is ${v === "" ? "empty" : "not set"}` });
        return "";
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, problems, `${path}[${i}]`));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = interpolate(v, env, problems, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}

/**
 * Same path syntax as `interpolate` (`a.b[0].c`), so one key is always spelled one way. zod's own
 * "unrecognized key" issues are left out: `unknownKeys` reports those, per key, with a suggestion.
 */
function zodProblems(err: z.ZodError): ConfigProblem[] {
  return err.issues
    .filter((i) => i.code !== "unrecognized_keys")
    .map((i) => ({
      path: i.path.reduce<string>(
        (acc, seg) =>
          typeof seg === "number" ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg),
        "",
      ),
      message: i.message,
    }));
}

/** Options of `parseConfig` / `loadConfig`. */
export interface ConfigLoadOptions {
  /**
   * Only these top-level sections matter to the caller (`gitops-bot cmd` needs `repo`, `authz`,
   * `approvals`, `clusterName`): problems elsewhere, such as the Slack token's unset `${VAR}` in a
   * CI job, are not errors, and the other sections come back with their defaults. Unknown keys are
   * still errors everywhere.
   */
  sections?: readonly (keyof Config)[];
}

const topKey = (path: string): string => /^[^.[]*/u.exec(path)?.[0] ?? "";

/** Validates an already-parsed config object (after interpolation). Throws `ConfigError` with all problems. */
export function parseConfig(
  raw: unknown,
  env: Record<string, string | undefined> = {},
  source = "config",
  opts: ConfigLoadOptions = {},
): Config {
  let problems: ConfigProblem[] = [];
  const interpolated = interpolate(raw ?? {}, env, problems);
  const unknown = unknownKeys(configSchema, interpolated);
  const sections = opts.sections;
  if (sections) {
    const wanted = new Set<string>(sections);
    problems = [...problems.filter((p) => wanted.has(topKey(p.path))), ...unknown];
    const picked: Record<string, unknown> = {};
    if (interpolated && typeof interpolated === "object" && !Array.isArray(interpolated))
      for (const [k, v] of Object.entries(interpolated)) if (wanted.has(k)) picked[k] = v;
    const result = configSchema.safeParse(picked);
    if (!result.success) problems.push(...zodProblems(result.error));
    if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
    return result.data;
  }
  problems.push(...unknown);
  const result = configSchema.safeParse(interpolated);
  if (!result.success) problems.push(...zodProblems(result.error));
  if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
  return result.data;
}

/**
 * Loads the configuration file: `path`, else `$GITOPS_BOT_CONFIG`, else `gitops-bot.yaml`.
 * The only place (with `cli.ts`) that reads `process.env`.
 */
export async function loadConfig(
  path?: string,
  env: Record<string, string | undefined> = process.env,
  opts: ConfigLoadOptions = {},
): Promise<Config> {
  const file = path ?? env["GITOPS_BOT_CONFIG"] ?? "gitops-bot.yaml";
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new UserError(`cannot read configuration file ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
      code: "no-config",
      hint: "Pass --config <file> or set GITOPS_BOT_CONFIG; `npm start` runs the demo without any configuration.",
    });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(file, [{ path: "", message: `not valid YAML: ${(e as Error).message}` }]);
  }
  return parseConfig(raw, env, file, opts);
}

/** Every secret value in a config, for the redactor. */
export function configSecrets(cfg: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key: string) => {
    if (typeof v === "string") {
      if (/(password|token|secret|appPassword|botToken|signingSecret|appToken|privateKey)$/i.test(key))
        out.push(v);
    } else if (Array.isArray(v)) {
      for (const x of v) walk(x, key);
    } else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(cfg, "");
  return out;
}
