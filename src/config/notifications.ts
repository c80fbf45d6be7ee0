/**
 * The `notifications` config section (issue #5): destinations (one per provider instance) and
 * routes that match events to destination names. With no routes, every event goes to every
 * destination. Plugged into `src/config/schema.ts`.
 */
import { z } from "zod";
import { CronSchedule } from "../core/cron.js";
import { REPORT_SECTION_IDS } from "../core/report.js";
import { destinationSchema, templatesSchema } from "./notification-destinations.js";

const EVENT_KINDS = ["command-commit", "sync", "auto-release", "helm", "reconciler"] as const;
const SEVERITIES = ["info", "success", "warning", "error"] as const;

const patterns = (what: string) =>
  z.array(z.string().min(1)).optional().describe(`${what}; \`*\` is a wildcard. Unset: any.`);

export const routeSchema = z
  .object({
    match: z
      .object({
        env: patterns("Environments"),
        app: patterns("Apps"),
        namespace: patterns("Namespaces the event touches"),
        cluster: patterns(
          "Cluster names (`clusterName` of the bot that emitted the event: one config for several clusters)",
        ),
        kind: z.array(z.enum(EVENT_KINDS)).optional().describe("Event kinds. Unset: any."),
        severity: z
          .array(z.enum(SEVERITIES))
          .optional()
          .describe("Event severities (`error` for failures). Unset: any."),
      })
      .default({})
      .describe("All given conditions must hold."),
    to: z.array(z.string().min(1)).min(1).describe("Destination names."),
  })
  .describe("A routing rule: events that match go to `to` (every matching route adds its destinations).");

export const reportSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lower-case letters, digits and dashes")
      .describe("Report name (in logs and message keys)."),
    schedule: z
      .string()
      .min(1)
      .describe(
        "Cron expression: 5 fields (`0 9 * * 1-5`: weekdays at 09:00), or 6 with seconds first; `@daily` and friends work too.",
      ),
    timezone: z
      .string()
      .optional()
      .describe(
        "IANA time zone of the schedule, e.g. `Europe/Berlin` (default: UTC). Slots follow its daylight-saving changes.",
      ),
    to: z.array(z.string().min(1)).min(1).describe("Destination names."),
    sections: z
      .array(z.enum(REPORT_SECTION_IDS))
      .min(1)
      .optional()
      .describe(
        `Sections, in report order: ${REPORT_SECTION_IDS.map((s) => `\`${s}\``).join(", ")}. Unset: all. A section nothing in the process provides (no image automation runs) says so.`,
      ),
    envs: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("Environments the report shows (e.g. [prod]). Unset: all."),
    onlyProblems: z
      .boolean()
      .default(false)
      .describe(
        "Post only when something needs attention: the last sync failed or left errors, drift was seen, approvals are pending, a lock or an env freeze is older than `staleLockDays`.",
      ),
    staleLockDays: z
      .number()
      .int()
      .min(1)
      .default(7)
      .describe("Locks and env freezes older than this many days get a nudge (and count as a problem)."),
  })
  .superRefine(
    (r, ctx) => {
      const zone = typeof r.timezone === "string" ? r.timezone : undefined;
      const problem = scheduleProblem(r.schedule, zone, typeof r.name === "string" ? r.name : undefined);
      if (problem) ctx.addIssue({ code: "custom", path: ["schedule"], message: problem });
    },
    // Also when another field of the report is wrong: every mistake is reported at once.
    { when: (p) => typeof (p.value as { schedule?: unknown } | undefined)?.schedule === "string" },
  )
  .describe(
    "A scheduled sync report: the release matrix, the last sync, locks, pending approvals and the period's activity.",
  );

/**
 * Why a cron expression (in a time zone) is unusable, or undefined. Parsed by node-cron (what
 * fires it), the message names the report, the expression and the field that is wrong.
 */
export function scheduleProblem(schedule: string, timezone?: string, report?: string): string | undefined {
  try {
    CronSchedule.parse(schedule, timezone);
    return undefined;
  } catch (e) {
    return `invalid schedule ${JSON.stringify(schedule)}${timezone ? ` in ${timezone}` : ""}${report ? ` (report ${report})` : ""}: ${(e as Error).message}`;
  }
}

export const notificationsSchema = z
  .object({
    format: z
      .enum(["rich", "fluxcloud"])
      .default("rich")
      .describe("Default message layout: `rich` (one message per release, updated in place) or `fluxcloud`."),
    repoUrl: z
      .string()
      .optional()
      .describe(
        "Browsable repo URL for commit links (default: derived from `repo.url`, credentials removed).",
      ),
    templates: templatesSchema.optional(),
    envOrder: z
      .array(z.string())
      .optional()
      .describe('Environment order, e.g. [dev, stg, prod]: enables the "Promote to <next>" button.'),
    destinations: z.array(destinationSchema).default([]).describe("Where notifications go."),
    routes: z
      .array(routeSchema)
      .default([])
      .describe("Routing rules. None: everything goes to every destination."),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(6)
      .describe("Tries per message on 5xx/network errors before giving up."),
    reports: z
      .array(reportSchema)
      .default([])
      .describe("Scheduled sync reports (posted by the leader only, so replicas do not repeat them)."),
  })
  .superRefine((n, ctx) => {
    const names = new Set<string>();
    n.destinations.forEach((d, i) => {
      if (names.has(d.name))
        ctx.addIssue({
          code: "custom",
          path: ["destinations", i, "name"],
          message: `duplicate destination name ${d.name}`,
        });
      names.add(d.name);
    });
    const reportNames = new Set<string>();
    n.reports.forEach((r, i) => {
      if (reportNames.has(r.name))
        ctx.addIssue({
          code: "custom",
          path: ["reports", i, "name"],
          message: `duplicate report name ${r.name}`,
        });
      reportNames.add(r.name);
      r.to.forEach((name, j) => {
        if (!names.has(name))
          ctx.addIssue({
            code: "custom",
            path: ["reports", i, "to", j],
            message: `unknown destination ${name}`,
          });
      });
    });
    n.routes.forEach((r, i) => {
      r.to.forEach((name, j) => {
        if (!names.has(name))
          ctx.addIssue({
            code: "custom",
            path: ["routes", i, "to", j],
            message: `unknown destination ${name}`,
          });
      });
    });
  })
  .prefault({})
  .describe("Deploy notifications to Slack, Teams and webhooks.");

export type NotificationsConfig = z.infer<typeof notificationsSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
export type ReportConfig = z.infer<typeof reportSchema>;
