/**
 * Teams conversation ids: a channel conversation id may carry the thread (`;messageid=<root>`).
 * Posting to the base id starts a new thread; posting to the full id replies in the thread.
 */

/**
 * A channel conversation id without the thread part: `19:x@thread.tacv2;messageid=123` -> `19:x@thread.tacv2`.
 * Posting to the base id starts a new thread; posting to the full id replies in the thread.
 */
export function baseConversationId(id: string): string {
  const i = id.indexOf(";messageid=");
  return i === -1 ? id : id.slice(0, i);
}

/** The thread root in a channel conversation id (`;messageid=<root>`), if any. */
export function threadOf(id: string): string | undefined {
  const m = /;messageid=([^;]+)/.exec(id);
  return m?.[1];
}

/** A conversation id that replies in thread `threadId` of channel conversation `base`. */
export function threadConversationId(base: string, threadId: string): string {
  return `${baseConversationId(base)};messageid=${threadId}`;
}
