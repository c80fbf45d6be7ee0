/**
 * A lock on one working clone shared by several processes on one machine (parallel CI jobs running
 * `gitops-bot cmd`, two `serve` processes with the same workdir): git's own lock files make the
 * second writer fail (`could not lock config file … File exists`) instead of waiting, so every
 * step that writes to the clone (init + settings, fetch, commit + push, gc) runs under this lock.
 *
 * The lock is a directory `<workdir>.lock` (mkdir is atomic) holding `owner.json` (pid, host, a
 * random token). Waiters poll with jittered backoff up to `timeoutMs`. A lock whose owner process
 * is gone (same host, pid not alive), or that is older than `staleMs`, is taken over; the takeover
 * renames the directory first, so of two waiters that both saw it stale only one removes it.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { TransientError } from "../../core/errors.js";

interface Owner {
  pid: number;
  host: string;
  token: string;
  since: string;
}

/** Options of `WorkdirLock`; the defaults suit a bot (a write holds the lock for seconds). */
export interface WorkdirLockOptions {
  /** How long `run` waits for the lock before giving up with a `TransientError` (default 5 min). */
  timeoutMs?: number;
  /** A lock held this long is considered abandoned (default 15 min, above git's own timeouts). */
  staleMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Cross-process mutual exclusion on one working clone; `run(fn)` holds it while `fn` runs. */
export class WorkdirLock {
  readonly path: string;
  private readonly timeoutMs: number;
  private readonly staleMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(workdir: string, o: WorkdirLockOptions = {}) {
    this.path = `${workdir.replace(/\/+$/u, "")}.lock`;
    this.timeoutMs = o.timeoutMs ?? 300_000;
    this.staleMs = o.staleMs ?? 900_000;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Runs `fn` while holding the lock; waits for another holder first. Releases it even when `fn` throws. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const token = await this.acquire();
    try {
      return await fn();
    } finally {
      await this.release(token);
    }
  }

  private async acquire(): Promise<string> {
    const token = randomUUID();
    const deadline = Date.now() + this.timeoutMs;
    await mkdir(dirname(this.path), { recursive: true });
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(this.path);
        const owner: Owner = { pid: process.pid, host: hostname(), token, since: new Date().toISOString() };
        await writeFile(join(this.path, "owner.json"), JSON.stringify(owner));
        return token;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      if (await this.takeOverIfStale()) continue;
      if (Date.now() >= deadline) {
        const owner = await this.owner();
        throw new TransientError(
          `the working clone is locked by another gitops-bot process${owner ? ` (pid ${owner.pid} on ${owner.host} since ${owner.since})` : ""}; gave up after ${Math.round(this.timeoutMs / 1000)}s`,
        );
      }
      const base = Math.min(500, 10 * 2 ** Math.min(attempt, 6));
      await this.sleep(Math.round(base * (0.5 + Math.random() * 0.5)));
    }
  }

  private async release(token: string): Promise<void> {
    // Only our own lock is removed: after a takeover (we were presumed dead) it is someone else's.
    const owner = await this.owner();
    if (owner?.token === token) await rm(this.path, { recursive: true, force: true });
  }

  private async owner(dir = this.path): Promise<Owner | undefined> {
    try {
      return JSON.parse(await readFile(join(dir, "owner.json"), "utf8")) as Owner;
    } catch {
      return undefined;
    }
  }

  private async takeOverIfStale(): Promise<boolean> {
    const owner = await this.owner();
    let age: number;
    try {
      age = Date.now() - (await stat(this.path)).mtimeMs;
    } catch {
      return true; // released meanwhile: try again at once
    }
    // No owner file yet: the holder is between mkdir and writeFile, unless that was long ago.
    const dead = owner ? owner.host === hostname() && !alive(owner.pid) : age > 10_000;
    if (!dead && age < this.staleMs) return false;
    const aside = `${this.path}.stale-${randomUUID()}`;
    try {
      await rename(this.path, aside);
    } catch {
      return true; // another waiter took it over first
    }
    const moved = await this.owner(aside);
    if (owner && moved?.token !== owner.token) {
      // Between our look and the rename, the stale lock was replaced by a live one: put it back.
      await rename(aside, this.path).catch(() => undefined);
      return false;
    }
    await rm(aside, { recursive: true, force: true });
    return true;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
