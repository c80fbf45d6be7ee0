/**
 * The one list of notification providers (DESIGN.md `Notifier`): the config schema's destination
 * union and the factory both derive from this map, so a new provider is one file plus one line here.
 */
import { z } from "zod";
import type { FetchLike } from "../http.js";
import type { MessageLedger } from "../ledger.js";
import type { NotificationProvider } from "../notifier.js";
import { SlackNotifier, slackDestinationSchema } from "./slack.js";
import { type TeamsConversationSender, TeamsNotifier, teamsDestinationSchema } from "./teams.js";
import { WebhookNotifier, webhookDestinationSchema } from "./webhook.js";

/** What a provider factory may need from the composition root. */
export interface ProviderDeps {
  fetch: FetchLike;
  /** Default Slack bot token (the Slack platform's) for destinations without their own. */
  slackToken?: string;
  /** Default Slack Web API URL (`slack.apiUrl`) for destinations without their own. */
  slackApiUrl?: string;
  /** Proactive Teams messages; absent when the Teams platform is not configured. */
  teamsSender?: TeamsConversationSender;
  /** Where posted messages are recorded for other replicas and restarts (see ledger.ts). */
  ledger?: MessageLedger;
}

export const providers = {
  slack: {
    schema: slackDestinationSchema,
    create: (d: z.infer<typeof slackDestinationSchema>, deps: ProviderDeps): NotificationProvider =>
      new SlackNotifier(d, {
        fetch: deps.fetch,
        ...(deps.slackToken === undefined ? {} : { token: deps.slackToken }),
        ...(deps.slackApiUrl === undefined ? {} : { apiUrl: deps.slackApiUrl }),
        ...(deps.ledger ? { ledger: deps.ledger } : {}),
      }),
  },
  teams: {
    schema: teamsDestinationSchema,
    create: (d: z.infer<typeof teamsDestinationSchema>, deps: ProviderDeps): NotificationProvider =>
      new TeamsNotifier(d, {
        fetch: deps.fetch,
        ...(deps.teamsSender ? { sender: deps.teamsSender } : {}),
        ...(deps.ledger ? { ledger: deps.ledger } : {}),
      }),
  },
  webhook: {
    schema: webhookDestinationSchema,
    create: (d: z.infer<typeof webhookDestinationSchema>, deps: ProviderDeps): NotificationProvider =>
      new WebhookNotifier(d, { fetch: deps.fetch }),
  },
} as const;

export type ProviderType = keyof typeof providers;

/** Provider type names, e.g. for the chart's values schema. */
export const PROVIDER_TYPES = Object.keys(providers) as ProviderType[];

/** A destination of any provider, discriminated by `type`. */
export const destinationSchema = z.discriminatedUnion("type", [
  providers.slack.schema,
  providers.teams.schema,
  providers.webhook.schema,
]);

export type Destination = z.infer<typeof destinationSchema>;

/** Builds the provider for one validated destination. */
export function createProvider(d: Destination, deps: ProviderDeps): NotificationProvider {
  switch (d.type) {
    case "slack":
      return providers.slack.create(d, deps);
    case "teams":
      return providers.teams.create(d, deps);
    case "webhook":
      return providers.webhook.create(d, deps);
    default: {
      const never: never = d;
      throw new Error(`unknown destination type ${JSON.stringify(never)}`);
    }
  }
}
