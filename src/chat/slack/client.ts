/**
 * The one outbound Slack client: Web API calls (`chat.postMessage`, `chat.update`,
 * `chat.postEphemeral`, `users.info`, …), `response_url` posts and incoming-webhook posts, with
 * one error map. Used by the chat replies (bot/platforms/slack) and the notification provider alike.
 *
 * Errors (`slackFailure`): HTTP 429 or Slack's `ratelimited` -> `TransientError` with
 * `retryAfterMs` and `rateLimited: true`; 5xx, 408, network errors, a body that is not JSON and
 * Slack's own transient errors (`internal_error`, …) -> `TransientError`; any other Slack error or
 * 4xx -> `StalledError` carrying `slackError`. Messages never contain a URL (a webhook or
 * response_url is a secret) nor the token.
 */
import { StalledError, TransientError } from "../../core/errors.js";
import type { Logger } from "../../core/ports.js";
import { Redactor } from "../../core/redact.js";

/** The fetch signature the client needs (the global fetch by default; tests may inject one). */
export type SlackFetch = (url: string, init: RequestInit) => Promise<Response>;

/** Settings of one client. */
export interface SlackClientOptions {
  /** Bot token (`xoxb-…`), sent as `Authorization: Bearer`. */
  token?: string | undefined;
  /** Web API base URL (default `https://slack.com/api`). */
  apiUrl?: string | undefined;
  fetch?: SlackFetch;
  /** Logs every failed call (redacted) when given. */
  logger?: Logger;
  redactor?: Redactor;
  /** Retries of rate-limited calls and network errors before giving up (default 0: the caller retries). */
  retries?: number;
  /**
   * Also retry 5xx answers (default false). Chat replies do: a command has committed by the time
   * its reply is posted, and a lost reply leaves the user guessing.
   */
  retryServerErrors?: boolean;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

/** What a failed call carries besides the message (see the module comment). */
export interface SlackFailureInfo {
  /** Slack's `error` string (`not_in_channel`), when Slack answered one. */
  slackError?: string;
  /** HTTP status, when there was an answer. */
  status?: number;
  /** 429 / `ratelimited`: retry after `retryAfterMs`. */
  rateLimited?: boolean;
}

/** Slack Web API errors that a retry may fix. */
const TRANSIENT_SLACK_ERRORS = new Set([
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
]);

/** A Slack failure as one of our error kinds, with `SlackFailureInfo` attached. The one error map. */
export function slackFailure(
  what: string,
  info: SlackFailureInfo & { retryAfterMs?: number | undefined; cause?: unknown; detail?: string },
): TransientError | StalledError {
  const reason = info.slackError ?? (info.status !== undefined ? `HTTP ${info.status}` : info.detail);
  const message = `slack ${what}: ${reason ?? "failed"}`;
  const extra: SlackFailureInfo = {};
  if (info.slackError !== undefined) extra.slackError = info.slackError;
  if (info.status !== undefined) extra.status = info.status;
  const rateLimited = info.status === 429 || info.slackError === "ratelimited";
  const cause = info.cause === undefined ? {} : { cause: info.cause };
  if (rateLimited) {
    extra.rateLimited = true;
    return Object.assign(
      // Slack's `ratelimited` body without a Retry-After header: wait a second.
      new TransientError(message, {
        ...cause,
        ...(info.retryAfterMs !== undefined
          ? { retryAfterMs: info.retryAfterMs }
          : info.status === 429
            ? {}
            : { retryAfterMs: 1000 }),
      }),
      extra,
    );
  }
  const transient =
    info.slackError !== undefined
      ? TRANSIENT_SLACK_ERRORS.has(info.slackError)
      : info.status === undefined || info.status === 408 || info.status >= 500;
  return Object.assign(
    transient ? new TransientError(message, cause) : new StalledError(message, cause),
    extra,
  );
}

/** Reads `SlackFailureInfo` off an error thrown by the client (empty for other errors). */
export function slackFailureInfo(e: unknown): SlackFailureInfo {
  if (!e || typeof e !== "object") return {};
  const { slackError, status, rateLimited } = e as SlackFailureInfo;
  const out: SlackFailureInfo = {};
  if (typeof slackError === "string") out.slackError = slackError;
  if (typeof status === "number") out.status = status;
  if (rateLimited === true) out.rateLimited = true;
  return out;
}

/** A Web API answer: `ok` plus the method's fields. */
export type SlackResult = { ok: true } & Record<string, unknown>;

/** Outbound Slack over `fetch` with JSON bodies. Stateless apart from its settings. */
export class SlackClient {
  private readonly fetch: SlackFetch;
  private readonly apiUrl: string;
  private readonly redactor: Redactor;

  constructor(private readonly opts: SlackClientOptions = {}) {
    this.fetch = opts.fetch ?? ((url, init) => fetch(url, init));
    this.apiUrl = (opts.apiUrl ?? "https://slack.com/api").replace(/\/+$/, "");
    this.redactor = (opts.redactor ?? new Redactor()).with([opts.token]);
  }

  /** Whether Web API calls can be made (a token is configured). */
  get hasToken(): boolean {
    return !!this.opts.token;
  }

  /** Calls a Web API method with a JSON body; resolves with Slack's answer when `ok`. */
  async call(
    method: string,
    args: Record<string, unknown>,
    o: { /** Lookups whose failure the caller handles: not logged as errors. */ quiet?: boolean } = {},
  ): Promise<SlackResult> {
    const token = this.opts.token;
    if (!token) throw new StalledError(`slack ${method}: no bot token configured`);
    return this.withRetries(method, async () => {
      const res = await this.post(method, `${this.apiUrl}/${method}`, args, {
        authorization: `Bearer ${token}`,
      });
      return this.answer(method, res, o);
    });
  }

  /** `chat.postMessage`; resolves with where the message landed. */
  async postMessage(args: Record<string, unknown>): Promise<{ channel: string; ts: string | undefined }> {
    const r = await this.call("chat.postMessage", args);
    return {
      channel: typeof r.channel === "string" ? r.channel : String(args.channel),
      ts: typeof r.ts === "string" ? r.ts : undefined,
    };
  }

  /** `chat.update`. */
  async update(args: Record<string, unknown>): Promise<void> {
    await this.call("chat.update", args);
  }

  /** `chat.postEphemeral` (only `args.user` sees it). */
  async postEphemeral(args: Record<string, unknown>): Promise<void> {
    await this.call("chat.postEphemeral", args);
  }

  /** Posts to a `response_url` (ephemeral or in-channel replies to a command or a click). */
  async respond(responseUrl: string, payload: Record<string, unknown>): Promise<void> {
    await this.withRetries("response_url", async () => {
      const res = await this.post("response_url", responseUrl, payload);
      await this.answer("response_url", res, { textOk: true });
    });
  }

  /** Posts to an incoming webhook (post only: no ts comes back). */
  async postWebhook(url: string, payload: Record<string, unknown>): Promise<void> {
    await this.withRetries("webhook", async () => {
      const res = await this.post("webhook", url, payload);
      await this.answer("webhook", res, { textOk: true });
    });
  }

  private async post(
    what: string,
    url: string,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    try {
      return await this.fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (e) {
      // Only the error class and code: undici puts the URL in some messages.
      const code = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      throw this.failed(what, slackFailure(what, { detail: `network error (${code})`, cause: e }));
    }
  }

  /** Reads an answer: non-2xx and `ok: false` become errors through `slackFailure`. */
  private async answer(
    what: string,
    res: Response,
    o: { textOk?: boolean; quiet?: boolean } = {},
  ): Promise<SlackResult> {
    const text = await res.text().catch(() => "");
    const retryAfterMs = retryAfter(res.headers.get("retry-after"));
    let json: Record<string, unknown> | undefined;
    try {
      const v = JSON.parse(text) as unknown;
      if (v && typeof v === "object" && !Array.isArray(v)) json = v as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    const slackError = json && json.ok === false ? String(json.error ?? "unknown_error") : undefined;
    if (res.status < 200 || res.status >= 300) {
      throw this.failed(
        o.quiet ? undefined : what,
        slackFailure(what, {
          status: res.status,
          retryAfterMs,
          ...(slackError && res.status !== 429 ? { slackError } : {}),
        }),
      );
    }
    const log = o.quiet ? undefined : what;
    if (slackError) throw this.failed(log, slackFailure(what, { slackError, retryAfterMs }));
    if (json) return { ...json, ok: true };
    if (o.textOk) return { ok: true };
    throw this.failed(log, slackFailure(what, { detail: "response is not JSON" }));
  }

  private async withRetries<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const retries = this.opts.retries ?? 0;
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (e) {
        const info = slackFailureInfo(e);
        // Like Bolt's WebClient: rate limits and network errors are retried here; 5xx when asked.
        const retryable =
          info.rateLimited === true ||
          (info.status === undefined && !info.slackError) ||
          (this.opts.retryServerErrors === true && info.status !== undefined && info.status >= 500);
        if (n >= retries || !retryable || !(e instanceof TransientError)) throw e;
        const wait = Math.min(e.retryAfterMs ?? 500 * 2 ** n, 10_000);
        this.opts.logger?.debug({ what, wait }, "slack call retried");
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** Logs a failure (unless `what` is undefined: a quiet call) and returns it to throw. */
  private failed<E extends Error>(what: string | undefined, err: E): E {
    if (what === undefined) return err;
    const info = slackFailureInfo(err);
    this.opts.logger?.error(
      {
        method: what,
        status: info.status,
        slackError: info.slackError,
        err: this.redactor.text(err.message),
      },
      "slack api call failed",
    );
    return err;
  }
}

/** `Retry-After` (seconds or an HTTP date) in ms. */
function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return Math.ceil(secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
