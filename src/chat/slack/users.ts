/**
 * The Slack user directory: a user's name and e-mail (`users.info`) and usergroups
 * (`usergroups.list`), cached, each lookup bounded so a slow Slack never holds a command for long.
 */
import type { Logger } from "../../core/ports.js";
import type { Redactor } from "../../core/redact.js";
import type { SlackClient } from "./client.js";

/** A Slack user as the command engine sees them (`ChatUser`). */
export interface SlackUser {
  id: string;
  name: string;
  email?: string;
  groups?: string[];
}

/** Looks users up through the shared `SlackClient`; one per platform. */
export class SlackUserDirectory {
  /** users.info results; `user: undefined` remembers a failure (for 10 minutes, not an hour). */
  private readonly users = new Map<string, { at: number; user: Omit<SlackUser, "groups"> | undefined }>();
  private groupsCache: { at: number; byUser: Map<string, string[]> } | undefined;
  private groupsLookup: Promise<Map<string, string[]>> | undefined;

  constructor(
    private readonly client: SlackClient,
    private readonly o: { log: Logger; redactor: Redactor; lookupTimeoutMs: number },
  ) {}

  /** The user's name and e-mail and usergroups, cached, bounded by `lookupTimeoutMs`. */
  async resolve(userId: string, nameHint?: string): Promise<SlackUser> {
    const fallback: SlackUser = { id: `slack:${userId}`, name: nameHint ?? userId };
    const [info, groups] = await Promise.all([
      this.withTimeout(this.userInfo(userId), undefined),
      this.withTimeout(this.userGroups(), undefined),
    ]);
    const user: SlackUser = { ...(info ?? fallback) };
    const g = groups?.get(userId);
    if (g?.length) user.groups = g;
    return user;
  }

  private async userInfo(userId: string): Promise<Omit<SlackUser, "groups"> | undefined> {
    const now = Date.now();
    const hit = this.users.get(userId);
    if (hit && now - hit.at < (hit.user ? 3_600_000 : 600_000)) return hit.user;
    // Bounded: a workspace has many users, but a bot sees few; forget the oldest beyond 5000.
    if (this.users.size >= 5000) this.users.delete(this.users.keys().next().value as string);
    try {
      const r = await this.client.call("users.info", { user: userId }, { quiet: true });
      const u = r.user as
        | { name?: string; real_name?: string; profile?: { display_name?: string; email?: string } }
        | undefined;
      if (!u) {
        this.users.set(userId, { at: now, user: undefined });
        return undefined;
      }
      const user: Omit<SlackUser, "groups"> = {
        id: `slack:${userId}`,
        name: u.profile?.display_name || u.real_name || u.name || userId,
      };
      if (u.profile?.email) user.email = u.profile.email;
      this.users.set(userId, { at: now, user });
      return user;
    } catch (e) {
      this.o.log.debug(
        { err: this.o.redactor.text(String((e as Error).message)) },
        "slack users.info failed",
      );
      this.users.set(userId, { at: now, user: undefined });
      return undefined;
    }
  }

  private async userGroups(): Promise<Map<string, string[]> | undefined> {
    const now = Date.now();
    if (this.groupsCache && now - this.groupsCache.at < 300_000) return this.groupsCache.byUser;
    this.groupsLookup ??= this.client
      .call("usergroups.list", { include_users: true }, { quiet: true })
      .then((r) => {
        const byUser = new Map<string, string[]>();
        for (const g of (r.usergroups as { id?: string; users?: string[] }[] | undefined) ?? []) {
          if (!g.id) continue;
          for (const u of g.users ?? []) byUser.set(u, [...(byUser.get(u) ?? []), g.id]);
        }
        this.groupsCache = { at: Date.now(), byUser };
        return byUser;
      })
      .catch((e: Error) => {
        this.o.log.debug({ err: this.o.redactor.text(String(e.message)) }, "slack usergroups.list failed");
        // Remember the failure for a minute so a missing scope does not cost a call per command.
        this.groupsCache = { at: Date.now() - 240_000, byUser: new Map() };
        return this.groupsCache.byUser;
      })
      .finally(() => {
        this.groupsLookup = undefined;
      });
    return this.groupsLookup;
  }

  private withTimeout<T, F>(p: Promise<T>, fallback: F): Promise<T | F> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<F>((resolve) => {
        timer = setTimeout(() => resolve(fallback), this.o.lookupTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }
}
