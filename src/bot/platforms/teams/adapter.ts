/**
 * The inbound side of botbuilder: authentication of Bot Framework requests (a bad token is a 401)
 * and the Express-like response botbuilder writes its answer to.
 */

import type { ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { type Activity, ConfigurationBotFrameworkAuthentication } from "botbuilder";
import type {
  AuthenticateRequestResult,
  AuthenticationError as AuthenticationErrorType,
} from "botframework-connector";

/** Bot Framework public-cloud endpoints (botframework-connector `AuthenticationConstants`, `CallerIdConstants`). */
export const PUBLIC_CLOUD = {
  ValidateAuthority: true,
  ToChannelFromBotLoginUrl: "https://login.microsoftonline.com/botframework.com",
  ToChannelFromBotOAuthScope: "https://api.botframework.com",
  ToBotFromChannelTokenIssuer: "https://api.botframework.com",
  OAuthUrl: "https://api.botframework.com",
  ToBotFromEmulatorOpenIdMetadataUrl:
    "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
  CallerId: "urn:botframework:azure",
} as const;

// botbuilder maps only its own AuthenticationError to 401, so it must be the very class botbuilder
// loaded: resolve botframework-connector from botbuilder's location rather than from ours.
const { AuthenticationError } = createRequire(createRequire(import.meta.url).resolve("botbuilder"))(
  "botframework-connector",
) as { AuthenticationError: typeof AuthenticationErrorType };

/**
 * botbuilder's authentication, except that a token whose signature does not verify (jsonwebtoken's
 * `JsonWebTokenError`, `NotBeforeError`, `TokenExpiredError`) is a 401, not a 500 with a stack trace.
 */
export class StrictBotFrameworkAuthentication extends ConfigurationBotFrameworkAuthentication {
  override async authenticateRequest(
    activity: Activity,
    authHeader: string,
  ): Promise<AuthenticateRequestResult> {
    try {
      return await super.authenticateRequest(activity, authHeader);
    } catch (e) {
      const name = (e as Error | undefined)?.name;
      if (name === "JsonWebTokenError" || name === "NotBeforeError" || name === "TokenExpiredError") {
        throw new AuthenticationError(`Unauthorized. ${(e as Error).message}`, 401);
      }
      throw e;
    }
  }
}

/** botbuilder's `Response` (Express-like) on top of a node:http response. */
export class ResponseAdapter {
  private code = 200;
  private body: unknown;
  private ended = false;
  constructor(private readonly res: ServerResponse) {}
  get socket(): unknown {
    return this.res.socket;
  }
  status(code: number): this {
    this.code = code;
    return this;
  }
  header(name: string, value: unknown): this {
    this.res.setHeader(name, String(value));
    return this;
  }
  send(body: unknown): this {
    this.body = body;
    return this;
  }
  end(): this {
    this.finish();
    return this;
  }
  /** Writes status and body once (botbuilder calls status/send/end in that order). */
  finish(): void {
    if (this.ended || this.res.headersSent) return;
    this.ended = true;
    if (this.body === undefined || this.body === null) {
      this.res.writeHead(this.code);
      this.res.end();
      return;
    }
    const isText = typeof this.body === "string";
    const payload = isText ? (this.body as string) : JSON.stringify(this.body);
    this.res.writeHead(this.code, {
      "content-type": isText ? "text/plain; charset=utf-8" : "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(payload),
    });
    this.res.end(payload);
  }
}
