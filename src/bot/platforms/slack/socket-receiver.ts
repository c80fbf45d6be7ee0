/**
 * Slack over Socket Mode: a Bolt `Receiver` on the Socket Mode connection.
 */
import { createRequire } from "node:module";
import type { App, Logger as BoltLogger, Receiver, ReceiverEvent } from "@slack/bolt";
import type { SocketModeClient as SocketModeClientType, SocketModeOptions } from "@slack/socket-mode";
import type { Logger } from "../../../core/ports.js";

// @slack/socket-mode is Bolt's dependency; load the copy Bolt uses.
const { SocketModeClient } = createRequire(createRequire(import.meta.url).resolve("@slack/bolt"))(
  "@slack/socket-mode",
) as { SocketModeClient: new (o: SocketModeOptions) => SocketModeClientType };

/**
 * A Bolt `Receiver` on a Socket Mode connection (`apps.connections.open` with the app token, then a
 * WebSocket). Acks are the envelope acknowledgements; retries carry `retry_attempt`.
 */
export class SlackSocketReceiver implements Receiver {
  readonly client: SocketModeClientType;
  private app: App | undefined;

  constructor(o: { appToken: string; slackApiUrl?: string; boltLogger: BoltLogger; log: Logger }) {
    this.client = new SocketModeClient({
      appToken: o.appToken,
      logger: o.boltLogger,
      clientOptions: {
        ...(o.slackApiUrl ? { slackApiUrl: o.slackApiUrl } : {}),
        // Reconnect for a long while (Slack recycles connections), but back off.
        retryConfig: { retries: 100, factor: 1.3, maxTimeout: 30_000 },
      },
    });
    this.client.on(
      "slack_event",
      async (args: {
        ack: (response?: unknown) => Promise<void>;
        body: Record<string, unknown>;
        retry_num?: number;
        retry_reason?: string;
      }) => {
        let acked = false;
        const event: ReceiverEvent = {
          body: args.body,
          ack: async (response?: unknown) => {
            if (acked) return;
            acked = true;
            await args.ack(response);
          },
        };
        if (args.retry_num !== undefined) event.retryNum = args.retry_num;
        if (args.retry_reason !== undefined) event.retryReason = args.retry_reason;
        try {
          await this.app?.processEvent(event);
        } catch (e) {
          o.log.error({ err: e }, "slack socket event processing failed");
          await event.ack().catch(() => {});
        }
      },
    );
  }

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {
    await this.client.start();
  }

  async stop(): Promise<void> {
    await this.client.disconnect();
  }
}
