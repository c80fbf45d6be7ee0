/**
 * The registry client and scanner image automation and the `images` command share, built from the
 * `images:` config section: per-host settings (HTTP for `insecure`, limits), credentials from
 * `auth` or a Docker `config.json`, and the platform whose image of an index counts.
 */
import { readFileSync } from "node:fs";
import type { ImagesConfig } from "../../config/images-schema.js";
import type { Logger } from "../../core/ports.js";
import { ImageScanner, type ScanCache } from "../../images/scan.js";
import { type Platform, parsePlatform } from "../../registry/client.js";
import { DistributionClient, type RegistryHostOptions } from "../../registry/distribution-client.js";
import {
  parseDockerConfig,
  type RegistryCredentials,
  usesCredentialHelpers,
} from "../../registry/docker-config.js";

/** Reads a Docker config.json's credentials; a file that cannot be read is one warning, not a crash. */
function dockerCredentials(file: string, logger: Logger): Map<string, RegistryCredentials> {
  try {
    const text = readFileSync(file, "utf8");
    if (usesCredentialHelpers(text)) {
      logger.warn(
        { file },
        "docker config uses credential helpers, which are not run; only its auths are used",
      );
    }
    return parseDockerConfig(text, file);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // parseDockerConfig's messages name the file and never the credentials.
    logger.warn(
      { file, message: message.includes(file) ? message : `${file}: cannot be read` },
      "registry credentials not loaded",
    );
    return new Map();
  }
}

/** The registry client for `cfg` (see the file comment). */
export function registryClient(
  cfg: Pick<ImagesConfig, "registries" | "dockerConfig">,
  logger: Logger,
  fetchImpl?: typeof fetch,
): DistributionClient {
  const shared = cfg.dockerConfig ? dockerCredentials(cfg.dockerConfig, logger) : new Map();
  const hosts: RegistryHostOptions[] = cfg.registries.map((r) => {
    const h: RegistryHostOptions = { host: r.host, insecure: r.insecure, maxConcurrency: r.maxConcurrency };
    if (r.requestsPerMinute) h.requestsPerMinute = r.requestsPerMinute;
    if (r.auth && (r.auth.username || r.auth.password || r.auth.token)) {
      const c: RegistryCredentials = {};
      if (r.auth.username) c.username = r.auth.username;
      if (r.auth.password) c.password = r.auth.password;
      if (r.auth.token) c.token = r.auth.token;
      h.credentials = c;
    } else if (r.dockerConfig) {
      const c = dockerCredentials(r.dockerConfig, logger).get(r.host);
      if (c) h.credentials = c;
      else
        logger.warn(
          { host: r.host, file: r.dockerConfig },
          "the docker config has no credentials for this registry",
        );
    }
    return h;
  });
  return new DistributionClient({
    hosts,
    credentials: (host) => shared.get(host),
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
}

/** The platform of `images.platform` (validated by the schema). */
export function platformOf(cfg: Pick<ImagesConfig, "platform">): Platform {
  return parsePlatform(cfg.platform) ?? { os: "linux", architecture: "amd64" };
}

/** The scanner for `cfg` over `client`. */
export function imageScanner(
  cfg: Pick<ImagesConfig, "platform">,
  client: DistributionClient,
  cache?: ScanCache,
): ImageScanner {
  return new ImageScanner({ client, platform: platformOf(cfg), ...(cache ? { cache } : {}) });
}
