/**
 * Benchmark `notify-burst`: a burst of 500 events for one Slack channel against a fake Slack Web
 * API that, like Slack, answers 429 (`Retry-After: 1`) to a message that comes less than 1 s after
 * the previous one in the channel.
 *
 * The burst: 100 image-automation releases starting 50 ms apart, each going through
 * auto-release -> sync -> sync -> Helm deployed -> Helm tested (8 of them: Helm failed -> rolled
 * back, with an error reply), so 500 events arrive within ~7.5 s. Runs in real time through the
 * real NotificationRouter + SlackNotifier over loopback HTTP.
 *
 * Reported: messages Slack accepted (posts + updates + replies), events, the coalescing ratio
 * events/messages (target >= 10), 429s received (target: none after the first), the longest delay
 * from an app's final event to Slack showing that final state (target <= 60 s), and how many apps'
 * final state Slack never showed (must be 0).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { slackDestinationSchema } from "../src/config/notification-destinations.js";
import type { GitopsEvent } from "../src/core/events.js";
import { Redactor } from "../src/core/redact.js";
import { SlackNotifier } from "../src/notifications/providers/slack.js";
import { NotificationRouter } from "../src/notifications/router.js";

const RELEASES = 100;
const START_GAP_MS = 50;
const FAILING = new Set([7, 19, 31, 43, 55, 67, 79, 91]);

interface Accepted {
  at: number;
  ts: string;
  body: string;
}

/** Fake Slack: 1 message/s per channel, 429 + Retry-After above that; keeps the text of every message. */
async function fakeSlack() {
  const accepted: Accepted[] = [];
  let rejected = 0;
  let lastAccepted = Number.NEGATIVE_INFINITY;
  let seq = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const now = Date.now();
      const raw = Buffer.concat(chunks).toString("utf8");
      res.setHeader("content-type", "application/json");
      if (now - lastAccepted < 1000) {
        rejected++;
        res.writeHead(429, { "retry-after": "1" });
        res.end(JSON.stringify({ ok: false, error: "ratelimited" }));
        return;
      }
      lastAccepted = now;
      const body = JSON.parse(raw) as { channel: string; ts?: string };
      const ts = req.url?.endsWith("/chat.update") && body.ts ? body.ts : `${1_700_000_000 + ++seq}.000100`;
      accepted.push({ at: now, ts, body: raw });
      res.end(JSON.stringify({ ok: true, channel: body.channel, ts }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  return {
    url,
    accepted,
    rejected: () => rejected,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function releaseEvents(i: number): { delay: number; event: GitopsEvent }[] {
  const app = `app-${String(i).padStart(3, "0")}`;
  const sha = (n: number) => `${String(i).padStart(4, "0")}${n}`.padEnd(40, "a");
  const base = {
    cluster: "eu-1",
    env: i % 2 === 0 ? "dev" : "stg",
    app,
    correlationId: sha(0),
    time: new Date().toISOString(),
  };
  const commit = { sha: sha(0), subject: `Auto-release ghcr.io/org/${app}:dev-${i}` };
  const objects = [
    {
      id: `${base.env}:helmrelease/${app}`,
      file: `releases/${base.env}/${app}.yaml`,
      action: "configured" as const,
    },
  ];
  const rev = 100 + i;
  const helm = {
    ...base,
    kind: "helm" as const,
    release: `${app}-${base.env}`,
    namespace: base.env,
    chartVersion: "6.5.0",
  };
  const failed = FAILING.has(i);
  return [
    {
      delay: 0,
      event: {
        ...base,
        id: `${app}-1`,
        kind: "auto-release",
        image: `ghcr.io/org/${app}`,
        from: `dev-${i - 1}`,
        to: `dev-${i}`,
        policy: "glob:dev-*",
        commit,
        workload: objects[0]!.id,
      },
    },
    {
      delay: 400,
      event: { ...base, id: `${app}-2`, kind: "sync", toRevision: sha(0), commits: [commit], objects },
    },
    {
      delay: 800,
      event: {
        ...base,
        id: `${app}-3`,
        kind: "sync",
        toRevision: sha(0),
        commits: [commit],
        objects: [
          ...objects,
          {
            id: `${base.env}:configmap/${app}`,
            file: `releases/${base.env}/${app}-cm.yaml`,
            action: "created",
          },
        ],
      },
    },
    failed
      ? {
          delay: 1500,
          event: {
            ...helm,
            id: `${app}-4`,
            revision: rev - 1,
            phase: "failed",
            error: `UPGRADE FAILED: ${app}: timed out waiting for the condition`,
          },
        }
      : { delay: 1500, event: { ...helm, id: `${app}-4`, revision: rev - 1, phase: "deployed" } },
    failed
      ? { delay: 2500, event: { ...helm, id: `${app}-5`, revision: rev, phase: "rolled-back" } }
      : { delay: 2500, event: { ...helm, id: `${app}-5`, revision: rev, phase: "tested" } },
  ];
}

/** Final status text Slack must end up showing for release i. */
const finalText = (i: number) => `Helm ${FAILING.has(i) ? "rolled-back" : "tested"} (revision ${100 + i})`;

export default async function run(): Promise<string> {
  const slack = await fakeSlack();
  const dest = slackDestinationSchema.parse({
    name: "ops",
    type: "slack",
    channel: "C0DEPLOYS",
    token: "xoxb-bench-000000",
    apiUrl: slack.url,
  });
  const router = new NotificationRouter({
    destinations: [{ provider: new SlackNotifier(dest, { fetch: (u, i) => fetch(u, i) }), format: "rich" }],
    redactor: new Redactor(["xoxb-bench-000000"]),
    repoUrl: "https://github.com/org/config",
    envOrder: ["dev", "stg", "prod"],
  });

  const schedule = Array.from({ length: RELEASES }, (_, i) =>
    releaseEvents(i).map((e) => ({ ...e, i, at: i * START_GAP_MS + e.delay })),
  )
    .flat()
    .sort((a, b) => a.at - b.at);
  const finalEmittedAt = new Map<number, number>();
  const t0 = Date.now();
  for (const s of schedule) {
    const wait = t0 + s.at - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    router.emit(s.event);
    if (s.event.id.endsWith("-5")) finalEmittedAt.set(s.i, Date.now());
  }
  await router.idle();
  await slack.close();

  // For each release: when did Slack first show its final state?
  let lost = 0;
  let lastDelay = 0;
  for (let i = 0; i < RELEASES; i++) {
    const app = `app-${String(i).padStart(3, "0")}`;
    const want = finalText(i);
    const shown = slack.accepted.find((a) => a.body.includes(app) && rowOrMessageShows(a.body, app, want));
    if (!shown) {
      lost++;
      continue;
    }
    lastDelay = Math.max(lastDelay, shown.at - (finalEmittedAt.get(i) ?? shown.at));
  }
  const events = schedule.length;
  const sent = slack.accepted.length;
  const m = router.metrics();
  if (process.env["BENCH_DEBUG"])
    for (const a of slack.accepted)
      process.stderr.write(`${a.at - t0}ms ${a.ts} ${a.body.slice(0, 3000)}\n\n`);
  process.stderr.write(
    `[notify-burst] accepted=${sent} router.sent=${m.total.sent} coalesced=${m.total.coalesced} 429s=${slack.rejected()} wall=${((Date.now() - t0) / 1000).toFixed(1)}s\n`,
  );
  return `notify-burst: ours=${sent}msgs peer=${events}events ratio=${(events / sent).toFixed(1)} 429s=${slack.rejected()} lastDelay=${(lastDelay / 1000).toFixed(1)}s lost=${lost}`;
}

/** True when the message shows `want` for `app`: in its own message, or on the app's row of a digest. */
function rowOrMessageShows(body: string, app: string, want: string): boolean {
  const text = JSON.stringify(JSON.parse(body)).replace(/\\n/g, "\n");
  if (!text.includes("releases in cluster")) return text.includes(want);
  // In a digest each release is one table line.
  return text.split("\n").some((l) => l.includes(`${app} `) && l.includes(want));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((line) => process.stdout.write(`${line}\n`));
}
