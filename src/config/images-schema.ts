import { z } from "zod";
import { parsePlatform } from "../core/platform.js";
import { duration } from "./duration.js";

/** `images.registries[]`: how one registry host is reached (credentials, limits). */
export const registrySchema = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .regex(
        /^[^/\s]+$/,
        "a host (and port) as written in image references, e.g. `ghcr.io` or `127.0.0.1:5000`",
      )
      .describe(
        "The registry host as written in image references (`ghcr.io`, `registry.example.com:5000`; `docker.io` for Docker Hub).",
      ),
    insecure: z
      .boolean()
      .default(false)
      .describe(
        "Use plain HTTP instead of HTTPS. Loopback registries (`localhost`, 127.0.0.0/8) always use HTTP, as Docker does.",
      ),
    auth: z
      .strictObject({
        username: z.string().optional().describe("User for Basic auth or the token exchange."),
        password: z
          .string()
          .optional()
          .describe("Password or access token of `username`. Use `${ENV_VAR}` interpolation."),
        token: z
          .string()
          .optional()
          .describe("A registry token sent as `Authorization: Bearer`. Use `${ENV_VAR}` interpolation."),
      })
      .optional()
      .describe("Credentials for this host (default: `dockerConfig`, else anonymous)."),
    dockerConfig: z
      .string()
      .optional()
      .describe(
        "A Docker `config.json` (e.g. a mounted `kubernetes.io/dockerconfigjson` Secret) to take this host's credentials from when `auth` is not set.",
      ),
    maxConcurrency: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(4)
      .describe("Requests in flight to this registry at once."),
    requestsPerMinute: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        "Request budget per minute for this registry (default: unlimited, but `Retry-After` and `ratelimit-*` headers are always honoured).",
      ),
  })
  .describe("One registry host.");

export const imagesSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe(
        'Run image automation. Default: on whenever a workload is automated (`fluxcd.io/automated: "true"`); `false` turns it off.',
      ),
    interval: duration
      .default(60_000)
      .describe(
        "How often registries are scanned (`30s`, `5m`); a scan also runs at start and on a registry webhook.",
      ),
    registries: z
      .array(registrySchema)
      .default([])
      .describe("Registries that need settings; others are reached anonymously over HTTPS."),
    dockerConfig: z
      .string()
      .optional()
      .describe("A Docker `config.json` whose credentials apply to every registry without its own."),
    webhookSecret: z
      .string()
      .optional()
      .describe(
        "Secret of the registry webhook (`POST /hooks/registry`): HMAC key for GHCR `package` events (`X-Hub-Signature-256`), the `Authorization` header value for CNCF distribution and Harbor, the `?token=` of the Docker Hub webhook URL. The hook is off without it. Use `${ENV_VAR}`.",
      ),
    platform: z
      .string()
      .default("linux/amd64")
      .refine((p) => parsePlatform(p) !== undefined, "use os/architecture[/variant], e.g. linux/amd64")
      .describe("The platform the cluster runs: the image of a multi-arch index whose creation time counts."),
  })
  .prefault({})
  .describe("Image automation: scan registries and commit the newest tag each workload's filter allows.");

export type ImagesConfig = z.infer<typeof imagesSchema>;
export type RegistryConfig = z.infer<typeof registrySchema>;
