/**
 * Config fields every destination has, whatever its provider (spread into each provider's schema).
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
