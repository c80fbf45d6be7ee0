/**
 * Unknown configuration keys are errors, with a "did you mean" (issue 11): `branhc: main` used to
 * be dropped silently and the bot ran on the default branch. The walk goes over zod 4's schema
 * definitions generically, so every section (also the ones other areas plug into the schema, such
 * as `notifications`) is covered without each having to declare itself strict.
 */
import type { z } from "zod";
import { didYouMean } from "../core/suggest.js";

/** One unknown key: its dotted path (`repo.branhc`, `a.b[0].c`) and the message. */
export interface UnknownKey {
  path: string;
  message: string;
}

/** The parts of a zod 4 definition the walk reads (`schema._zod.def`). */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  getter?: () => z.ZodType;
  left?: z.ZodType;
  right?: z.ZodType;
  values?: unknown[];
  value?: unknown;
}

const def = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const join = (path: string, key: string | number): string =>
  typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key;

/** The object schema behind wrappers (optional, default, pipe, lazy …), if there is one. */
function objectOf(s: z.ZodType, depth = 0): Def | undefined {
  const d = def(s);
  if (depth > 20) return undefined;
  if (d.type === "object") return d;
  const inner = d.innerType ?? d.in ?? d.getter?.();
  return inner ? objectOf(inner, depth + 1) : undefined;
}

/** The literal values a discriminator field accepts. */
function literals(s: z.ZodType | undefined): unknown[] {
  if (!s) return [];
  const d = def(s);
  if (d.type === "literal") return d.values ?? [d.value];
  if (d.type === "enum") return Object.values((d as unknown as { entries: Record<string, unknown> }).entries);
  const inner = d.innerType ?? d.in;
  return inner ? literals(inner) : [];
}

/**
 * Every key in `value` that `schema` does not declare, with a suggestion from the keys it does.
 * Values of the wrong type are left to zod's own validation (this only looks for extra keys).
 */
export function unknownKeys(schema: z.ZodType, value: unknown, path = "", depth = 0): UnknownKey[] {
  if (depth > 64 || value === undefined) return [];
  const d = def(schema);
  switch (d.type) {
    case "object": {
      if (!isObject(value)) return [];
      const shape = d.shape ?? {};
      const out: UnknownKey[] = [];
      const allowsExtra = d.catchall !== undefined && def(d.catchall).type !== "never";
      for (const [k, v] of Object.entries(value)) {
        const child = shape[k];
        if (child) out.push(...unknownKeys(child, v, join(path, k), depth + 1));
        else if (!allowsExtra) {
          const near = didYouMean(k, Object.keys(shape));
          out.push({
            path: join(path, k),
            message: `unknown key${near.length > 0 ? `; did you mean "${near[0]}"?` : ""}`,
          });
        }
      }
      return out;
    }
    case "array":
      return Array.isArray(value) && d.element
        ? value.flatMap((v, i) => unknownKeys(d.element as z.ZodType, v, join(path, i), depth + 1))
        : [];
    case "record":
      return isObject(value) && d.valueType
        ? Object.entries(value).flatMap(([k, v]) =>
            unknownKeys(d.valueType as z.ZodType, v, join(path, k), depth + 1),
          )
        : [];
    case "union":
      return unionUnknownKeys(d, value, path, depth);
    case "intersection": {
      // Keys of either side are known: report only what both sides call unknown.
      if (!d.left || !d.right) return [];
      const right = new Set(unknownKeys(d.right, value, path, depth + 1).map((u) => u.path));
      return unknownKeys(d.left, value, path, depth + 1).filter((u) => right.has(u.path));
    }
    default: {
      const inner = d.innerType ?? d.in ?? d.getter?.();
      return inner ? unknownKeys(inner, value, path, depth + 1) : [];
    }
  }
}

/** A union: the variant the discriminator selects, else the object variant that fits best. */
function unionUnknownKeys(d: Def, value: unknown, path: string, depth: number): UnknownKey[] {
  if (!isObject(value)) return [];
  const variants = (d.options ?? []).filter((o) => objectOf(o) !== undefined);
  if (variants.length === 0) return [];
  if (d.discriminator) {
    const tag = value[d.discriminator];
    const chosen = variants.find((o) =>
      literals(objectOf(o)?.shape?.[d.discriminator as string]).includes(tag),
    );
    // An unknown discriminator value is zod's error to report (it lists the valid ones).
    return chosen ? unknownKeys(chosen, value, path, depth + 1) : [];
  }
  let best: UnknownKey[] | undefined;
  for (const o of variants) {
    const found = unknownKeys(o, value, path, depth + 1);
    if (!best || found.length < best.length) best = found;
  }
  return best ?? [];
}
