/**
 * The Bolt app of the Slack front end with its receiver: Socket Mode (`appToken`) or HTTP
 * (signature-verified, mounted on our `HttpServer`), with the receiver's metrics.
 */
import { App, type AuthorizeResult } from "@slack/bolt";
import { StalledError } from "../../../core/errors.js";
import type { Clock, Logger } from "../../../core/ports.js";
import type { Counter } from "../../../http/metrics.js";
import type { HttpServer } from "../../../http/server.js";
import { BoltLoggerAdapter } from "./bolt-logger.js";
import { SlackHttpReceiver } from "./http-receiver.js";
import { SlackSocketReceiver } from "./socket-receiver.js";

/** The app and whichever receiver feeds it. */
export interface SlackApp {
  app: App;
  receiver?: SlackHttpReceiver;
  socketReceiver?: SlackSocketReceiver;
  /** Invocations dispatched, by kind (HTTP mode, where the metrics live). */
  invocations?: Counter;
}

/** Builds the Bolt app; throws `StalledError` when the mode's settings are missing. */
export function createSlackApp(o: {
  socketMode: boolean;
  appToken?: string | undefined;
  signingSecret?: string | undefined;
  apiUrl?: string | undefined;
  log: Logger;
  clock: Clock;
  http?: HttpServer;
  /** Bolt's authorize, answered from memory so an unreachable Slack never delays an ack. */
  authorize: () => Promise<AuthorizeResult>;
}): SlackApp {
  const boltLogger = new BoltLoggerAdapter(o.log.child({ lib: "bolt" }));
  const clientOptions = {
    ...(o.apiUrl ? { slackApiUrl: o.apiUrl.endsWith("/") ? o.apiUrl : `${o.apiUrl}/` } : {}),
    logger: boltLogger,
    // Bolt's own WebClient (our replies go through src/chat/slack/client.ts); Bolt retries for 30 min by default.
    retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 10_000, randomize: true },
    timeout: 15_000,
  };
  if (o.socketMode) {
    if (!o.appToken) throw new StalledError("slack: Socket Mode needs slack.appToken (xapp-…)");
    // Our own Socket Mode receiver: Bolt's does not pass `slackApiUrl` to the socket client, so
    // `apps.connections.open` would always go to slack.com (no proxy, no local fake).
    const socketReceiver = new SlackSocketReceiver({
      appToken: o.appToken,
      boltLogger,
      log: o.log,
      ...(clientOptions.slackApiUrl ? { slackApiUrl: clientOptions.slackApiUrl } : {}),
    });
    const app = new App({
      receiver: socketReceiver,
      authorize: o.authorize,
      logger: boltLogger,
      clientOptions,
    });
    return { app, socketReceiver };
  } else {
    if (!o.signingSecret) throw new StalledError("slack: HTTP mode needs slack.signingSecret");
    if (!o.http) throw new StalledError("slack: HTTP mode needs the HTTP server");
    const metrics = o.http.metrics;
    const invocations = metrics.counter(
      "gitops_slack_invocations_total",
      "Slack invocations dispatched, by kind.",
      ["kind"],
    );
    const receiver = new SlackHttpReceiver({
      signingSecret: o.signingSecret,
      clock: o.clock,
      log: o.log,
      boltLogger,
      rejected: metrics.counter("gitops_slack_rejected_total", "Slack requests rejected, by reason.", [
        "reason",
      ]),
      ackSeconds: metrics.histogram(
        "gitops_slack_ack_seconds",
        "Time from a Slack request's arrival to its HTTP answer (Slack's limit is 3 s).",
        [],
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 3, 5],
      ),
    });
    const app = new App({
      receiver,
      authorize: o.authorize,
      logger: boltLogger,
      clientOptions,
    });
    return { app, receiver, invocations };
  }
}
