/**
 * Test setup for the engine against the real `GitConfigRepo` + `ReleaseService`: a fresh config
 * repo made from `examples/config-repo` (local path, or served by the git harness over HTTP).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultExamplesDir, prepareDemoRepo } from "../../../src/app/demo.js";
import {
  type ApprovalStore,
  FileApprovalStore,
  InMemoryApprovalStore,
} from "../../../src/bot/approvals/store.js";
import { Authorizer } from "../../../src/bot/authz.js";
import { CommandEngine, type EngineDeps } from "../../../src/bot/engine.js";
import type { ChatUser, Invocation } from "../../../src/bot/platform.js";
import { type ApprovalsConfig, type AuthzConfig, repoSchema } from "../../../src/config/schema.js";
import type { GitopsEvent } from "../../../src/core/events.js";
import { nullLogger } from "../../../src/core/ports.js";
import { GitConfigRepo } from "../../../src/gitops/git-config-repo.js";
import { ReleaseService } from "../../../src/gitops/release-service.js";
import type { GitServer } from "../../harness/git-server.js";

export const alice: ChatUser = { id: "slack:UALICE", name: "alice", email: "alice@example.com" };
export const bob: ChatUser = { id: "slack:UBOB", name: "bob", email: "bob@example.com" };

/** A mutable clock. */
export class FakeClock {
  constructor(public t = Date.parse("2026-03-01T10:00:00Z")) {}
  now = () => new Date(this.t);
  advance(ms: number) {
    this.t += ms;
  }
}

export interface Setup {
  dir: string;
  repoPath: string;
  repo: GitConfigRepo;
  engine: CommandEngine;
  events: GitopsEvent[];
  store: ApprovalStore;
  clock: FakeClock;
  /** Runs a command as `user` (default alice) with a fresh invocation id unless given. */
  run(
    text: string,
    o?: { user?: ChatUser; id?: string; button?: string; trusted?: boolean; yes?: boolean },
  ): ReturnType<CommandEngine["execute"]>;
  /** `git log -1` of the config repo: subject, body, trailers. */
  lastCommit(): Promise<{ sha: string; message: string; author: string }>;
  commitCount(): Promise<number>;
  /** A new engine on the same repo and store (a restart). */
  restart(): CommandEngine;
  close(): Promise<void>;
}

let seq = 0;

/** Creates a config repo from the examples and an engine on it. */
export async function setup(
  o: {
    authz?: Partial<AuthzConfig>;
    approvals?: Partial<ApprovalsConfig>;
    store?: (dir: string) => ApprovalStore;
    deps?: Partial<EngineDeps>;
    url?: (repoPath: string) => Promise<{ url: string; auth?: { username: string; password: string } }>;
    /** The git backend (default: auto). */
    backend?: "native" | "isomorphic";
  } = {},
): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), "bot-it-"));
  const { repo: repoPath } = await prepareDemoRepo(dir, defaultExamplesDir());
  const remote = o.url ? await o.url(repoPath) : { url: repoPath };
  const repo = await GitConfigRepo.open(
    repoSchema.parse({
      url: remote.url,
      branch: "main",
      workdir: join(dir, "work"),
      ...(remote.auth ? { auth: remote.auth } : {}),
      ...(o.backend ? { backend: o.backend } : {}),
    }),
    { logger: nullLogger },
  );
  const store = o.store ? o.store(dir) : new InMemoryApprovalStore();
  const clock = new FakeClock();
  const events: GitopsEvent[] = [];
  const make = () =>
    new CommandEngine({
      // One clock for the engine and the operations: lock and freeze times are the test's.
      ops: new ReleaseService({ repo, clock }),
      authorizer: new Authorizer(o.authz, o.approvals),
      approvals: store,
      events: { emit: (e) => events.push(e) },
      clock,
      ...(o.approvals?.ttl ? { approvalTtlMs: o.approvals.ttl } : {}),
      ...o.deps,
    });
  let engine = make();
  const s: Setup = {
    dir,
    repoPath,
    repo,
    get engine() {
      return engine;
    },
    events,
    store,
    clock,
    run(text, r = {}) {
      const inv: Invocation = {
        id: r.id ?? `inv-${++seq}`,
        platform: "slack",
        text,
        user: r.user ?? alice,
        channel: "C1",
        receivedAt: clock.now(),
        ...(r.button ? { button: { value: r.button } } : {}),
      };
      return engine.execute(inv, {
        ...(r.trusted ? { trusted: true } : {}),
        ...(r.yes ? { yes: true } : {}),
      });
    },
    async lastCommit() {
      await repo.sync();
      const head = await repo.head();
      const [c] = await repo.log({ limit: 1, from: head });
      if (!c) throw new Error("no commit");
      const trailers = c.trailers.map(([k, v]) => `${k}: ${v}`).join("\n");
      return {
        sha: c.sha,
        message: `${c.subject}\n\n${c.body}\n${trailers}`,
        author: `${c.author.name} <${c.author.email}>`,
      };
    },
    async commitCount() {
      await repo.sync();
      return (await repo.log({ limit: 1000 })).length;
    },
    restart() {
      engine = make();
      return engine;
    },
    async close() {
      await repo.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return s;
}

let served = 0;

/** `setup` on a fresh repo of `server` (seeded from the examples) over HTTP, with a file approval store. */
export function setupOverHttp(server: GitServer, o: Parameters<typeof setup>[0] = {}): Promise<Setup> {
  return setup({
    ...o,
    store: (dir) => new FileApprovalStore(join(dir, "approvals.json")),
    url: async () => {
      const name = `config-${++served}.git`;
      await server.createBareRepo(name, { seedFrom: defaultExamplesDir() });
      return { url: server.url(name), auth: { username: "bot", password: "s3cret-pw" } };
    },
  });
}
