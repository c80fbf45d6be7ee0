/**
 * State shared by replicas, kept in ConfigMaps of the real API server. Pending approvals: a
 * request made on one replica is seen and approved on another, survives a restart, and concurrent
 * decisions on two replicas have one effect. Teams conversation references: a conversation seen
 * by one replica can be posted into by another. Notification threads: the leader's sync result
 * edits the message another replica posted.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { PendingApproval } from "../../src/bot/approvals/store.js";
import { RecordApprovalStore } from "../../src/bot/approvals/store.js";
import { RecordConversationStore, toStored } from "../../src/bot/platforms/teams/conversation-store.js";
import { notificationsSchema } from "../../src/config/notifications.js";
import { UserError } from "../../src/core/errors.js";
import type { SyncEvent } from "../../src/core/events.js";
import { Redactor } from "../../src/core/redact.js";
import type { KubeClient } from "../../src/kube/client.js";
import { ConfigMapRecord } from "../../src/kube/configmap-records.js";
import { K8sKubeClient } from "../../src/kube/k8s-client.js";
import { RecordMessageLedger } from "../../src/notifications/ledger.js";
import { NotificationRouter } from "../../src/notifications/router.js";
import * as ev from "../golden/events.js";
import { e2eEnv, newNamespace } from "../harness/e2e.js";
import { bob, type Setup, setup } from "../integration/bot/setup.js";
import { Recorder, slackApi } from "../integration/notifications/recorder.js";

// The stores over a ConfigMap record, as app/state.ts builds them in the cluster (without the fallback).
type At = { namespace: string; name: string };
const ClusterApprovalStore = (k: KubeClient, at: At) =>
  new RecordApprovalStore(new ConfigMapRecord(k, { ...at, record: "approvals" }));
const ClusterConversationStore = (k: KubeClient, at: At) =>
  new RecordConversationStore(new ConfigMapRecord(k, { ...at, record: "teams-conversations" }));
const ClusterMessageLedger = (
  k: KubeClient,
  at: At,
  tuning?: ConstructorParameters<typeof RecordMessageLedger>[1],
) => new RecordMessageLedger(new ConfigMapRecord(k, { ...at, record: "notifications" }), tuning);

const kube = () => K8sKubeClient.fromOptions({ kubeconfig: e2eEnv().kubeconfigPath });

function pending(id: string, approvals: PendingApproval["approvals"] = []): PendingApproval {
  return {
    id,
    command: "release frontend prod 1.4.3",
    verb: "release",
    env: "prod",
    app: "frontend",
    requester: { id: "slack:UALICE", name: "alice" },
    platform: "slack",
    channel: "C1",
    createdAt: "2026-03-01T10:00:00.000Z",
    expiresAt: "2026-03-01T11:00:00.000Z",
    required: 2,
    approvals,
  };
}

describe("approvals in the cluster", () => {
  let s: Setup | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it("a request made on one replica is listed and approved on another, and the commit carries Approved-By", async () => {
    const ns = await newNamespace("approvals");
    const name = "gitops-bot-approvals-test";
    s = await setup({ store: () => ClusterApprovalStore(kube(), { namespace: ns, name }) });
    const before = await s.commitCount();
    const req = await s.run("release frontend prod 1.4.3");
    expect(req.outcome).toBe("approval-requested");
    const id = req.approvalId as string;

    // The record is a ConfigMap, one key per request.
    const cm = await kube().get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name });
    expect(Object.keys((cm?.data ?? {}) as object)).toEqual([id]);

    // A second replica (its own client and store) sees it.
    const other = ClusterApprovalStore(kube(), { namespace: ns, name });
    expect((await other.list()).map((p) => p.command)).toEqual(["release frontend prod 1.4.3"]);

    // A restarted engine approves it.
    s.restart();
    const ok = await s.run("", { user: bob, button: `approve:${id}` });
    expect(ok.outcome).toBe("ok");
    expect(await s.commitCount()).toBe(before + 1);
    expect((await s.lastCommit()).message).toMatch(/Approved-By: .*bob/);
    expect(await other.list()).toEqual([]);

    // The button clicked again, on any replica, does nothing.
    const again = await s.run("", { user: bob, button: `approve:${id}` });
    expect(again.error?.code).toBe("no-approval");
    expect(await s.commitCount()).toBe(before + 1);
  });

  it("two approvers on two replicas at once: neither approval is lost silently, and a quorum runs once", async () => {
    const ns = await newNamespace("approvals-race");
    const name = "gitops-bot-approvals-race";
    const a = ClusterApprovalStore(kube(), { namespace: ns, name });
    const b = ClusterApprovalStore(kube(), { namespace: ns, name });
    await a.put(pending("raceabcd"));
    await a.put(pending("otherreq"));

    // Both replicas read the request, then each adds its approver.
    const pa = (await a.get("raceabcd")) as PendingApproval;
    const pb = (await b.get("raceabcd")) as PendingApproval;
    pa.approvals.push({ id: "slack:UBOB", name: "bob", at: "2026-03-01T10:01:00.000Z" });
    pb.approvals.push({ id: "slack:UCAROL", name: "carol", at: "2026-03-01T10:01:00.000Z" });
    const results = await Promise.allSettled([a.put(pa), b.put(pb)]);
    const failed = results.filter((r) => r.status === "rejected");
    expect(failed).toHaveLength(1);
    const reason = (failed[0] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(UserError);
    expect((reason as UserError).code).toBe("approval-conflict");
    // The stored request has exactly the winner's approval, and the other request is untouched.
    const stored = (await a.get("raceabcd")) as PendingApproval;
    expect(stored.approvals).toHaveLength(1);
    expect((await b.get("otherreq"))?.approvals).toEqual([]);

    // Quorum reached on both replicas at once: exactly one delete takes effect.
    const deletes = await Promise.all([a.delete("raceabcd"), b.delete("raceabcd")]);
    expect(deletes.filter(Boolean)).toHaveLength(1);
    expect((await b.list()).map((p) => p.id)).toEqual(["otherreq"]);

    // Many writers at once on different requests: nothing lost.
    const ids = Array.from({ length: 12 }, (_, i) => `bulk${i}`);
    await Promise.all(ids.map((id, i) => (i % 2 ? a : b).put(pending(id))));
    expect((await a.list()).map((p) => p.id).sort()).toEqual([...ids, "otherreq"].sort());
  });

  it("ignores ids that are not approval ids and values that are not requests", async () => {
    const ns = await newNamespace("approvals-bad");
    const name = "gitops-bot-approvals-bad";
    const store = ClusterApprovalStore(kube(), { namespace: ns, name });
    await store.put(pending("goodreq1"));
    const cm = await kube().get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name });
    await kube().replace({
      ...(cm as NonNullable<typeof cm>),
      data: { ...((cm?.data ?? {}) as Record<string, string>), broken12: "{not json", "x.y": "{}" },
    });
    expect((await store.list()).map((p) => p.id)).toEqual(["goodreq1"]);
    expect(await store.get("../etc")).toBeUndefined();
    expect(await store.get("broken12")).toBeUndefined();
    await expect(store.put(pending("BAD/ID"))).rejects.toThrow(/invalid approval id/);
  });
});

describe("Teams conversation references in the cluster", () => {
  it("a conversation seen by one replica is found by another; refreshes within the hour write nothing", async () => {
    const ns = await newNamespace("teams-refs");
    const name = "gitops-bot-teams-test";
    const a = ClusterConversationStore(kube(), { namespace: ns, name });
    const b = ClusterConversationStore(kube(), { namespace: ns, name });
    const t0 = new Date("2026-03-01T10:00:00Z");
    const seen = (id: string, at: Date, serviceUrl = "https://smba.example.net/emea/") =>
      toStored(
        {
          conversation: { id, tenantId: "tenant-1", isGroup: true, conversationType: "channel", name: "" },
          serviceUrl,
          channelId: "msteams",
          bot: { id: "28:bot", name: "gitops-bot" },
        },
        at,
      ) as NonNullable<ReturnType<typeof toStored>>;

    await a.put(seen("19:release@thread.tacv2;messageid=1700000000000", t0));
    await a.put(seen("a:1personalchat", t0));
    // Replica B resolves the channel by its base id (what notifications are routed by).
    const ref = await b.get("19:release@thread.tacv2");
    expect(ref).toMatchObject({
      serviceUrl: "https://smba.example.net/emea/",
      conversation: { tenantId: "tenant-1" },
    });
    expect((await b.list()).map((r) => r.conversation.id).sort()).toEqual([
      "19:release@thread.tacv2",
      "a:1personalchat",
    ]);

    // Keys are valid ConfigMap keys, whatever the conversation id looks like.
    const cm = await kube().get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name });
    for (const k of Object.keys((cm?.data ?? {}) as object)) expect(k).toMatch(/^c-[0-9a-f]{40}$/);

    // The same route seen again within the hour: no write.
    const rv = cm?.metadata.resourceVersion;
    await a.put(seen("19:release@thread.tacv2;messageid=1700000000001", new Date(t0.getTime() + 60_000)));
    const same = await kube().get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name });
    expect(same?.metadata.resourceVersion).toBe(rv);

    // A moved serviceUrl is saved at once, and B sees it.
    await a.put(
      seen("19:release@thread.tacv2", new Date(t0.getTime() + 120_000), "https://smba.example.net/amer/"),
    );
    expect((await b.get("19:release@thread.tacv2"))?.serviceUrl).toBe("https://smba.example.net/amer/");
  });
});

describe("notification threads in the cluster", () => {
  it("the leader updates the message another replica posted; the record stays bounded", async () => {
    const ns = await newNamespace("notify-ledger");
    const name = "gitops-bot-notifications-test";
    const slack = await new Recorder(slackApi()).start();
    try {
      const replica = () =>
        NotificationRouter.fromConfig(
          {
            notifications: notificationsSchema.parse({
              destinations: [
                {
                  name: "deploys",
                  type: "slack",
                  channel: "C1",
                  token: "xoxb-1-ledger-e2e",
                  apiUrl: slack.url,
                  rateLimit: { perSecond: 100 },
                },
              ],
            }),
            repo: { url: "https://github.com/org/config" },
          } as Parameters<typeof NotificationRouter.fromConfig>[0],
          {
            redactor: new Redactor(),
            ledger: ClusterMessageLedger(
              kube(),
              { namespace: ns, name },
              { flushMs: 10, maxOrigins: 3, maxRefs: 3 },
            ),
          },
        );
      const sync: SyncEvent = {
        ...ev.autoSync,
        id: "e2e-promote-sync",
        env: "prod",
        correlationId: ev.SHA_PROMOTE,
        toRevision: ev.SHA_PROMOTE,
        commits: [ev.promote.commit],
        objects: [
          { id: "prod:helmrelease/podinfo", file: "releases/prod/podinfo.yaml", action: "configured" },
        ],
      };
      await replica().post(ev.promote);
      await replica().post(sync);
      expect(slack.requests.map((q, i) => [q.path, slack.json(i)["ts"] ?? null])).toEqual([
        ["/chat.postMessage", null],
        ["/chat.update", "1001.000100"],
      ]);
      expect(JSON.stringify(slack.json(1))).toContain("INC-42");

      // Many releases later the record holds only the newest few.
      const r = replica();
      for (const sha of ["a", "b", "c", "d", "e"].map((c) => c.repeat(40)))
        await r.post({
          ...ev.promote,
          id: `p-${sha}`,
          correlationId: sha,
          commit: { ...ev.promote.commit, sha },
        });
      const cm = await kube().get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name });
      const keys = Object.keys((cm?.data ?? {}) as object);
      expect(keys.filter((k) => k.startsWith("o-"))).toHaveLength(3);
      expect(keys.filter((k) => k.startsWith("r-"))).toHaveLength(3);
    } finally {
      await slack.stop();
    }
  });
});
