/**
 * `InMemoryConfigRepo`: a test double of the `ConfigRepo` port (not of any module). A linear branch
 * of snapshots in memory, with the port's commit guarantees: edits run on the latest head, a
 * "rejected push" (simulated with `raceOnce`) re-applies the edits on the new head, a throwing edit
 * commits nothing, a no-op edit makes no commit, and `dryRun` only computes the diff.
 */
import { createHash } from "node:crypto";
import type {
  Change,
  CommitInfo,
  CommitResult,
  ConfigRepo,
  FileAccess,
  Identity,
  LogFilter,
} from "../../src/gitops/config-repo.js";
import { parseTrailerBlock } from "../../src/gitops/trailers.js";

interface Snapshot {
  info: CommitInfo;
  files: Map<string, string>;
}

function checkPath(p: string): string {
  if (p.startsWith("/") || p.split("/").includes("..") || p.includes("\\"))
    throw new Error(`path outside repo: ${p}`);
  return p.replace(/^\.\//, "").replace(/\/+$/, "");
}

/** A minimal line diff (LCS), enough for tests and previews. */
export function lineDiff(path: string, a: string | undefined, b: string | undefined): string {
  const x = a === undefined ? [] : a.split("\n");
  const y = b === undefined ? [] : b.split("\n");
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out = [
    `--- ${a === undefined ? "/dev/null" : `a/${path}`}`,
    `+++ ${b === undefined ? "/dev/null" : `b/${path}`}`,
  ];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      out.push(`+${y[j++]}`);
    } else {
      out.push(`-${x[i++]}`);
    }
  }
  return `${out.join("\n")}\n`;
}

export class InMemoryConfigRepo implements ConfigRepo {
  readonly publicUrl = "memory://config-repo";
  private readonly commits = new Map<string, Snapshot>();
  private headSha: string;
  private counter = 0;
  private clockMs = Date.parse("2026-01-01T00:00:00Z");
  /** Runs once inside the next `commit`, after the edits and before the "push": a concurrent writer. */
  raceOnce: (() => void) | undefined;
  /** Every `Change` passed to `commit`, in order. */
  readonly changes: Change[] = [];

  constructor(files: Record<string, string>, author: Identity = { name: "seed", email: "seed@example.com" }) {
    this.headSha = this.store(new Map(Object.entries(files)), [], "initial", author, []);
  }

  private store(
    files: Map<string, string>,
    parents: string[],
    message: string,
    author: Identity,
    trailers: [string, string][],
  ): string {
    this.counter++;
    this.clockMs += 60_000;
    const sha = createHash("sha1")
      .update(`${this.counter}\0${message}\0${[...files].map(([k, v]) => `${k}\0${v}`).join("\0")}`)
      .digest("hex");
    const [subject, ...rest] = message.split("\n");
    const time = new Date(this.clockMs).toISOString();
    const info: CommitInfo = {
      sha,
      parents,
      subject: subject ?? "",
      body: rest.join("\n").trim(),
      author: { ...author, time },
      committer: { ...author, time },
      trailers: trailers.length ? trailers : parseTrailerBlock(message),
    };
    this.commits.set(sha, { info, files });
    return sha;
  }

  private snap(at?: string): Snapshot {
    const s =
      this.commits.get(at ?? this.headSha) ??
      [...this.commits.values()].find((c) => at && c.info.sha.startsWith(at));
    if (!s) throw new Error(`unknown revision ${at}`);
    return s;
  }

  /** Commits files directly, as a person or another tool would (a "foreign" commit). `null` deletes. */
  commitFiles(
    files: Record<string, string | null>,
    message: string,
    author: Identity = { name: "carol", email: "carol@example.com" },
  ): string {
    const next = new Map(this.snap().files);
    for (const [k, v] of Object.entries(files)) {
      if (v === null) next.delete(k);
      else next.set(k, v);
    }
    this.headSha = this.store(next, [this.headSha], message, author, []);
    return this.headSha;
  }

  async sync(): Promise<string> {
    return this.headSha;
  }
  async head(): Promise<string> {
    return this.headSha;
  }
  async read(path: string, at?: string): Promise<string | undefined> {
    return this.snap(at).files.get(checkPath(path));
  }
  async list(dir: string, at?: string): Promise<string[]> {
    const d = checkPath(dir);
    return [...this.snap(at).files.keys()].filter((k) => d === "" || k.startsWith(`${d}/`)).sort();
  }

  async commit(change: Change): Promise<CommitResult> {
    this.changes.push(change);
    let retries = 0;
    for (;;) {
      const parent = this.headSha;
      const base = this.snap(parent).files;
      const work = new Map(base);
      const fa: FileAccess = {
        read: async (p) => work.get(checkPath(p)),
        write: async (p, c) => {
          work.set(checkPath(p), c);
        },
        remove: async (p) => {
          work.delete(checkPath(p));
        },
        list: async (d) => {
          const dd = checkPath(d);
          return [...work.keys()].filter((k) => dd === "" || k.startsWith(`${dd}/`)).sort();
        },
      };
      for (const e of change.edits) await e(fa);
      const changed = [...new Set([...base.keys(), ...work.keys()])]
        .filter((k) => base.get(k) !== work.get(k))
        .sort();
      const diff = changed.map((k) => lineDiff(k, base.get(k), work.get(k))).join("");
      if (change.dryRun || changed.length === 0) return { parent, diff, files: changed, retries };
      const race = this.raceOnce;
      if (race) {
        this.raceOnce = undefined;
        race();
        retries++;
        continue; // the push was "rejected": re-apply on the new head
      }
      const msg = [
        change.subject,
        change.body ?? "",
        change.trailers.map(([k, v]) => `${k}: ${v}`).join("\n"),
      ]
        .filter((s) => s.trim() !== "")
        .join("\n\n");
      this.headSha = this.store(work, [parent], msg, change.author, change.trailers);
      return { sha: this.headSha, parent, diff, files: changed, retries };
    }
  }

  async log(filter: LogFilter = {}): Promise<CommitInfo[]> {
    const out: CommitInfo[] = [];
    let cur: string | undefined = filter.from ?? this.headSha;
    while (cur && (filter.limit === undefined || out.length < filter.limit)) {
      const s = this.snap(cur);
      const parent = s.info.parents[0];
      const pf = parent ? this.snap(parent).files : new Map<string, string>();
      const touches =
        !filter.paths ||
        filter.paths.some((p) =>
          [...new Set([...s.files.keys(), ...pf.keys()])].some(
            (k) => (k === p || k.startsWith(`${p}/`)) && s.files.get(k) !== pf.get(k),
          ),
        );
      if (touches) out.push(s.info);
      cur = parent;
    }
    return out;
  }

  async diff(from: string, to: string, paths?: string[]): Promise<string> {
    const a = this.snap(from).files;
    const b = this.snap(to).files;
    return [...new Set([...a.keys(), ...b.keys()])]
      .filter((k) => a.get(k) !== b.get(k) && (!paths || paths.some((p) => k === p || k.startsWith(`${p}/`))))
      .sort()
      .map((k) => lineDiff(k, a.get(k), b.get(k)))
      .join("");
  }

  async close(): Promise<void> {}
}
