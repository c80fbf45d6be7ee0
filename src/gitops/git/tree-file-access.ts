import { UserError } from "../../core/errors.js";
import { printable } from "../../core/names.js";
import type { FileAccess } from "../config-repo.js";
import type { TreeFile } from "./backend.js";
import { normalizeRepoPath, parentDirs } from "./paths.js";

const SYMLINK = "120000";
const SUBMODULE = "160000";

/**
 * The `FileAccess` handed to edit functions: a copy-on-write view of one commit's tree. Reads come
 * from the commit (or from earlier writes of the same change); writes and removals are kept in
 * memory and become a new tree only when the whole change succeeded, so an edit that throws leaves
 * nothing behind. Nothing here touches a work tree, so a symlink can never lead outside the repo;
 * paths that are symlinks (or pass through one) are refused anyway, like `..` and absolute paths.
 */
export class TreeFileAccess implements FileAccess {
  private readonly overlay = new Map<string, string | null>();
  private dirs: Set<string> | undefined;

  constructor(
    private readonly files: ReadonlyMap<string, TreeFile>,
    private readonly readBlob: (oid: string) => Promise<Buffer>,
  ) {}

  /** Content at `path`, or undefined when there is no such file. */
  async read(path: string): Promise<string | undefined> {
    const p = this.checked(path);
    if (this.overlay.has(p)) return this.overlay.get(p) ?? undefined;
    const f = this.files.get(p);
    if (!f || f.mode === SUBMODULE) return undefined;
    return (await this.readBlob(f.oid)).toString("utf8");
  }

  /** Creates or replaces the file at `path` (parent directories are implied). */
  async write(path: string, content: string): Promise<void> {
    const p = this.checked(path);
    if (typeof content !== "string") throw new TypeError(`write(${p}): content must be a string`);
    if (this.isDir(p)) throw refuse(p, "is a directory");
    this.overlay.set(p, content);
  }

  /** Deletes the file at `path`; deleting a missing file is a no-op. */
  async remove(path: string): Promise<void> {
    const p = this.checked(path);
    if (this.isDir(p)) throw refuse(p, "is a directory (remove its files instead)");
    if (this.overlay.has(p) || this.files.has(p)) this.overlay.set(p, null);
  }

  /** Repo-relative paths of the files under `dir` (recursive, sorted); `""` lists the whole tree. */
  async list(dir: string): Promise<string[]> {
    const d = normalizeRepoPath(dir, { allowRoot: true });
    const prefix = d === "" ? "" : `${d}/`;
    const out = new Set<string>();
    for (const [p, f] of this.files) {
      if (p.startsWith(prefix) && f.mode !== SYMLINK && f.mode !== SUBMODULE) out.add(p);
    }
    for (const [p, v] of this.overlay) {
      if (!p.startsWith(prefix)) continue;
      if (v === null) out.delete(p);
      else out.add(p);
    }
    return [...out].sort();
  }

  /** Final content of every path written or removed (null = removed), in write order. */
  changes(): Map<string, string | null> {
    return new Map(this.overlay);
  }

  /** The file's entry in the base tree (for its mode). */
  baseEntry(path: string): TreeFile | undefined {
    return this.files.get(path);
  }

  private checked(path: string): string {
    const p = normalizeRepoPath(path);
    for (const dir of parentDirs(p)) {
      if (this.fileExists(dir)) {
        throw refuse(p, this.files.get(dir)?.mode === SYMLINK ? `${dir} is a symlink` : `${dir} is a file`);
      }
    }
    const f = this.files.get(p);
    if (f?.mode === SYMLINK && !this.overlay.has(p)) throw refuse(p, "is a symlink");
    return p;
  }

  private fileExists(p: string): boolean {
    if (this.overlay.has(p)) return this.overlay.get(p) !== null;
    return this.files.has(p);
  }

  private isDir(p: string): boolean {
    if (!this.dirs) {
      this.dirs = new Set();
      for (const f of this.files.keys()) for (const d of parentDirs(f)) this.dirs.add(d);
    }
    if (this.dirs.has(p)) {
      // Still a directory unless every file under it was removed in this change.
      const prefix = `${p}/`;
      for (const f of this.files.keys())
        if (f.startsWith(prefix) && this.overlay.get(f) !== null) return true;
    }
    const prefix = `${p}/`;
    for (const [f, v] of this.overlay) if (v !== null && f.startsWith(prefix)) return true;
    return false;
  }
}

function refuse(path: string, why: string): UserError {
  return new UserError(`refusing path "${printable(path)}": ${why}`, {
    code: "bad-path",
    hint: "Edits may only change regular files inside the config repo.",
  });
}
