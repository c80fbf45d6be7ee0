/**
 * Environment freezes (issue #12): `freeze <env> [reason…]` records that no automation may change
 * an env until `unfreeze <env>`. The record is a file in the config repo, so a freeze is a commit
 * (audited, reviewed like any change, and it survives restarts and replicas):
 *
 * ```yaml
 * # .gitops-bot/freezes.yaml
 * freezes:
 *   - env: prod
 *     reason: release weekend
 *     by: alice <alice@example.com>
 *     at: "2026-12-07T01:00:00.000Z"
 * ```
 *
 * The `.gitops-bot/` folder holds the bot's own records: discovery and the sync never read it as
 * manifests (`isBotPath`). Reading is forgiving per entry: an entry with a mistake still freezes
 * its env (the safe reading) and is reported with what to fix; only a file whose env list cannot be
 * read at all (invalid YAML, no `freezes` list, an entry without a valid env) makes
 * `frozenEnvs` refuse, because automation cannot tell which env was meant. Edits keep the
 * file's comments and the other entries byte for byte, so a broken entry for one env never blocks
 * freezing or unfreezing another.
 */
import { type Document, isMap, isScalar, isSeq, parseDocument, Scalar, YAMLMap, YAMLSeq } from "yaml";
import { StalledError, UserError } from "../core/errors.js";
import { isSafeName, printable } from "../core/names.js";
import type { EnvFreeze, ReleaseModel } from "../core/release.js";
import type { ConfigRepo } from "./config-repo.js";

/** The folder of the bot's own records in the config repo. */
export const BOT_DIR = ".gitops-bot";
/** The freeze record. */
export const FREEZES_FILE = `${BOT_DIR}/freezes.yaml`;

/** One frozen env: who froze it, when (ISO time) and why (the release model's `EnvFreeze`). */
export type FreezeRecord = EnvFreeze;

/** A mistake in the freezes file; `env` is set when the entry still names its env (it stays frozen). */
export interface FreezeProblem {
  file: string;
  env?: string;
  message: string;
  hint: string;
}

/** The freezes file read: the frozen envs (first entry per env) and the mistakes found. */
export interface Freezes {
  freezes: FreezeRecord[];
  problems: FreezeProblem[];
}

const KEYS = new Set(["env", "reason", "by", "at"]);
const HEADER =
  " Environments where automation is frozen: written by the `freeze <env>` and `unfreeze <env>`\n" +
  " chat commands. A listed env gets no automated change until it is removed.";

/** True for a repo path inside the bot's own folder (never a manifest). */
export function isBotPath(path: string): boolean {
  const p = path.replace(/^\.\/+/, "");
  return p === BOT_DIR || p.startsWith(`${BOT_DIR}/`);
}

/** Parses the freezes file (undefined or empty: nothing is frozen). Never throws. */
export function parseFreezes(text: string | undefined, file = FREEZES_FILE): Freezes {
  const out: Freezes = { freezes: [], problems: [] };
  if (text === undefined || text.trim() === "") return out;
  const problem = (message: string, hint: string, env?: string) =>
    out.problems.push({ file, message, hint, ...(env ? { env } : {}) });
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    problem(`invalid YAML: ${firstLine(doc.errors[0]?.message)}`, "Fix the YAML syntax of the file.");
    return out;
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return out;
  const list = isMap(root) ? root.get("freezes", true) : undefined;
  if (!isMap(root) || (list !== undefined && list !== null && !isSeq(list) && !isNullScalar(list))) {
    problem("expected a `freezes:` list at the top", "Write `freezes:` followed by `- env: <name>` entries.");
    return out;
  }
  for (const key of root.items.map((p) => (isScalar(p.key) ? String(p.key.value) : "?"))) {
    if (key !== "freezes") problem(`unknown key "${printable(key)}"`, "Only `freezes:` is read; remove it.");
  }
  if (!isSeq(list)) return out;
  const seen = new Set<string>();
  list.items.forEach((item, i) => {
    const where = `freezes[${i}]`;
    const entry = isMap(item) ? (item.toJSON() as Record<string, unknown>) : undefined;
    const env = entry?.env;
    if (!entry || typeof env !== "string" || !isSafeName(env)) {
      problem(
        entry ? `${where}: "env" must be an environment name` : `${where} must be a map with an "env"`,
        "Write each entry as `- env: <name>` (lower-case letters, digits, '.', '-', '_').",
      );
      return;
    }
    const rec: FreezeRecord = { env };
    for (const [k, v] of Object.entries(entry)) {
      if (!KEYS.has(k)) {
        problem(`${where} (${env}): unknown key "${printable(k)}"`, "Use env, reason, by and at.", env);
      } else if (k !== "env" && typeof v !== "string") {
        problem(`${where} (${env}): "${k}" must be text`, `Quote the value of "${k}".`, env);
      } else if (k !== "env") rec[k as "reason" | "by" | "at"] = v as string;
    }
    if (rec.at !== undefined && Number.isNaN(Date.parse(rec.at))) {
      problem(
        `${where} (${env}): "at" is not a time`,
        'Write an ISO time such as "2026-12-07T09:00:00Z".',
        env,
      );
    }
    if (seen.has(env)) return;
    seen.add(env);
    out.freezes.push(rec);
  });
  return out;
}

function isNullScalar(n: unknown): boolean {
  return isScalar(n) && n.value === null;
}

function firstLine(s: string | undefined): string {
  return (s ?? "").split("\n")[0] ?? "";
}

/** A fresh freezes file holding `freezes` (with the explaining header comment). */
export function serializeFreezes(freezes: readonly FreezeRecord[]): string {
  const doc = editable(undefined, FREEZES_FILE);
  for (const f of freezes) append(doc, f);
  return doc.toString({ lineWidth: 0 });
}

/** The file text with `f` appended (creating the file when `text` is empty). Comments and the other
 * entries are kept. Throws a `UserError` naming the file when its env list cannot be read. */
export function addFreeze(text: string | undefined, f: FreezeRecord, file = FREEZES_FILE): string {
  const doc = editable(text, file);
  append(doc, f);
  return doc.toString({ lineWidth: 0 });
}

function append(doc: Document, f: FreezeRecord): void {
  let list = doc.get("freezes", true);
  if (!isSeq(list)) {
    list = new YAMLSeq();
    doc.set("freezes", list);
  }
  (list as YAMLSeq).flow = false;
  const entry = new YAMLMap();
  entry.set("env", f.env);
  if (f.reason) entry.set("reason", oneLine(f.reason));
  if (f.by) entry.set("by", oneLine(f.by));
  if (f.at) {
    // Quoted: a YAML 1.1 reader would take a bare ISO time for a timestamp, not text.
    const at = new Scalar(f.at);
    at.type = Scalar.QUOTE_DOUBLE;
    entry.set("at", at);
  }
  (list as YAMLSeq).add(entry);
}

/** The file text without the entries of `env`. Throws a `UserError` naming the file when its env
 * list cannot be read. */
export function removeFreeze(text: string | undefined, env: string, file = FREEZES_FILE): string {
  const doc = editable(text, file);
  const list = doc.get("freezes", true);
  if (!isSeq(list)) return text ?? "";
  const keep = list.items.filter((item) => !(isMap(item) && item.get("env") === env));
  if (keep.length === list.items.length) return text ?? "";
  list.items = keep;
  if (keep.length === 0) list.flow = true;
  return doc.toString({ lineWidth: 0 });
}

/** The document to edit: a new one with the header for an empty file; refuses a file whose env list
 * cannot be read (an edit could not know what it keeps). */
function editable(text: string | undefined, file: string): Document {
  if (text === undefined || text.trim() === "") {
    const doc = parseDocument("freezes: []\n");
    doc.commentBefore = HEADER;
    return doc;
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const list = isMap(doc.contents) ? doc.contents.get("freezes", true) : undefined;
  const readable =
    doc.errors.length === 0 &&
    isMap(doc.contents) &&
    (list === undefined || isSeq(list) || isNullScalar(list));
  if (!readable) {
    const p = parseFreezes(text, file).problems[0];
    throw new UserError(`${file} cannot be read: ${p?.message ?? "unreadable"}`, {
      code: "broken-freezes",
      hint: `${p?.hint ?? ""} Fix ${file} in the config repo, then run the command again.`.trim(),
    });
  }
  return doc;
}

/** Reasons and names are one line, bounded: they are shown in every status and refusal. */
function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim().slice(0, 300);
}

/** The freezes at `at` (default: the head as last synced). */
export async function readFreezes(repo: Pick<ConfigRepo, "read">, at?: string): Promise<Freezes> {
  return parseFreezes(await repo.read(FREEZES_FILE, at));
}

/** The freeze of `env`, if any. */
export function freezeOf(f: Freezes, env: string): FreezeRecord | undefined {
  return f.freezes.find((x) => x.env === env);
}

/**
 * The frozen envs at `rev` (default: head), for image automation's planner (`PlanInput.frozen`):
 * env -> who, why, since. Entries with a mistake still count (safe reading). Throws a
 * `StalledError` naming the file when it cannot tell which envs are frozen, so automation stops
 * and says why instead of guessing.
 */
export async function frozenEnvs(
  repo: Pick<ConfigRepo, "read">,
  rev?: string,
): Promise<ReadonlyMap<string, FreezeRecord>> {
  return frozenMap(await readFreezes(repo, rev));
}

/** `frozenEnvs` from a release model (the freezes of the revision its instances come from). */
export function frozenInModel(
  model: Pick<ReleaseModel, "freezes" | "freezeProblems">,
): ReadonlyMap<string, FreezeRecord> {
  return frozenMap({ freezes: model.freezes ?? [], problems: model.freezeProblems ?? [] });
}

function frozenMap(f: {
  freezes: readonly FreezeRecord[];
  problems: readonly { file: string; env?: string; message: string; hint?: string }[];
}): ReadonlyMap<string, FreezeRecord> {
  const whole = f.problems.find((p) => p.env === undefined);
  if (whole) {
    throw new StalledError(
      `${whole.file} cannot be read (${whole.message}), so automation does not know which envs are frozen${whole.hint ? `: ${whole.hint}` : ""}`,
    );
  }
  return new Map(f.freezes.map((x) => [x.env, x]));
}

/** "frozen by alice since 2026-12-07 01:00 UTC: release weekend" (a time that does not parse is
 * shown as written). */
export function describeFreeze(f: FreezeRecord): string {
  const d = f.at ? new Date(f.at) : undefined;
  const at = d && !Number.isNaN(d.getTime()) ? `${d.toISOString().slice(0, 16).replace("T", " ")} UTC` : f.at;
  return `frozen${f.by ? ` by ${f.by}` : ""}${at ? ` since ${at}` : ""}${f.reason ? `: ${f.reason}` : ""}`;
}
