/**
 * Small rendering helpers the report sections share: ages, truncated lists ("and 12 more", with a
 * link), env headings, and aligned plain-text tables for `--print`.
 */
import { b, link, type RichText, t } from "../core/message.js";
import type { RenderOptions } from "../core/report.js";

/** `3 d`, `5 h`, `12 min`: how long ago `iso` was, as of `now`. */
export function age(iso: string | undefined, now: Date): string | undefined {
  if (!iso) return undefined;
  const ms = now.getTime() - Date.parse(iso);
  if (Number.isNaN(ms)) return undefined;
  const min = Math.max(0, Math.round(ms / 60_000));
  if (min < 90) return `${min} min`;
  const h = Math.round(min / 60);
  if (h < 36) return `${h} h`;
  return `${Math.round(h / 24)} d`;
}

/** Whole days between `iso` and `now` (undefined when `iso` is not a time). */
export function daysSince(iso: string | undefined, now: Date): number | undefined {
  if (!iso) return undefined;
  const ms = now.getTime() - Date.parse(iso);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 86_400_000);
}

/** `2026-03-30 09:00 UTC`: a compact UTC time for report lines. */
export function when(iso: string | undefined): string {
  if (!iso) return "?";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * Lines of rich text joined into one paragraph, at most `opts.maxItems` of them; the rest become
 * "… and N more" (linked to `opts.moreUrl` when there is one).
 */
export function lines(items: RichText[], opts: RenderOptions, what?: string): RichText {
  const shown = items.slice(0, opts.maxItems);
  const out: RichText = [];
  shown.forEach((l, i) => {
    if (i > 0) out.push(t("\n"));
    out.push(...l);
  });
  const rest = items.length - shown.length;
  if (rest > 0) {
    const label = `… and ${rest} more${what ? ` ${what}` : ""}`;
    out.push(t("\n"), opts.moreUrl ? link(label, opts.moreUrl) : t(label));
  }
  return out;
}

/** A heading line for one env: `prod` in bold, with an optional note. */
export function envHeading(env: string, note?: string): RichText {
  return note ? [b(env), t(` ${note}`)] : [b(env)];
}

/** An aligned plain-text table (the `--print` form of a matrix). */
export function textTable(columns: string[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [fmt(columns), fmt(widths.map((w) => "-".repeat(w))), ...rows.map(fmt)].join("\n");
}

/** Groups items by env, in `envs` order (envs with no items are left out). */
export function byEnv<T extends { env?: string }>(items: T[], envs: string[]): [string, T[]][] {
  const out: [string, T[]][] = [];
  for (const e of envs) {
    const xs = items.filter((i) => i.env === e);
    if (xs.length > 0) out.push([e, xs]);
  }
  const other = items.filter((i) => !i.env || !envs.includes(i.env));
  if (other.length > 0) out.push(["other", other]);
  return out;
}
