import { createHash, randomBytes } from "node:crypto";
import { link, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { deflate } from "node:zlib";
import type { NewCommit } from "./backend.js";

const deflateAsync = promisify(deflate);

/**
 * Git object encoding for the native backend's hot path: it builds blobs, trees and commits in
 * process and stores them as loose objects, instead of one `git hash-object` / `read-tree` /
 * `update-index` / `write-tree` / `commit-tree` process each (see docs/adr/0001-git-backend.md).
 * SHA-1 repositories only; the formats are git's stable on-disk formats
 * (https://git-scm.com/book/en/v2/Git-Internals-Git-Objects) and every object we write is read
 * back by git itself (push, log, diff), which fails loudly on a malformed one.
 */

export type ObjectType = "blob" | "tree" | "commit";

/** One entry of a tree object. `mode` as git prints it (`100644`, `40000`/`040000` for trees). */
export interface RawTreeEntry {
  name: string;
  mode: string;
  oid: string;
}

/** The object id (SHA-1) of `content` as an object of `type`. */
export function objectId(type: ObjectType, content: Buffer): string {
  return createHash("sha1").update(`${type} ${content.length}\0`).update(content).digest("hex");
}

/**
 * Stores `content` as a loose object in `gitDir` and returns its id. Safe against concurrent
 * writers of the same object (write to a temp file, then hard-link into place; an existing
 * object wins, which is fine since its content is identical by construction).
 */
export async function writeLooseObject(gitDir: string, type: ObjectType, content: Buffer): Promise<string> {
  const oid = objectId(type, content);
  const dir = join(gitDir, "objects", oid.slice(0, 2));
  const file = join(dir, oid.slice(2));
  if (await exists(file)) return oid;
  const data = await deflateAsync(Buffer.concat([Buffer.from(`${type} ${content.length}\0`), content]));
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `tmp_obj_${randomBytes(6).toString("hex")}`);
  await writeFile(tmp, data, { mode: 0o444 });
  try {
    await link(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  } finally {
    await rm(tmp, { force: true });
  }
  return oid;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Parses a raw tree object (`<mode> <name>\0<20-byte id>` repeated). Modes are normalized to 6 digits. */
export function parseTree(body: Buffer): RawTreeEntry[] {
  const out: RawTreeEntry[] = [];
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(0x20, i);
    const nul = body.indexOf(0, sp + 1);
    if (sp < 0 || nul < 0 || nul + 21 > body.length) throw new Error("malformed tree object");
    const mode = body.toString("latin1", i, sp).padStart(6, "0");
    const name = body.toString("utf8", sp + 1, nul);
    out.push({ mode, name, oid: body.toString("hex", nul + 1, nul + 21) });
    i = nul + 21;
  }
  return out;
}

/** Serializes tree entries in git's canonical order (names compared bytewise, trees as `name/`). */
export function serializeTree(entries: RawTreeEntry[]): Buffer {
  const key = (e: RawTreeEntry) => Buffer.from(isTreeMode(e.mode) ? `${e.name}/` : e.name, "utf8");
  const sorted = [...entries].sort((a, b) => Buffer.compare(key(a), key(b)));
  const parts: Buffer[] = [];
  for (const e of sorted) {
    if (!e.name || e.name.includes("/") || e.name.includes("\0"))
      throw new Error(`bad tree entry name ${JSON.stringify(e.name)}`);
    // Git writes tree modes without the leading zero.
    const mode = isTreeMode(e.mode) ? "40000" : e.mode;
    parts.push(Buffer.from(`${mode} ${e.name}\0`, "utf8"), Buffer.from(e.oid, "hex"));
  }
  return Buffer.concat(parts);
}

export function isTreeMode(mode: string): boolean {
  return mode === "40000" || mode === "040000";
}

/** Serializes a commit object (UTC times; `message` is used verbatim). */
export function serializeCommit(c: NewCommit): Buffer {
  const sig = (who: NewCommit["author"]) => `${who.name} <${who.email}> ${who.timestamp} +0000`;
  let head = `tree ${c.tree}\n`;
  for (const p of c.parents) head += `parent ${p}\n`;
  head += `author ${sig(c.author)}\ncommitter ${sig(c.committer)}\n\n`;
  return Buffer.from(head + c.message, "utf8");
}
