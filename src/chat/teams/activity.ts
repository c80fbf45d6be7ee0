/**
 * The message activity the notifications post (one Adaptive Card), without botbuilder: the
 * notification provider and the config schema import this, and botbuilder (most of the install and
 * ~50 MiB of RSS) is loaded only when Teams is configured (src/app/chat.ts).
 */
import type { AdaptiveCard } from "./render.js";

/** The message activity the notifications post: one Adaptive Card attachment. */
export interface TeamsCardActivity {
  type: "message";
  summary: string;
  attachments: { contentType: "application/vnd.microsoft.card.adaptive"; content: AdaptiveCard }[];
}

/** Wraps a card as a message activity (also the Workflows webhook payload). */
export function cardActivity(card: AdaptiveCard, summary: string): TeamsCardActivity {
  return {
    type: "message",
    summary: summary.slice(0, 250),
    attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: card }],
  };
}
