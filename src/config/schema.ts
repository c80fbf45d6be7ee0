import { z } from "zod";
import { duration } from "./duration.js";
import { helmSchema } from "./helm-schema.js";
import { imagesSchema } from "./images-schema.js";
import { notificationsSchema } from "./notifications.js";
import { sshSchema } from "./ssh-schema.js";

/**
 * The configuration schema: the single source of truth for config keys, defaults and the
 * README's configuration reference (`npm run docs:config`). Each area owns one section here;
 * add fields, never rename them (they are a user-facing contract).
 *
 * Every field has a `.describe()`: that text is the reference documentation. Objects are strict:
 * an unknown key is an error with a "did you mean" (`unknown-keys.ts` covers the sections other
 * areas plug in, too).
 */

export { duration, parseDuration } from "./duration.js";

const identity = z
  .strictObject({
    name: z.string().min(1).describe("Committer name for commits the bot makes."),
    email: z.string().min(3).describe("Committer e-mail for commits the bot makes."),
  })
  .describe("The bot's git identity (committer). The chat user is the commit author.");

export const repoSchema = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .describe(
        "Config repo: an HTTP(S) URL, an SSH URL (`ssh://git@host[:port]/org/repo.git` or `git@host:org/repo.git`, see `repo.ssh`), or a local path to a git repository (no remote) for trying things out.",
      ),
    branch: z.string().default("main").describe("Branch the bot reads and commits to."),
    auth: z
      .strictObject({
        username: z
          .string()
          .optional()
          .describe("HTTP basic auth user (default `git` when only a token is set)."),
        password: z.string().optional().describe("HTTP basic auth password. Use `${ENV_VAR}` interpolation."),
        token: z
          .string()
          .optional()
          .describe("Access token (GitHub/GitLab/Gitea). Use `${ENV_VAR}` interpolation."),
      })
      .default({})
      .describe("Credentials for the config repo."),
    ssh: sshSchema,
    author: identity.default({ name: "gitops-bot", email: "gitops-bot@localhost" }),
    workdir: z
      .string()
      .optional()
      .describe("Where the bot keeps its working clone (default: a directory under the OS temp dir)."),
    backend: z
      .enum(["auto", "native", "isomorphic"])
      .default("auto")
      .describe(
        "Git implementation: `native` (git CLI), `isomorphic` (isomorphic-git, no git needed), `auto` (native when `git` is on PATH).",
      ),
    envsFrom: z
      .enum(["folders", "namespaces"])
      .default("folders")
      .describe(
        "How environments are found: folders under `releasesPath`, or the namespace of each workload.",
      ),
    aliases: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "Other URLs that name the config repo (e.g. `git@github.com:fluxcd/helm-operator-get-started` in a fork of the tutorial): a HelmRelease whose `chart.git` is `url` (HTTPS or SSH form, with or without `.git`) or one of these reads its chart from the bot's own clone at the synced revision.",
      ),
    releasesPath: z.string().default("releases").describe("Folder whose sub-folders are the environments."),
    pushRetries: z
      .number()
      .int()
      .min(0)
      .max(50)
      .default(8)
      .describe("How often a rejected push is re-applied on the new HEAD."),
  })
  .describe("The config git repo (desired state).");

export const logSchema = z
  .strictObject({
    level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    pretty: z.boolean().default(false).describe("Human-readable logs instead of JSON (for laptops)."),
  })
  .default({ level: "info", pretty: false })
  .describe("Logging. Logs are JSON lines; secrets are redacted.");

export const httpSchema = z
  .strictObject({
    host: z.string().default("0.0.0.0").describe("Address the HTTP server listens on."),
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(8080)
      .describe("Port of the HTTP server (Slack, Teams, webhooks, health)."),
  })
  .default({ host: "0.0.0.0", port: 8080 })
  .describe("The single HTTP server.");

export const slackSchema = z
  .strictObject({
    signingSecret: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Slack signing secret (HTTP mode: every request is verified with it). Use `${ENV_VAR}` interpolation.",
      ),
    botToken: z.string().min(1).describe("Bot user OAuth token (`xoxb-…`). Use `${ENV_VAR}` interpolation."),
    appToken: z
      .string()
      .min(1)
      .optional()
      .describe(
        "App-level token (`xapp-…`) for Socket Mode. Setting it turns Socket Mode on unless `socketMode: false`.",
      ),
    socketMode: z
      .boolean()
      .optional()
      .describe(
        "Receive events over Socket Mode (a WebSocket to Slack) instead of HTTP. Default: on when `appToken` is set.",
      ),
    apiUrl: z
      .string()
      .url()
      .optional()
      .describe(
        "Base URL of the Slack Web API (default `https://slack.com/api/`); for proxies and local fakes.",
      ),
    command: z
      .string()
      .regex(/^\/[a-z0-9_-]+$/)
      .default("/gitops")
      .describe("The slash command the bot answers."),
    botId: z.string().optional().describe("The bot id (`B…`); looked up with `auth.test` when unset."),
    botUserId: z
      .string()
      .optional()
      .describe("The bot's user id (`U…`); looked up with `auth.test` when unset."),
  })
  .superRefine((s, ctx) => {
    const socket = s.socketMode ?? s.appToken !== undefined;
    if (socket && !s.appToken)
      ctx.addIssue({
        code: "custom",
        path: ["appToken"],
        message: "Socket Mode needs an app-level token (xapp-…)",
      });
    if (!socket && !s.signingSecret)
      ctx.addIssue({
        code: "custom",
        path: ["signingSecret"],
        message: "HTTP mode needs the signing secret",
      });
  })
  .describe("Slack front end. Omit the section to disable Slack.");

export const teamsSchema = z
  .strictObject({
    appId: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Microsoft App ID of the bot. Without it, Teams requests are NOT authenticated (local testing only).",
      ),
    appPassword: z
      .string()
      .min(1)
      .optional()
      .describe("Client secret of the app. Use `${ENV_VAR}` interpolation."),
    tenantId: z.string().min(1).optional().describe("Tenant id for single-tenant bots."),
    openIdMetadataUrl: z
      .string()
      .url()
      .optional()
      .describe("OpenID metadata URL used to validate inbound tokens (default: Bot Framework's public one)."),
    store: z
      .enum(["auto", "cluster", "file"])
      .default("auto")
      .describe(
        "Where conversation references for proactive messages are kept: `cluster` (a ConfigMap in `sync.namespace`, shared by every replica), `file` (`conversationStore`), or `auto`: the cluster when the sync reconciler runs, else the file.",
      ),
    conversationStore: z
      .string()
      .optional()
      .describe(
        "JSON file where conversation references are kept when `store` is `file` (default: `teams-conversations.json` next to the repo workdir, or under the OS temp dir).",
      ),
  })
  .superRefine((t, ctx) => {
    if (t.appId && !t.appPassword)
      ctx.addIssue({ code: "custom", path: ["appPassword"], message: "appId needs appPassword" });
    if (!t.appId && (t.appPassword || t.tenantId))
      ctx.addIssue({
        code: "custom",
        path: ["appId"],
        message: "appPassword/tenantId are set but appId is missing",
      });
  })
  .describe(
    "Microsoft Teams front end. Omit the section to disable Teams; `teams: {}` runs WITHOUT authentication (testing only).",
  );

const principals = {
  users: z
    .array(z.string())
    .default([])
    .describe(
      "User ids: Slack `U123` (or `slack:U123`), Teams AAD object ids (or `teams:<id>`), `cli:<name>`, `shell:<name>`. An id without a prefix belongs to one platform: Teams when it is an AAD object id, Slack otherwise (`check` warns about ids that look like neither).",
    ),
  groups: z
    .array(z.string())
    .default([])
    .describe("Group ids the platform reports for the user (Slack usergroup ids `S123`)."),
  channels: z
    .array(z.string())
    .default([])
    .describe("Channel / conversation ids where the rule applies to everybody."),
};

export const authzRuleSchema = z
  .strictObject({
    envs: z.array(z.string()).default(["*"]).describe("Environments the rule covers (`*` for all)."),
    verbs: z
      .array(z.string())
      .default(["*"])
      .describe(
        "Verbs the rule grants: command names such as `promote`, or `write` (every changing command), `read`, `*`.",
      ),
    ...principals,
  })
  .describe("Grants `verbs` in `envs` to the listed users, groups and channels.");

export const authzSchema = z
  .strictObject({
    protectedEnvs: z
      .array(z.string())
      .default(["prod"])
      .describe("Environments where every change needs approval in chat (see `approvals`)."),
    readForEveryone: z
      .boolean()
      .default(true)
      .describe("Read-only commands (status, history, diff, …) are allowed for everybody."),
    rules: z
      .array(authzRuleSchema)
      .default([])
      .describe(
        "Who may run which verbs where. When at least one rule covers a verb in an env, only the people it lists may run it there; verbs no rule covers follow the defaults (writes allowed, protected envs need approval).",
      ),
  })
  .prefault({})
  .describe("Authorization of chat commands per environment.");

export const approvalsSchema = z
  .strictObject({
    required: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(1)
      .describe("How many people other than the requester must approve."),
    ttl: duration.default(3_600_000).describe("How long a pending approval stays valid (e.g. `1h`)."),
    allowSelfApproval: z
      .boolean()
      .default(false)
      .describe("Let the requester approve their own change (the demo shell only; never in a shared chat)."),
    approvers: z
      .strictObject(principals)
      .prefault({})
      .describe(
        "When non-empty, only these users/groups/channels may approve (in addition to having the verb's permission).",
      ),
    store: z
      .enum(["auto", "cluster", "file"])
      .default("auto")
      .describe(
        "Where pending approvals are kept across restarts: `cluster` (a ConfigMap in `sync.namespace`, shared by every replica), `file` (`storePath`), or `auto`: the cluster when the sync reconciler runs, else the file.",
      ),
    storePath: z
      .string()
      .optional()
      .describe(
        "File that keeps pending approvals when `store` is `file` (default: `approvals.json` next to the repo workdir).",
      ),
  })
  .prefault({})
  .describe("Approvals of changes to protected environments.");

export const syncPathSchema = z
  .union([
    z.string().min(1),
    z.strictObject({
      path: z.string().min(1).describe("Folder (repo-relative) whose YAML files are applied."),
      prune: z
        .boolean()
        .default(true)
        .describe("Delete objects whose manifests were removed from this folder."),
    }),
  ])
  .transform((v) => (typeof v === "string" ? { path: v, prune: true } : v))
  .refine((v) => !v.path.startsWith("/") && !v.path.split("/").includes(".."), {
    message: "sync paths are repo-relative and may not contain `..`",
  })
  .describe("A folder to sync: a path string, or `{ path, prune }`.");

export const syncSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Run the git -> cluster sync reconciler."),
    name: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/, "a short DNS label")
      .default("default")
      .describe(
        "Names this sync source: its inventory, state record and ownership label (one per repo/branch).",
      ),
    paths: z
      .array(syncPathSchema)
      .min(1)
      .default([
        { path: "namespaces/", prune: true },
        { path: "releases/", prune: true },
      ])
      .describe("Folders of the config repo whose manifests are applied."),
    interval: duration
      .default(60_000)
      .describe(
        "How often to sync (`2s`, `5m`); a sync also runs at start, on a git push webhook and on the `sync` command.",
      ),
    prune: z
      .boolean()
      .default(true)
      .describe("Delete objects this bot created whose manifests were removed (also per path)."),
    driftCorrection: z
      .boolean()
      .default(true)
      .describe("Re-apply objects changed in the cluster behind git's back (drift is always reported)."),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(256)
      .default(16)
      .describe("Parallel API requests while applying."),
    namespace: z
      .string()
      .default("gitops-bot-system")
      .describe("Namespace of the sync state record, the inventory and the leader Lease."),
    webhookSecret: z
      .string()
      .optional()
      .describe(
        "Secret of the git push webhook (`POST /hooks/git`); the hook is off without it. Use `${ENV_VAR}`.",
      ),
  })
  .prefault({})
  .describe("git -> cluster sync (server-side apply + prune).");

export const kubeSchema = z
  .strictObject({
    kubeconfig: z
      .string()
      .optional()
      .describe(
        "Path of a kubeconfig file. Default: in-cluster service account, then `$KUBECONFIG`, then ~/.kube/config.",
      ),
    leaderElection: z
      .strictObject({
        enabled: z.boolean().default(true).describe("Elect one active replica with a Kubernetes Lease."),
        leaseName: z
          .string()
          .default("gitops-bot-leader")
          .describe("Name of the Lease (in `sync.namespace`)."),
        leaseDuration: duration.default(15_000).describe("How long a lease is valid without renewal."),
        renewDeadline: duration
          .default(10_000)
          .describe("A leader that could not renew for this long stops writing (< leaseDuration)."),
        retryPeriod: duration.default(2_000).describe("How often the lease is renewed or tried."),
      })
      .prefault({})
      .describe("Leader election, so two replicas never reconcile at once."),
  })
  .prefault({})
  .describe("The Kubernetes cluster the bot syncs to.");

export const configSchema = z
  .strictObject({
    clusterName: z
      .string()
      .default("default")
      .describe("Name of the cluster; every event and message carries it."),
    repo: repoSchema,
    log: logSchema,
    http: httpSchema,
    slack: slackSchema.optional(),
    teams: teamsSchema.optional(),
    authz: authzSchema,
    approvals: approvalsSchema,
    sync: syncSchema,
    kube: kubeSchema,
    helm: helmSchema,
    notifications: notificationsSchema,
    images: imagesSchema,
  })
  .describe("gitops-bot configuration");

export type Config = z.infer<typeof configSchema>;
export type RepoConfig = z.infer<typeof repoSchema>;
export type SlackConfig = z.infer<typeof slackSchema>;
export type TeamsConfig = z.infer<typeof teamsSchema>;
export type AuthzConfig = z.infer<typeof authzSchema>;
export type ApprovalsConfig = z.infer<typeof approvalsSchema>;
export type SyncConfig = z.infer<typeof syncSchema>;
export type KubeConfigSection = z.infer<typeof kubeSchema>;
