import { createHmac, timingSafeEqual } from "node:crypto";
import { type Logger, nullLogger, type SyncTrigger } from "../../core/ports.js";
import { type HttpServer, sendText } from "../../http/server.js";

/** Request headers, lower-cased names (Node's `IncomingMessage.headers`). */
export type Headers = Record<string, string | string[] | undefined>;

export interface WebhookResponse {
  status: number;
  body: string;
}

export interface GitWebhookOptions {
  /** The shared secret configured on the git host. Required: unsigned hooks are refused. */
  secret: string;
  /** Only pushes to this branch trigger a sync. */
  branch: string;
  trigger: SyncTrigger;
  logger?: Logger;
}

type Provider = "github" | "gitea" | "gitlab" | "bitbucket";

function header(h: Headers, name: string): string | undefined {
  const v = h[name] ?? h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function hmacHex(secret: string, body: Buffer): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** Which provider sent it and whether its signature holds. */
function verify(h: Headers, body: Buffer, secret: string): { provider?: Provider; ok: boolean } {
  const gh = header(h, "x-hub-signature-256");
  // Gitea also sends X-Hub-Signature-256; prefer its own header when present.
  const gitea = header(h, "x-gitea-signature");
  if (gitea !== undefined) return { provider: "gitea", ok: safeEqual(gitea, hmacHex(secret, body)) };
  if (header(h, "x-event-key") !== undefined) {
    // Bitbucket Cloud and Data Center: X-Hub-Signature: sha256=<hex>.
    const sig = header(h, "x-hub-signature") ?? gh ?? "";
    return { provider: "bitbucket", ok: safeEqual(sig, `sha256=${hmacHex(secret, body)}`) };
  }
  if (gh !== undefined) return { provider: "github", ok: safeEqual(gh, `sha256=${hmacHex(secret, body)}`) };
  const token = header(h, "x-gitlab-token");
  if (token !== undefined) return { provider: "gitlab", ok: safeEqual(token, secret) };
  return { ok: false };
}

/** Branches a push payload touches, or undefined when it is not a push. */
function pushedBranches(
  provider: Provider,
  h: Headers,
  payload: Record<string, unknown>,
): string[] | undefined {
  const strip = (r: unknown) => (typeof r === "string" ? r.replace(/^refs\/heads\//, "") : "");
  switch (provider) {
    case "github":
      if (header(h, "x-github-event") !== "push") return undefined;
      return [strip(payload.ref)];
    case "gitea":
      if ((header(h, "x-gitea-event") ?? header(h, "x-gogs-event")) !== "push") return undefined;
      return [strip(payload.ref)];
    case "gitlab":
      if (header(h, "x-gitlab-event") !== "Push Hook") return undefined;
      return [strip(payload.ref)];
    case "bitbucket": {
      const key = header(h, "x-event-key");
      if (key === "repo:push") {
        // Cloud: push.changes[].new.name
        const changes = ((payload.push as { changes?: unknown[] } | undefined)?.changes ?? []) as {
          new?: { name?: string; type?: string } | null;
        }[];
        return changes.map((c) => c.new?.name ?? "").filter(Boolean);
      }
      if (key === "repo:refs_changed") {
        // Data Center: changes[].ref.displayId
        const changes = (payload.changes ?? []) as { ref?: { displayId?: string; id?: string } }[];
        return changes.map((c) => c.ref?.displayId ?? strip(c.ref?.id));
      }
      return undefined;
    }
  }
}

/**
 * Handler for `POST /hooks/git`: verifies the GitHub (`X-Hub-Signature-256`), Gitea
 * (`X-Gitea-Signature`), GitLab (`X-Gitlab-Token`) or Bitbucket (`X-Hub-Signature`) signature
 * against the secret, and triggers a sync for a push to the configured branch. Answers at once
 * (202) without waiting for the sync: git hosts time hooks out after ~10 s.
 * 401 bad/missing signature, 400 bad JSON, 200 for pings and other events/branches.
 */
export function gitWebhookHandler(
  opts: GitWebhookOptions,
): (headers: Headers, rawBody: Buffer | string) => Promise<WebhookResponse> {
  if (!opts.secret) throw new Error("the git webhook needs a secret");
  const logger = opts.logger ?? nullLogger;
  return async (headers, rawBody) => {
    const body = typeof rawBody === "string" ? Buffer.from(rawBody) : rawBody;
    const { provider, ok } = verify(headers, body, opts.secret);
    if (!provider || !ok) {
      logger.warn({ provider }, "git webhook with a missing or bad signature refused");
      return { status: 401, body: "signature missing or invalid" };
    }
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(body.toString("utf8"));
    } catch {
      return { status: 400, body: "body is not JSON" };
    }
    const branches = pushedBranches(provider, headers, payload);
    if (!branches) return { status: 200, body: "ignored: not a push event" };
    if (!branches.includes(opts.branch))
      return { status: 200, body: `ignored: not a push to ${opts.branch}` };
    const result = opts.trigger.trigger({ reason: "webhook", actor: provider });
    // Log the outcome later; the git host gets its answer now.
    void result.then(
      (r) => logger.info({ provider, accepted: r.accepted, message: r.message }, "sync after push"),
      (err) => logger.warn({ err }, "sync after push failed"),
    );
    return { status: 202, body: "sync triggered" };
  };
}

/** Mounts the handler as `POST /hooks/git` on the HTTP server (src/http/server.ts). */
export function mountGitWebhook(server: Pick<HttpServer, "route">, opts: GitWebhookOptions): void {
  const handle = gitWebhookHandler(opts);
  server.route("POST", "/hooks/git", async ({ req, res, body }) => {
    const out = await handle(req.headers, body);
    sendText(res, out.status, `${out.body}\n`);
  });
}
