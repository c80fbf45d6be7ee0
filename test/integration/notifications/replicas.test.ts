/**
 * One release, one message, across replicas and restarts: the replica that committed a promotion
 * posts its message; the leader, which syncs it, and a restarted replica, which sees its Helm
 * result, update that same message (threading details under it) through the shared ledger,
 * rendering the full story (who promoted what), not an anonymous sync.
 */
import { afterEach, describe, expect, it } from "vitest";
import { notificationsSchema } from "../../../src/config/notifications.js";
import type { SyncEvent } from "../../../src/core/events.js";
import { Redactor } from "../../../src/core/redact.js";
import { InMemoryLedger, type MessageLedger } from "../../../src/notifications/ledger.js";
import { NotificationRouter } from "../../../src/notifications/router.js";
import * as ev from "../../golden/events.js";
import { Recorder, slackApi } from "./recorder.js";

const recorders: Recorder[] = [];
afterEach(async () => {
  await Promise.all(recorders.splice(0).map((r) => r.stop()));
});

/** The sync that applied the promotion (reported by the leader). */
const promoteSync: SyncEvent = {
  ...ev.autoSync,
  id: "ev-promote-sync",
  env: "prod",
  correlationId: ev.SHA_PROMOTE,
  fromRevision: ev.SHA_PREV,
  toRevision: ev.SHA_PROMOTE,
  commits: [ev.promote.commit],
  objects: [{ id: "prod:helmrelease/podinfo", file: "releases/prod/podinfo.yaml", action: "configured" }],
};

function replica(url: string, ledger?: MessageLedger) {
  const cfg = {
    notifications: notificationsSchema.parse({
      destinations: [
        {
          name: "deploys",
          type: "slack",
          channel: "C1",
          token: "xoxb-1-replicas",
          apiUrl: url,
          rateLimit: { perSecond: 100 },
        },
      ],
    }),
    repo: { url: "https://github.com/org/config" },
  } as Parameters<typeof NotificationRouter.fromConfig>[0];
  return NotificationRouter.fromConfig(cfg, { redactor: new Redactor(), ...(ledger ? { ledger } : {}) });
}

describe("notifications across replicas", () => {
  it("the leader's sync result and a restarted replica's Helm result edit the message the committing replica posted", async () => {
    const slack = await new Recorder(slackApi()).start();
    recorders.push(slack);
    const ledger = new InMemoryLedger();
    const a = replica(slack.url, ledger); // handled the chat command
    const leader = replica(slack.url, ledger);

    await a.post(ev.promote);
    await leader.post(promoteSync);
    const restarted = replica(slack.url, ledger); // `a` after a restart
    await restarted.post(ev.promoteHelmFailed);

    const calls = slack.requests.map((q, i) => [
      q.path,
      slack.json(i)["ts"] ?? slack.json(i)["thread_ts"] ?? null,
    ]);
    expect(calls).toEqual([
      ["/chat.postMessage", null], // the promotion, posted by the replica that committed it
      ["/chat.update", "1001.000100"], // the leader's sync result: same message
      ["/chat.update", "1001.000100"], // the Helm failure after a restart: same message
      ["/chat.postMessage", "1001.000100"], // the Helm error, threaded under it
    ]);
    // The leader rendered the whole release: who promoted what, and that it was applied.
    const update = JSON.stringify(slack.json(1));
    expect(update).toContain("alice");
    expect(update).toContain("1.2.2"); // old -> new tag: only the origin knows it
    expect(update).toContain("INC-42"); // the promoter's message
    expect(update).toContain(ev.SHA_PROMOTE.slice(0, 7));
    const afterRestart = JSON.stringify(slack.json(2));
    expect(afterRestart).toContain("1.2.2");
  });

  it("without a ledger each replica starts its own message (what the ledger prevents)", async () => {
    const slack = await new Recorder(slackApi()).start();
    recorders.push(slack);
    await replica(slack.url).post(ev.promote);
    await replica(slack.url).post(promoteSync);
    expect(slack.requests.map((q) => q.path)).toEqual(["/chat.postMessage", "/chat.postMessage"]);
  });
});
