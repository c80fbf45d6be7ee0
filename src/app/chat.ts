/**
 * The chat builder: the configured front ends (Slack, Teams) wired to the command engine, and
 * their stop. Teams is built before the engine (notifications post through its sender);
 * `start` connects every platform to the engine and starts it.
 *
 * Each platform's SDK is imported only when it is configured: botbuilder (~50 MiB of RSS) and
 * @slack/bolt (~35 MiB) are most of an idle bot's memory (docs/operations.md, Sizing).
 */
import type { CommandEngine } from "../bot/engine.js";
import type { ChatPlatform } from "../bot/platform.js";
import type { ConversationStore } from "../bot/platforms/teams/conversation-store.js";
import type { TeamsPlatform } from "../bot/platforms/teams/platform.js";
import type { Config } from "../config/schema.js";
import type { MessageRefStore } from "../core/message-refs.js";
import type { Logger } from "../core/ports.js";
import type { Redactor } from "../core/redact.js";
import type { HttpServer } from "../http/server.js";

export interface ChatDeps {
  logger: Logger;
  http: HttpServer;
  redactor: Redactor;
  /** Where keyed messages are recorded for other replicas (the notification ledger). */
  ledger?: MessageRefStore | undefined;
  /** Teams conversation references (from `app/state.ts`). */
  conversations?: ConversationStore | undefined;
  /** How long a platform's stop waits for its queued commands (default 10 s). */
  stopGraceMs?: number | undefined;
}

/** The front ends `cfg` enables (not started yet). */
export async function buildChat(
  cfg: Config,
  deps: ChatDeps,
): Promise<{ teams?: TeamsPlatform; platforms: ChatPlatform[] }> {
  const shared = {
    logger: deps.logger,
    http: deps.http,
    redactor: deps.redactor,
    ...(deps.ledger ? { ledger: deps.ledger } : {}),
    ...(deps.stopGraceMs !== undefined ? { stopGraceMs: deps.stopGraceMs } : {}),
  };
  const teams = cfg.teams
    ? (await import("../bot/platforms/teams/platform.js")).TeamsPlatform.fromConfig(cfg.teams, {
        ...shared,
        ...(deps.conversations ? { store: deps.conversations } : {}),
      })
    : undefined;
  const platforms: ChatPlatform[] = [];
  if (cfg.slack) {
    const { SlackPlatform } = await import("../bot/platforms/slack/platform.js");
    platforms.push(SlackPlatform.fromConfig(cfg.slack, shared));
  }
  if (teams) platforms.push(teams);
  return { ...(teams ? { teams } : {}), platforms };
}

/** Connects each platform to the engine and starts it, adding each started one's stop to `stops`. */
export async function startChat(
  platforms: ChatPlatform[],
  engine: CommandEngine,
  stops: { name: string; stop: () => Promise<void> }[],
): Promise<void> {
  for (const p of platforms) {
    p.onInvocation(engine.handle);
    await p.start();
    stops.push({ name: p.name, stop: () => p.stop() });
  }
}
