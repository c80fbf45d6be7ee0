/**
 * The one list of notification providers (DESIGN.md `Notifier`): one factory per destination schema
 * of `config/notification-destinations.ts` (the schemas live in config/ so the config does not
 * import the providers; `createProvider`'s exhaustive switch fails to compile when a destination
 * type has no provider). A new provider is one file, its schema, and one line here.
 */
import type { z } from "zod";
import {
  type Destination,
  slackDestinationSchema,
  teamsDestinationSchema,
  webhookDestinationSchema,
} from "../../config/notification-destinations.js";
import type { FetchLike } from "../http.js";
import type { MessageLedger } from "../ledger.js";
import type { NotificationProvider } from "../notifier.js";
import { SlackNotifier } from "./slack.js";
import { type TeamsConversationSender, TeamsNotifier } from "./teams.js";
import { WebhookNotifier } from "./webhook.js";

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
