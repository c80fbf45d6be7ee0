/**
 * The notification destinations' config (one schema per provider, plus the fields every
 * destination has). It lives in `config/` so the config schema does not import the providers
 * (layers point one way, issue #10); each provider in `notifications/providers/` takes its
 * destination type from here.
 */
import { z } from "zod";

/** Message templates (fluxcloud layout) and the commit link template (every layout). */
export const templatesSchema = z
  .object({
    title: z
      .string()
      .optional()
      .describe("fluxcloud title template; placeholders `{cluster} {env} {app} {event} {sha} {shortSha}`."),
    body: z
      .string()
      .optional()
      .describe(
        "fluxcloud body template; placeholders `{event} {commits} {resources} {errors} {helm} {cluster} {env} {app}`; blank lines separate paragraphs.",
      ),
    commitLink: z
      .string()
      .optional()
      .describe(
        "Commit link template, applied to every commit link: `{repoUrl}` and `{sha}` (or `{shortSha}`). Default `{repoUrl}/commit/{sha}` (GitHub, GitLab; `/commits/` for Bitbucket).",
      ),
  })
  .describe("Templates.");

export const commonDestinationFields = {
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "letters, digits, `-`, `_` and `.`")
    .describe("Destination name, used by `routes[].to`."),
  format: z
    .enum(["rich", "fluxcloud"])
    .optional()
    .describe(
      "Message layout: `rich` (one updated message per release) or `fluxcloud` (fluxcloud's text layout). Default: `notifications.format`.",
    ),
  templates: templatesSchema.optional(),
  rateLimit: z
    .object({ perSecond: z.number().positive().describe("Messages per second.") })
    .optional()
    .describe("Override the provider's rate limit (only to go below the platform limit)."),
};

export const slackDestinationSchema = z
  .object({
    ...commonDestinationFields,
    type: z.literal("slack"),
    channel: z.string().min(1).optional().describe("Channel id (C…) or name to post to with the bot token."),
    token: z
      .string()
      .optional()
      .describe(
        "Bot token (`xoxb-…`); default: the Slack platform's bot token. Use `${ENV_VAR}` interpolation.",
      ),
    apiUrl: z
      .string()
      .url()
      .optional()
      .describe(
        "Slack Web API base URL; default: the Slack platform's `slack.apiUrl`, else `https://slack.com/api` (proxies, local fakes).",
      ),
    webhookUrl: z
      .string()
      .url()
      .optional()
      .describe("Incoming webhook URL instead of the Web API (no in-place updates, no threads)."),
  })
  .refine((d) => d.channel !== undefined || d.webhookUrl !== undefined, {
    message: "a slack destination needs `channel` (Web API) or `webhookUrl`",
  })
  .describe("Slack destination.");

export type SlackDestination = z.infer<typeof slackDestinationSchema>;

export const teamsDestinationSchema = z
  .object({
    ...commonDestinationFields,
    type: z.literal("teams"),
    conversation: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Stored conversation (channel or chat) the bot posts to proactively; the card is updated in place.",
      ),
    url: z
      .string()
      .url()
      .optional()
      .describe("Workflows / incoming webhook URL (post only). Treat it as a secret."),
  })
  .refine((d) => d.conversation !== undefined || d.url !== undefined, {
    message: "a teams destination needs `conversation` (proactive bot message) or `url` (Workflows webhook)",
  })
  .describe("Microsoft Teams destination.");

export type TeamsDestination = z.infer<typeof teamsDestinationSchema>;

export const webhookDestinationSchema = z
  .object({
    ...commonDestinationFields,
    type: z.literal("webhook"),
    url: z.string().url().describe("Where to POST the JSON payload."),
    secret: z
      .string()
      .min(8)
      .optional()
      .describe(
        "HMAC-SHA256 signing secret (header `X-Gitops-Signature-256`). Use `${ENV_VAR}` interpolation.",
      ),
  })
  .describe("Generic JSON webhook destination.");

export type WebhookDestination = z.infer<typeof webhookDestinationSchema>;

/** A destination of any provider, discriminated by `type` (the providers map in
 * `notifications/providers/index.ts` has one factory per member; `createProvider` is exhaustive). */
export const destinationSchema = z.discriminatedUnion("type", [
  slackDestinationSchema,
  teamsDestinationSchema,
  webhookDestinationSchema,
]);

export type Destination = z.infer<typeof destinationSchema>;
