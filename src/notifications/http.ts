/**
 * One POST helper for the providers: JSON body, timeout, and failures turned into classified
 * `DeliveryError`s (429 with `Retry-After`, 5xx transient, 4xx permanent, network errors transient).
 * Error messages never contain the URL (it may hold a webhook secret) nor the request headers.
 */
import { DeliveryError, failureForStatus, parseRetryAfter } from "./notifier.js";

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** The fetch signature the providers need; tests and the bench pass the global fetch. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** POSTs `body` (already serialized JSON) and returns the response when it is 2xx; throws `DeliveryError` otherwise. */
export async function postJson(
  fetchImpl: FetchLike,
  url: string,
  body: string,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<HttpResponse> {
  let res: Response;
  try {
    res = await fetchImpl(url, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8", ...headers },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    // Only the error class and code: undici puts the URL in some messages.
    const code = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    throw new DeliveryError(`network error (${code})`, "transient");
  }
  const text = await res.text().catch(() => "");
  if (res.status >= 200 && res.status < 300) return { status: res.status, headers: res.headers, text };
  const kind = failureForStatus(res.status);
  throw new DeliveryError(
    `HTTP ${res.status}: ${text.slice(0, 200)}`,
    kind,
    parseRetryAfter(res.headers.get("retry-after")),
  );
}
