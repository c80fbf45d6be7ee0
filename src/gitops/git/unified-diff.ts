/**
 * Unified diffs in the format of `git diff` (for the isomorphic-git backend, which has none):
 * a `diff --git` header per file, `new file mode` / `deleted file mode`, an `index` line with
 * abbreviated blob ids, and hunks with 3 lines of context. Line diffs use Myers' O(ND) algorithm;
 * hunks may be split differently from git's, but apply the same change.
 */

import type { TreeFile } from "./backend.js";

/** One changed file. `undefined` content means the file does not exist on that side. */
export interface FileChange {
  path: string;
  oldOid?: string;
  newOid?: string;
  oldMode?: string;
  newMode?: string;
  oldContent?: Buffer;
  newContent?: Buffer;
}

const CONTEXT = 3;

/** Renders the unified diff of `changes` (in the given order; callers sort by path). */
export function unifiedDiff(changes: FileChange[]): string {
  return changes.map(fileDiff).join("");
}

function fileDiff(c: FileChange): string {
  let out = `diff --git a/${c.path} b/${c.path}\n`;
  const abbrev = (oid?: string) => (oid ?? "0".repeat(40)).slice(0, 7);
  if (c.oldContent === undefined) out += `new file mode ${c.newMode ?? "100644"}\n`;
  else if (c.newContent === undefined) out += `deleted file mode ${c.oldMode ?? "100644"}\n`;
  else if (c.oldMode && c.newMode && c.oldMode !== c.newMode)
    out += `old mode ${c.oldMode}\nnew mode ${c.newMode}\n`;
  const sameMode = c.oldContent !== undefined && c.newContent !== undefined && c.oldMode === c.newMode;
  out += `index ${abbrev(c.oldOid)}..${abbrev(c.newOid)}${sameMode && c.newMode ? ` ${c.newMode}` : ""}\n`;
  if (isBinary(c.oldContent) || isBinary(c.newContent)) {
    return `${out}Binary files ${c.oldContent ? `a/${c.path}` : "/dev/null"} and ${c.newContent ? `b/${c.path}` : "/dev/null"} differ\n`;
  }
  const a = splitLines(c.oldContent);
  const b = splitLines(c.newContent);
  if (a.length === 0 && b.length === 0) return out.replace(/index [^\n]*\n$/, "");
  out += `--- ${c.oldContent === undefined ? "/dev/null" : `a/${c.path}`}\n`;
  out += `+++ ${c.newContent === undefined ? "/dev/null" : `b/${c.path}`}\n`;
  out += hunks(a, b);
  return out;
}

function isBinary(b: Buffer | undefined): boolean {
  return b?.subarray(0, 8000).includes(0) ?? false;
}

/** Lines including their terminator; a last line without `\n` is marked for the "No newline" note. */
function splitLines(b: Buffer | undefined): string[] {
  if (!b || b.length === 0) return [];
  const text = b.toString("utf8");
  const lines = text.split("\n");
  const last = lines.pop() as string;
  const out = lines.map((l) => `${l}\n`);
  if (last !== "") out.push(last);
  return out;
}

type Op = { kind: " " | "-" | "+"; line: string; ai: number; bi: number };

/** Myers' shortest edit script, as a list of keep/delete/insert operations. */
function editScript(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const v = new Int32Array(2 * max + 2);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x: number;
      if (k === -d || (k !== d && (v[max + k - 1] as number) < (v[max + k + 1] as number)))
        x = v[max + k + 1] as number;
      else x = (v[max + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[max + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  trace.push(v.slice());
  // Backtrack from (n, m).
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 2; d >= 0; d--) {
    const vd = trace[d] as Int32Array;
    const k = x - y;
    let prevK: number;
    if (k === -d || (k !== d && (vd[max + k - 1] as number) < (vd[max + k + 1] as number))) prevK = k + 1;
    else prevK = k - 1;
    const prevX = d === 0 ? 0 : (vd[max + prevK] as number);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      ops.push({ kind: " ", line: a[x] as string, ai: x, bi: y });
    }
    if (d === 0) break;
    if (x === prevX) {
      y--;
      ops.push({ kind: "+", line: b[y] as string, ai: x, bi: y });
    } else {
      x--;
      ops.push({ kind: "-", line: a[x] as string, ai: x, bi: y });
    }
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    ops.push({ kind: " ", line: a[x] as string, ai: x, bi: y });
  }
  return ops.reverse();
}

function hunks(a: string[], b: string[]): string {
  const ops = editScript(a, b);
  let out = "";
  let i = 0;
  while (i < ops.length) {
    while (i < ops.length && (ops[i] as Op).kind === " ") i++;
    if (i >= ops.length) break;
    const start = Math.max(0, i - CONTEXT);
    let end = i;
    // Extend while the next change is within 2*CONTEXT unchanged lines.
    for (;;) {
      while (end < ops.length && (ops[end] as Op).kind !== " ") end++;
      let j = end;
      while (j < ops.length && (ops[j] as Op).kind === " ") j++;
      if (j < ops.length && j - end <= 2 * CONTEXT) end = j;
      else {
        end = Math.min(ops.length, end + CONTEXT);
        break;
      }
    }
    const slice = ops.slice(start, end);
    const first = slice[0] as Op;
    const aCount = slice.filter((o) => o.kind !== "+").length;
    const bCount = slice.filter((o) => o.kind !== "-").length;
    const aStart = aCount === 0 ? first.ai : first.ai + 1;
    const bStart = bCount === 0 ? first.bi : first.bi + 1;
    out += `@@ -${range(aStart, aCount)} +${range(bStart, bCount)} @@\n`;
    for (const o of slice) {
      out += o.kind + o.line;
      if (!o.line.endsWith("\n")) out += "\n\\ No newline at end of file\n";
    }
    i = end;
  }
  return out;
}

function range(start: number, count: number): string {
  return count === 1 ? `${start}` : `${start},${count}`;
}

/**
 * The diff of a change about to be committed, from the contents at hand (no git process on the
 * hot path): `changed` are the new tree entries by path (null: deleted), `contents` the new texts,
 * `base` the entries before, `readBlob` reads an old blob.
 */
export async function changeDiff(
  paths: string[],
  changed: Map<string, TreeFile | null>,
  contents: Map<string, string | null>,
  base: { baseEntry(path: string): TreeFile | undefined },
  readBlob: (oid: string) => Promise<Buffer>,
): Promise<string> {
  const changes: FileChange[] = await Promise.all(
    paths.map(async (path) => {
      const old = base.baseEntry(path);
      const next = changed.get(path);
      const text = contents.get(path);
      return {
        path,
        oldOid: old?.oid,
        oldMode: old?.mode,
        oldContent: old ? await readBlob(old.oid) : undefined,
        newOid: next?.oid,
        newMode: next?.mode,
        newContent: next && typeof text === "string" ? Buffer.from(text, "utf8") : undefined,
      };
    }),
  );
  return unifiedDiff(changes);
}
