/**
 * Stable digests for change detection (ADR 0009): SHA-256 over a canonical JSON form (object keys
 * sorted at every level), so the digest of a values tree does not depend on key order.
 */
import { createHash } from "node:crypto";

/** Canonical JSON: sorted object keys, no whitespace; `undefined` members are dropped like JSON. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : canonicalJson(x))).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(",")}}`;
}

/** Hex SHA-256 of a string or of the canonical JSON of a value. */
export function sha256Hex(v: unknown): string {
  return createHash("sha256")
    .update(typeof v === "string" ? v : canonicalJson(v))
    .digest("hex");
}

/** The short form stored in a Kubernetes label value (≤ 63 characters): 40 hex digits (160 bits). */
export function labelDigest(v: unknown): string {
  return sha256Hex(v).slice(0, 40);
}
