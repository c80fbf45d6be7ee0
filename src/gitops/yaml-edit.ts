/**
 * YAML setters that change only the bytes they must (issue #2). Each setter locates the node with
 * the `yaml` package's Document API (`parseAllDocuments`, `getIn`) and splices new source text into
 * the node's range, so comments, key order, quoting style, line endings (CRLF too) and the other
 * documents of a multi-document file stay exactly as they were. Only when a splice is impossible
 * (e.g. a flow map) does a setter fall back to re-serialising that one document.
 *
 * Every setter verifies its output before returning it: the file must re-parse without errors, every
 * other document must be byte-identical, and the edited document must equal the original with exactly
 * the intended change applied. Otherwise it throws a `YamlEditError` and the caller commits nothing,
 * so a setter never produces a file that no longer parses.
 */
import { isDeepStrictEqual } from "node:util";
import YAML, { type Document, isMap, isScalar, type Node, type Pair, parseAllDocuments } from "yaml";
import { UserError } from "../core/errors.js";
import type { ImageLocation } from "../core/release.js";
import { withTag } from "./image-ref.js";

/** A key path inside one YAML document: map keys and sequence indexes. */
export type YamlPath = (string | number)[];

/** A setter could not make the change safely; nothing should be committed. */
export class YamlEditError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, {
      code: "yaml-edit",
      hint: hint ?? "Edit the file by hand, or simplify its YAML layout.",
    });
  }
}

type ParsedDoc = Document.Parsed;

/** Parses all documents of a file; throws `YamlEditError` when any has an error. */
export function parseDocs(text: string): ParsedDoc[] {
  const docs = parseAllDocuments(text, { keepSourceTokens: false });
  // parseAllDocuments returns an EmptyStream (an array) for an empty file.
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) {
    const err = d.errors[0];
    if (err) throw new YamlEditError(`the file does not parse: ${err.message.split("\n")[0]}`);
  }
  return list as ParsedDoc[];
}

/** The line ending the file uses (`\r\n` when any line ends so). */
export function eolOf(text: string): "\n" | "\r\n" {
  return text.includes("\r\n") ? "\r\n" : "\n";
}

/** The byte segments of each document: document i owns [end of i-1, end of i); the last one runs to EOF. */
function segments(text: string, docs: ParsedDoc[]): string[] {
  const out: string[] = [];
  let start = 0;
  docs.forEach((d, i) => {
    const end = i === docs.length - 1 ? text.length : d.range[2];
    out.push(text.slice(start, end));
    start = end;
  });
  return out;
}

/** True when `value` can be written as a plain scalar and reads back as the same string under both
 * YAML 1.2 and YAML 1.1 (Kubernetes' parser), so `yes`, `1.20`, `1:20` and timestamps get quoted. */
export function plainSafe(value: string): boolean {
  if (value === "" || value !== value.trim() || /[\n\r\t#]/.test(value) || /[,[\]{}]/.test(value))
    return false;
  for (const version of ["1.1", "1.2"] as const) {
    try {
      const doc = YAML.parseDocument(`k: ${value}`, { version });
      if (doc.errors.length > 0 || doc.warnings.length > 0) return false;
      if ((doc.toJS() as { k?: unknown } | null)?.k !== value) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function quoteDouble(value: string): string {
  return JSON.stringify(value);
}

function quoteSingle(value: string): string | undefined {
  return /[\n\r]/.test(value) ? undefined : `'${value.replace(/'/g, "''")}'`;
}

/** Source text for `value` in the style of the scalar it replaces (plain stays plain when safe). */
function formatLike(type: string | undefined, value: string): string {
  if (type === "QUOTE_SINGLE") return quoteSingle(value) ?? quoteDouble(value);
  if (type === "QUOTE_DOUBLE") return quoteDouble(value);
  return plainSafe(value) ? value : quoteDouble(value);
}

function keySource(key: string | number): string {
  const k = String(key);
  return plainSafe(k) && !k.includes(": ") ? k : quoteDouble(k);
}

function lineStartOf(text: string, pos: number): number {
  return text.lastIndexOf("\n", pos - 1) + 1;
}

/** Offset just after the line on which a node ending at `end` ends. */
function lineEndFrom(text: string, end: number): number {
  if (end > 0 && text[end - 1] === "\n") return end;
  const i = text.indexOf("\n", end);
  return i < 0 ? text.length : i + 1;
}

function columnOf(text: string, pos: number): number {
  return pos - lineStartOf(text, pos);
}

function nodeAt(doc: ParsedDoc, path: YamlPath): unknown {
  return path.length === 0 ? doc.contents : doc.getIn(path, true);
}

function isBlockMapWithItems(n: unknown): n is YAML.YAMLMap<Node, Node | null> {
  return isMap(n) && !n.flow && n.items.length > 0 && n.range != null;
}

function pairKey(p: Pair): unknown {
  return isScalar(p.key) ? p.key.value : p.key;
}

function nodeRange(n: unknown): [number, number, number] | undefined {
  if (n && typeof n === "object" && "range" in n) {
    const r = (n as { range?: [number, number, number] | null }).range;
    return r ?? undefined;
  }
  return undefined;
}

function cloneJS(v: unknown): unknown {
  return v === undefined ? undefined : structuredClone(v);
}

function setInJS(root: unknown, path: YamlPath, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...YamlPath];
  const obj = (
    root !== null && typeof root === "object" ? root : typeof head === "number" ? [] : {}
  ) as Record<string | number, unknown>;
  obj[head] = setInJS(obj[head], rest, value);
  return obj;
}

function deleteInJS(root: unknown, path: YamlPath): void {
  let cur = root as Record<string | number, unknown> | undefined;
  for (const k of path.slice(0, -1)) {
    if (cur === null || typeof cur !== "object") return;
    cur = cur[k] as Record<string | number, unknown> | undefined;
  }
  const last = path[path.length - 1];
  if (cur && typeof cur === "object" && last !== undefined) {
    if (Array.isArray(cur) && typeof last === "number") cur.splice(last, 1);
    else delete cur[last];
  }
}

/** Checks the edit: the output parses, other documents are byte-identical, and document `docIndex`
 * reads back as `expected` (plain JS). Returns `out` or throws. */
function verify(before: string, after: string, docIndex: number, expected: unknown): string {
  let docsAfter: ParsedDoc[];
  try {
    docsAfter = parseDocs(after);
  } catch (e) {
    throw new YamlEditError(`the edit would break the file (${(e as Error).message}); nothing was changed`);
  }
  const docsBefore = parseDocs(before);
  if (docsAfter.length !== docsBefore.length) {
    throw new YamlEditError(
      "the edit would change the number of YAML documents in the file; nothing was changed",
    );
  }
  const segB = segments(before, docsBefore);
  const segA = segments(after, docsAfter);
  for (let i = 0; i < segB.length; i++) {
    if (i !== docIndex && segA[i] !== segB[i]) {
      throw new YamlEditError(`the edit would change document ${i} of the file as well; nothing was changed`);
    }
  }
  const got = docsAfter[docIndex]?.toJS({ maxAliasCount: 1000 });
  if (!isDeepStrictEqual(got, expected)) {
    throw new YamlEditError("the edit did not produce exactly the intended value; nothing was changed");
  }
  return after;
}

function getDoc(docs: ParsedDoc[], docIndex: number): ParsedDoc {
  const doc = docs[docIndex];
  if (!doc) throw new YamlEditError(`the file has no YAML document #${docIndex}`);
  return doc;
}

/** Re-serialises only document `docIndex` after `mutate` (the fallback when no splice is possible). */
function rewriteDoc(
  text: string,
  docs: ParsedDoc[],
  docIndex: number,
  mutate: (d: ParsedDoc) => void,
): string {
  const doc = getDoc(docs, docIndex).clone() as ParsedDoc;
  try {
    mutate(doc);
  } catch (e) {
    // e.g. a path through an alias (`annotations: *common`): the Document API refuses it.
    throw new YamlEditError(`cannot edit this YAML layout: ${(e as Error).message}`);
  }
  const segs = segments(text, docs);
  let s = doc.toString({ lineWidth: 0 });
  if (eolOf(text) === "\r\n") s = s.replace(/\r?\n/g, "\r\n");
  segs[docIndex] = s;
  return segs.join("");
}

/** Reads the value at `path` of document `docIndex` (plain JS), or undefined. */
export function getValue(text: string, docIndex: number, path: YamlPath): unknown {
  const doc = getDoc(parseDocs(text), docIndex);
  const v = doc.getIn(path, false);
  return isScalar(v) ? v.value : v && typeof v === "object" && "toJSON" in v ? (v as Node).toJSON() : v;
}

/**
 * Sets the string at `path` in document `docIndex`, creating missing map keys (block maps only) on
 * the way. Keeps the scalar's quoting style; a plain scalar that would read back as something else
 * (`true`, `1.20`) is double-quoted. Returns the text unchanged when the value is already there.
 */
export function setString(text: string, docIndex: number, path: YamlPath, value: string): string {
  const docs = parseDocs(text);
  const doc = getDoc(docs, docIndex);
  const expected = setInJS(cloneJS(doc.toJS({ maxAliasCount: 1000 })), path, value);
  const node = nodeAt(doc, path);
  if (isScalar(node)) {
    if (node.value === value && typeof node.value === "string") return text;
    const r = nodeRange(node);
    if (r && !node.anchor && !node.tag) {
      const old = text.slice(r[0], r[1]);
      let src = formatLike(node.type, value);
      if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED") {
        // A block scalar's range ends after its line break; keep one so the next key stays on its line.
        src = quoteDouble(value) + (old.endsWith("\r\n") ? "\r\n" : old.endsWith("\n") ? "\n" : "");
      } else if (old === "") {
        src = ` ${src}`;
      }
      return verify(text, text.slice(0, r[0]) + src + text.slice(r[1]), docIndex, expected);
    }
  } else if (node === undefined || node === null) {
    const inserted = insertKey(text, doc, path, value);
    if (inserted !== undefined) return verify(text, inserted, docIndex, expected);
  } else {
    throw new YamlEditError(`the value at ${path.join(".")} is not a string`);
  }
  return verify(
    text,
    rewriteDoc(text, docs, docIndex, (d) => d.setIn(path, value)),
    docIndex,
    expected,
  );
}

/** Inserts `path = value` by adding lines to the deepest existing block map on the path. */
function insertKey(text: string, doc: ParsedDoc, path: YamlPath, value: string): string | undefined {
  if (path.length === 0) return undefined;
  // Find the deepest ancestor that exists.
  let depth = path.length - 1;
  while (depth > 0 && nodeAt(doc, path.slice(0, depth)) == null) depth--;
  const parent = nodeAt(doc, path.slice(0, depth));
  const missing = path.slice(depth);
  if (!missing.every((k) => typeof k === "string")) return undefined;
  if (!isBlockMapWithItems(parent)) return undefined;
  // An existing key with a null value (`annotations:`) cannot be extended by appending lines.
  const firstMissing = missing[0];
  if (parent.items.some((p) => pairKey(p) === firstMissing)) return undefined;
  const first = parent.items[0];
  const last = parent.items[parent.items.length - 1];
  const firstKeyRange = nodeRange(first?.key);
  if (!first || !last || !firstKeyRange) return undefined;
  const col = columnOf(text, firstKeyRange[0]);
  const lastEnd = nodeRange(last.value)?.[1] ?? nodeRange(last.key)?.[1];
  if (lastEnd === undefined) return undefined;
  const step = indentStep(text, parent, doc) ?? 2;
  const eol = eolOf(text);
  const siblingStyle = parent.items.find((p) => isScalar(p.value))?.value;
  const valueStyle =
    isScalar(siblingStyle) && siblingStyle.type === "QUOTE_SINGLE" ? "QUOTE_SINGLE" : "PLAIN";
  const lines: string[] = [];
  missing.forEach((k, i) => {
    const pad = " ".repeat(col + i * step);
    const isLeaf = i === missing.length - 1;
    lines.push(isLeaf ? `${pad}${keySource(k)}: ${formatLike(valueStyle, value)}` : `${pad}${keySource(k)}:`);
  });
  let at = lineEndFrom(text, lastEnd);
  let prefix = "";
  if (at === text.length && !text.endsWith("\n")) prefix = eol;
  // Do not slip the new key into a trailing comment block that belongs to the next document marker.
  at = Math.min(at, text.length);
  return text.slice(0, at) + prefix + lines.join(eol) + eol + text.slice(at);
}

/** The indentation step the document uses (child key column minus parent key column), from the
 * first nested block map found below `map`, else anywhere in the document. */
function indentStep(text: string, map: YAML.YAMLMap<Node, Node | null>, doc?: ParsedDoc): number | undefined {
  const stepIn = (m: YAML.YAMLMap<Node, Node | null>): number | undefined => {
    for (const p of m.items) {
      const kr = nodeRange(p.key);
      const v = p.value;
      if (kr && isMap(v) && !v.flow && v.items[0]) {
        const ckr = nodeRange(v.items[0].key);
        if (ckr) {
          const d = columnOf(text, ckr[0]) - columnOf(text, kr[0]);
          if (d > 0) return d;
        }
      }
    }
    return undefined;
  };
  const local = stepIn(map);
  if (local !== undefined || !doc) return local;
  let found: number | undefined;
  YAML.visit(doc, {
    Map(_k, m) {
      if (found !== undefined) return YAML.visit.BREAK;
      if (!m.flow) found = stepIn(m as YAML.YAMLMap<Node, Node | null>);
      return undefined;
    },
  });
  return found;
}

/** Removes the key at `path` (a map entry) from document `docIndex`, with its line(s) and its inline
 * comment. When it was the only key of its map, the map's own key goes too (no empty `annotations:`).
 * Returns the text unchanged when the key is absent. */
export function removeKey(text: string, docIndex: number, path: YamlPath): string {
  const docs = parseDocs(text);
  const doc = getDoc(docs, docIndex);
  if (doc.getIn(path, true) === undefined && !doc.hasIn(path)) return text;
  const parentPath = path.slice(0, -1);
  const parent = nodeAt(doc, parentPath);
  const expected = cloneJS(doc.toJS({ maxAliasCount: 1000 }));
  deleteInJS(expected, path);
  let removePath = path;
  if (isMap(parent) && parent.items.length === 1 && parentPath.length > 0) {
    deleteInJS(expected, parentPath);
    removePath = parentPath;
  }
  const spliced = spliceOutPair(text, doc, removePath);
  if (spliced !== undefined) return verify(text, spliced, docIndex, expected);
  return verify(
    text,
    rewriteDoc(text, docs, docIndex, (d) => {
      d.deleteIn(removePath);
    }),
    docIndex,
    expected,
  );
}

/** Cuts the lines of the pair at `path` out of the text, when it sits in a block map on its own lines. */
function spliceOutPair(text: string, doc: ParsedDoc, path: YamlPath): string | undefined {
  const parent = nodeAt(doc, path.slice(0, -1));
  const key = path[path.length - 1];
  if (!isBlockMapWithItems(parent)) return undefined;
  const pair = parent.items.find((p) => pairKey(p) === key);
  if (!pair) return undefined;
  const kr = nodeRange(pair.key);
  if (!kr) return undefined;
  const start = lineStartOf(text, kr[0]);
  if (text.slice(start, kr[0]).trim() !== "") return undefined; // e.g. `- key: v` in a sequence item
  const endPos = nodeRange(pair.value)?.[1] ?? kr[1];
  const end = lineEndFrom(text, endPos);
  return text.slice(0, start) + text.slice(end);
}

/** Sets an image's tag at its location. Where the tag lives in a `repo:tag` string (no
 * `repositoryPath`), only the tag part changes and any `@digest` is dropped, since it pinned the old
 * image. `repository`, when given, replaces the repository as well. */
export function setImageTag(
  text: string,
  docIndex: number,
  loc: ImageLocation,
  tag: string,
  repository?: string,
): string {
  if (loc.repositoryPath === undefined) {
    const current = getValue(text, docIndex, loc.tagPath);
    if (typeof current !== "string") throw new YamlEditError(`no image string at ${loc.tagPath.join(".")}`);
    const next = withTag(repository ?? current, tag);
    if (next === undefined) throw new YamlEditError(`"${current}" is not an image reference`);
    return setString(text, docIndex, loc.tagPath, next);
  }
  let out = setString(text, docIndex, loc.tagPath, tag);
  if (repository !== undefined) out = setString(out, docIndex, loc.repositoryPath, repository);
  return out;
}

/** Sets `metadata.annotations[key]` (created when missing) to a string. */
export function setAnnotation(text: string, docIndex: number, key: string, value: string): string {
  return setString(text, docIndex, ["metadata", "annotations", key], value);
}

/** Removes `metadata.annotations[key]`; a no-op when absent. */
export function removeAnnotation(text: string, docIndex: number, key: string): string {
  return removeKey(text, docIndex, ["metadata", "annotations", key]);
}

/** Path of the chart version in a HelmRelease: `spec.chart.version` (helm.fluxcd.io/v1) or
 * `spec.chart.spec.version` (helm.toolkit.fluxcd.io/*). */
export function chartVersionPath(apiVersion: string): YamlPath {
  return apiVersion.startsWith("helm.toolkit.fluxcd.io/")
    ? ["spec", "chart", "spec", "version"]
    : ["spec", "chart", "version"];
}

/** Sets the chart version of the HelmRelease in document `docIndex`. */
export function setChartVersion(text: string, docIndex: number, version: string): string {
  const doc = getDoc(parseDocs(text), docIndex);
  const apiVersion = String(doc.get("apiVersion") ?? "");
  return setString(text, docIndex, chartVersionPath(apiVersion), version);
}

/** Sets the git ref of a chart from git (`spec.chart.ref`, helm.fluxcd.io/v1). */
export function setChartRef(text: string, docIndex: number, ref: string): string {
  return setString(text, docIndex, ["spec", "chart", "ref"], ref);
}

/** True when `text` parses (every document) without errors. */
export function parsesCleanly(text: string): boolean {
  try {
    parseDocs(text);
    return true;
  } catch {
    return false;
  }
}
