/** Choosing and creating the git backend of a `GitConfigRepo`, and where its clone lives by default. */
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RepoConfig } from "../../config/schema.js";
import { StalledError } from "../../core/errors.js";
import type { GitBackend } from "./backend.js";
import { type BackendOptions, NativeGitBackend } from "./native-backend.js";

/** Which implementation `backend: auto` resolved to, plus the factory for the isomorphic one
 * (loaded lazily so the native path never pays for importing isomorphic-git). */
export async function createBackend(
  kind: RepoConfig["backend"],
  o: BackendOptions,
  gitAvailable: () => Promise<boolean>,
): Promise<GitBackend> {
  const native = kind === "native" || (kind === "auto" && (await gitAvailable()));
  if (native) return new NativeGitBackend(o);
  if (o.remote.kind !== "http") {
    const what = o.remote.kind === "local" ? "a local path" : "an SSH URL";
    throw new StalledError(
      kind === "auto"
        ? `repo.url ${o.remote.publicUrl} is ${what}, which needs the git CLI, and git is not on PATH`
        : `repo.backend isomorphic works with HTTP(S) URLs only; use backend native (or auto) for ${what}`,
    );
  }
  const { IsomorphicGitBackend } = await import("./isomorphic-backend.js");
  return new IsomorphicGitBackend(o);
}

/** Default working clone location: stable per repo and branch, so a restart re-uses the clone. */
export function defaultWorkdir(publicUrl: string, branch: string): string {
  const id = createHash("sha256").update(`${publicUrl}#${branch}`).digest("hex").slice(0, 16);
  return join(tmpdir(), `gitops-bot-clone-${id}`);
}
