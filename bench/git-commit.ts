/**
 * Benchmark `git-commit`: time from "command decided" to "commit pushed" for a one-file YAML edit
 * on a warm clone of a 3000-file / 2000-commit repo served over smart HTTP (git http-backend
 * behind basic auth, on loopback).
 *
 *   ours  = GitConfigRepo.commit with the native backend (it always re-syncs with a fetch first)
 *   peer  = the git CLI by hand: write the file, `git add`, `git commit`, `git push`
 *   Both clones are brought up to date before each timed run, outside the timing (warm + current).
 *   other = isomorphic: the same as ours with the isomorphic-git backend;
 *           ours_moved / peer_synced: the remote moved since the last sync (another writer pushed),
 *           so ours has to download the new commit in its fetch, and the peer does
 *           `git fetch` + `git reset --hard` before its edit (inside the timing).
 *
 * Runs are interleaved (ours, peer, …) so load from other processes hits all sides alike; the
 * medians of RUNS runs are reported.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoSchema } from "../src/config/schema.js";
import { nullLogger } from "../src/core/ports.js";
import type { FileAccess } from "../src/gitops/config-repo.js";
import { GitConfigRepo } from "../src/gitops/git-config-repo.js";
import { startGitServer } from "../test/harness/git-server.js";
import { generateGitRepo } from "./lib/generate.js";

const exec = promisify(execFile);
const RUNS = Number(process.env["BENCH_RUNS"] ?? 15);
const ISO_RUNS = Number(process.env["BENCH_ISO_RUNS"] ?? 7);
const FILES = 3000;
const COMMITS = 2000;
const USER = "bench";
const PASSWORD = "bench-password";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const ms = (n: number) => `${Math.round(n)}ms`;

/** Runs the benchmark; returns the summary line. */
export default async function run(): Promise<string> {
  const tmp = await mkdtemp(join(tmpdir(), "bench-git-commit-"));
  const server = await startGitServer({ username: USER, password: PASSWORD });
  const repos: GitConfigRepo[] = [];
  try {
    const t0 = Date.now();
    const gen = await generateGitRepo(join(tmp, "gen.git"), { files: FILES, commits: COMMITS, bare: true });
    await server.createBareRepo("bench.git", { seedFrom: gen.path });
    process.stderr.write(
      `[git-commit] generated ${FILES} files / ${COMMITS} commits in ${Date.now() - t0} ms\n`,
    );
    const url = server.url("bench.git");
    const target = gen.files[0] as string;

    const openRepo = async (backend: "native" | "isomorphic") => {
      const t = Date.now();
      const repo = await GitConfigRepo.open(
        repoSchema.parse({
          url,
          backend,
          workdir: join(tmp, `wd-${backend}`),
          auth: { username: USER, password: PASSWORD },
        }),
        { logger: nullLogger },
      );
      repos.push(repo);
      process.stderr.write(`[git-commit] ${backend} clone: ${Date.now() - t} ms\n`);
      return repo;
    };
    const ours = await openRepo("native");
    const iso = await openRepo("isomorphic");

    // The peer: a normal clone, credentials via an env-scoped extra header like ours.
    const peerDir = join(tmp, "peer");
    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");
    const env = {
      ...process.env,
      GIT_TERMINAL_PROMPT: "0",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "http.extraHeader",
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${auth}`,
      GIT_AUTHOR_NAME: "Alice",
      GIT_AUTHOR_EMAIL: "alice@example.com",
      GIT_COMMITTER_NAME: "gitops-bot",
      GIT_COMMITTER_EMAIL: "bot@example.com",
    };
    const git = (args: string[]) => exec("git", args, { cwd: peerDir, env, maxBuffer: 1 << 26 });
    const t = Date.now();
    await exec("git", ["clone", "--quiet", "--branch", "main", url, peerDir], { env });
    process.stderr.write(`[git-commit] peer clone: ${Date.now() - t} ms\n`);
    const peerSync = () =>
      git(["fetch", "--quiet", "origin", "main"]).then(() =>
        git(["reset", "--quiet", "--hard", "origin/main"]),
      );

    let version = 0;
    const subject = (who: string) => `[dev/app-0] release 9.9.${version} (${who})`;
    const trailers: [string, string][] = [
      ["Gitops-Action", "release"],
      ["Requested-By", "slack:U1 (alice)"],
    ];
    const edit = (v: number) => async (f: FileAccess) => {
      const cur = (await f.read(target)) ?? "";
      await f.write(target, cur.replace(/tag: .*/, `tag: 9.9.${v}`));
    };

    const timeOurs = async (repo: GitConfigRepo, presync = true) => {
      const v = ++version;
      if (presync) await repo.sync(); // warm and current, outside the timing
      const start = performance.now();
      const res = await repo.commit({
        subject: subject(repo.backendName),
        author: { name: "Alice", email: "alice@example.com" },
        trailers,
        edits: [edit(v)],
      });
      const took = performance.now() - start;
      if (!res.sha) throw new Error("benchmark commit produced no commit");
      return took;
    };
    const timePeer = async (synced: boolean) => {
      const v = ++version;
      if (!synced) await peerSync(); // warm and current, outside the timing
      const start = performance.now();
      if (synced) await peerSync();
      const file = join(peerDir, target);
      const cur = await readFile(file, "utf8");
      await writeFile(file, cur.replace(/tag: .*/, `tag: 9.9.${v}`));
      await git(["add", "--", target]);
      await git([
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        subject("git"),
        "-m",
        trailers.map(([k, val]) => `${k}: ${val}`).join("\n"),
      ]);
      await git(["push", "--quiet", "origin", "HEAD:main"]);
      return performance.now() - start;
    };

    // Warm-up (page cache, pack indexes, cat-file helpers), not measured.
    for (let i = 0; i < 2; i++) {
      await timeOurs(ours);
      await timePeer(false);
      await timeOurs(iso);
    }
    const results = {
      ours: [] as number[],
      peer: [] as number[],
      oursMoved: [] as number[],
      peerSynced: [] as number[],
      iso: [] as number[],
    };
    for (let i = 0; i < RUNS; i++) {
      results.ours.push(await timeOurs(ours));
      results.peer.push(await timePeer(false));
      // The peer just pushed: ours is behind now and its fetch downloads the new commit.
      results.oursMoved.push(await timeOurs(ours, false));
      results.peerSynced.push(await timePeer(true));
      if (i < ISO_RUNS) results.iso.push(await timeOurs(iso));
    }
    const o = median(results.ours);
    const p = median(results.peer);
    const ps = median(results.peerSynced);
    const om = median(results.oursMoved);
    const is = median(results.iso);
    process.stderr.write(
      `[git-commit] runs (ms): ours=${results.ours.map(Math.round).join(",")} peer=${results.peer.map(Math.round).join(",")} ` +
        `ours_moved=${results.oursMoved.map(Math.round).join(",")} peer_synced=${results.peerSynced.map(Math.round).join(",")} isomorphic=${results.iso.map(Math.round).join(",")}\n`,
    );
    return (
      `git-commit: ours=${ms(o)} peer=${ms(p)} ratio=${(o / p).toFixed(2)} ` +
      `isomorphic=${ms(is)} isomorphic_ratio=${(is / p).toFixed(2)} ours_moved=${ms(om)} peer_synced=${ms(ps)} ratio_moved=${(om / ps).toFixed(2)} ` +
      `runs=${RUNS} files=${FILES} commits=${COMMITS}`
    );
  } finally {
    await Promise.allSettled(repos.map((r) => r.close()));
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}
