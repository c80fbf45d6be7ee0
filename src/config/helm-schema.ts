import { z } from "zod";

/** A duration such as `5m` or a number of milliseconds (same form as the other sections). */
const duration = z
  .union([
    z.number().int().nonnegative(),
    z.string().regex(/^(\d+(ms|s|m|h))+$/, "use a duration like 30s, 5m or 1h"),
  ])
  .transform((v) => {
    if (typeof v === "number") return v;
    let total = 0;
    for (const m of v.matchAll(/(\d+)(ms|s|m|h)/g)) {
      const n = Number(m[1]);
      total += m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n * 3_600_000;
    }
    return total;
  });

/** `helm`: the HelmRelease reconciler (issue #13, ADR 0009 and 0013). Part of `configSchema`. */
export const helmSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        "Turn the HelmReleases of the config repo into Helm releases. Needs a cluster (off without one, like the sync) and the helm binary.",
      ),
    binary: z
      .string()
      .min(1)
      .default("helm")
      .describe("The helm binary (v3 or v4): a path, or a name looked up on PATH."),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(4)
      .describe(
        "How many releases are installed or upgraded at once (each release is always one at a time).",
      ),
    timeout: duration
      .optional()
      .describe(
        "Upper bound of one helm operation (`10m`). Default: each HelmRelease's own `timeout` (v1 default 300s). Serve's stop waits this long for a running upgrade.",
      ),
    interval: duration
      .default(300_000)
      .describe(
        "How often every release is checked again (reads Helm's storage only: no helm process when nothing changed). A Helm pass also runs whenever the sync applies a new revision.",
      ),
    v2: z
      .enum(["flux", "always", "never"])
      .default("flux")
      .describe(
        "`helm.toolkit.fluxcd.io/v2` HelmReleases: `flux` leaves them to Flux's helm-controller when its CRD (`helmreleases.helm.toolkit.fluxcd.io`) is installed, `always` reconciles them anyway, `never` ignores them.",
      ),
    gitCredentials: z
      .array(
        z.strictObject({
          urlPrefix: z
            .string()
            .regex(/^https?:\/\//, "use the https:// URL prefix the credentials are for")
            .describe(
              "The credentials are sent to chart git URLs starting with this (`https://github.com/acme/`); the longest matching prefix wins.",
            ),
          username: z.string().min(1).default("git").describe("Basic-auth username (default `git`)."),
          password: z
            .string()
            .min(1)
            .describe("Password or access token (use `${ENV_VAR}`); redacted from every log and event."),
        }),
      )
      .default([])
      .describe(
        "HTTPS credentials for HelmRelease charts in git repositories other than the config repo (`spec.chart.git`). Those repos are cloned into `cacheDir`; SSH URLs use `repo.ssh`. The config repo itself needs none of this.",
      ),
    cacheDir: z
      .string()
      .optional()
      .describe("Where charts and helm's own homes are kept (default: a directory under the OS temp dir)."),
  })
  .prefault({})
  .describe("The HelmRelease reconciler: chart + values from git -> a Helm release, with rollback.");

export type HelmConfig = z.infer<typeof helmSchema>;
