import { UserError } from "../../core/errors.js";
import { printable } from "../../core/names.js";

/**
 * The one repo path normaliser. Validates a repo-relative path given to `FileAccess` /
 * `ConfigRepo.read`, or (with `tidy`) one from configuration or a listing. Guarantees that the
 * returned path is `/`-separated, relative, and cannot leave the repo root: it refuses absolute
 * paths, `..` and `.` segments, empty segments, backslashes, NUL and control characters, and
 * `.git` segments (git itself refuses to track those). Throws a `UserError` (code `bad-path`).
 * A trailing `/` is dropped. With `allowRoot`, `""` and `"."` mean the repo root and return `""`.
 * With `tidy`, `.` and empty segments are dropped and `..` resolved first (refused only when it
 * leaves the root), so `./releases//dev/` is `releases/dev`; `tidy` implies `allowRoot`.
 */
export function normalizeRepoPath(path: string, opts: { allowRoot?: boolean; tidy?: boolean } = {}): string {
  const refuse = (why: string): never => {
    throw new UserError(`refusing path "${printable(path)}": ${why}`, {
      code: "bad-path",
      hint: "Paths are relative to the repo root, use '/' and may not contain '..'.",
    });
  };
  if (typeof path !== "string") refuse("not a string");
  // Tidying "/etc" or "a\\..\\b" would hide what makes them unsafe: those go to the checks below.
  if (opts.tidy && !/[\\\u0000]/.test(path) && !path.startsWith("/")) {
    const out: string[] = [];
    for (const seg of path.split("/")) {
      if (seg === "" || seg === ".") continue;
      if (seg !== "..") out.push(seg);
      else if (out.pop() === undefined) refuse("leaves the repo root");
    }
    return normalizeRepoPath(out.join("/"), { allowRoot: true });
  }
  if (opts.allowRoot && (path === "" || path === "." || path === "./" || path === "/")) return "";
  if (path === "") refuse("empty");
  // Control characters (incl. NUL, newline), DEL and C1 controls could confuse git's line-based I/O.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(path)) refuse("control character");
  if (path.includes("\\")) refuse("backslash");
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) refuse("absolute path");
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path;
  for (const seg of trimmed.split("/")) {
    if (seg === "") refuse("empty path segment");
    if (seg === "..") refuse("leaves the repo root");
    if (seg === ".") refuse("'.' segment");
    if (isGitDirAlias(seg)) refuse(".git is not part of the tree");
  }
  return trimmed;
}

/** `.git` as a file system may see it: any case, trailing dots/spaces (NTFS), ignorable Unicode
 * (HFS+), or the NTFS short name `git~1` (the same names git's `core.protectNTFS/HFS` refuse). */
function isGitDirAlias(seg: string): boolean {
  const s = seg
    .toLowerCase()
    .replace(/[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u206a-\u206f\ufeff]/g, "")
    .replace(/[. ]+$/, "");
  return s === ".git" || s === "git~1";
}

/** The directory prefixes of a normalized path: `a/b/c` -> [`a`, `a/b`]. */
export function parentDirs(path: string): string[] {
  const segs = path.split("/");
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) out.push(segs.slice(0, i).join("/"));
  return out;
}
