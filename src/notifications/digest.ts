/**
 * Digests (issue #5, cut out of router.ts for issue #10): a burst of new releases waiting for one
 * destination goes out as one message, updated in place as they progress.
 */
import type { Message } from "../core/message.js";
import { digestDetailsMessage, digestMessage } from "./format/rich.js";
import type { Item, Lane } from "./lane.js";
import type { View, ViewStore } from "./state.js";

/**
 * Overload valve: when more new releases wait for this destination than its rate limit can post
 * one by one (`digestAfter`), the waiting ones go out together in one digest message, which is
 * then updated in place as they progress (their details go in one reply under it). Without this
 * a burst of 100 releases at Slack's 1 message/s would take minutes to show.
 */
export function maybeDigest(
  lane: Lane,
  first: Item,
  now: number,
  limits: { digestAfter: number; digestSize: number },
): Item {
  const fresh = [...lane.items.values()].filter(
    (i) => i.kind === "root" && !lane.delivered.has(i.key) && i.notBefore <= now,
  );
  if (fresh.length < limits.digestAfter) return first;
  const members = fresh.slice(0, limits.digestSize);
  const key = `digest:${++lane.digestSeq}`;
  const digest: Item = {
    key,
    kind: "digest",
    view: key,
    version: 0,
    events: [],
    attempts: 0,
    notBefore: now,
  };
  lane.items.set(key, digest);
  lane.digests.set(
    key,
    members.map((m) => m.view),
  );
  for (const m of members) {
    lane.items.delete(m.key);
    lane.alias.set(m.view, key);
    digest.events.push(...m.events);
    for (const d of ["sync-errors", "helm-error"] as const) {
      const pending = lane.items.get(`${m.view}:${d}`);
      if (!pending) continue;
      lane.items.delete(pending.key);
      for (const e of pending.events)
        lane.markKey(`${key}:details`, "digest-details", key, undefined, e, now);
    }
  }
  // Bound the alias map: the oldest digests' views start new messages again.
  while (lane.digests.size > 200) {
    const [oldest, views] = lane.digests.entries().next().value as [string, string[]];
    lane.digests.delete(oldest);
    for (const v of views) lane.alias.delete(v);
  }
  return digest;
}

/** The message of a digest item (or of its details reply), from its member views' latest state. */
export function digestItemMessage(lane: Lane, item: Item, store: ViewStore): Message | undefined {
  const views = (lane.digests.get(item.view) ?? [])
    .map((k) => store.get(k))
    .filter((v): v is View => v !== undefined);
  if (views.length === 0) return undefined;
  return item.kind === "digest"
    ? digestMessage(item.view, views, lane.linker)
    : digestDetailsMessage(item.view, views);
}
