/**
 * Image automation end to end without a cluster: the real docker-registry (through the counting,
 * fault-injecting proxy where a fault is needed), the real git server, the `ImageService` on the
 * reconciler template and the `ReleaseService` it commits through.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTrailers } from "../../../src/gitops/trailers.js";
import { pushImage, type RegistryServer, startRegistry } from "../../harness/registry.js";
import {
  alice,
  day,
  deployment,
  proxy,
  reconcilerEvents,
  reg,
  released,
  server,
  setup,
  useImageFixture,
} from "./fixture.js";

useImageFixture();

describe("image automation against the real registry and git server", () => {
  it("a newer tag by creation time becomes one commit by the bot, with trailers and an auto-release event", async () => {
    const img = `${reg.host}/it/web`;
    await pushImage(reg, "it/web", "dev-aaa", { created: day(1) });
    await pushImage(reg, "it/web", "main-zzz", { created: day(9) });
    const s = await setup({
      "releases/dev/web.yaml": deployment({
        env: "dev",
        name: "web",
        images: [{ container: "app", image: `${img}:dev-aaa`, filter: "glob:dev-*" }],
      }),
    });
    const first = await s.cycle();
    expect(first.result).toMatchObject({ status: "ready", reason: "UpToDate" });
    const before = (await s.log()).length;

    // Pushed later but built earlier: not newer. dev-ccc's label (day 4) beats dev-bbb's config (day 3).
    await pushImage(reg, "it/web", "dev-old", { created: day(0) });
    await pushImage(reg, "it/web", "dev-bbb", { created: day(3) });
    await pushImage(reg, "it/web", "dev-ccc", {
      created: day(2),
      labels: { "org.opencontainers.image.created": day(4).toISOString() },
    });
    const r = await s.cycle();
    expect(r.result).toMatchObject({ status: "ready", reason: "Released" });

    const log = await s.log();
    expect(log.length).toBe(before + 1);
    const c = log[0]!;
    expect(c.subject).toBe(`[dev/web] Auto-release ${img}:dev-ccc`);
    expect(c.committer).toMatchObject({ name: "gitops-bot", email: "bot@example.com" });
    expect(c.author).toMatchObject({ name: "gitops-bot" });
    const t = readTrailers(c.trailers);
    expect(t).toMatchObject({
      action: "auto-release",
      envs: ["dev"],
      apps: ["web"],
      from: "dev-aaa",
      to: "dev-ccc",
    });
    expect(t.other).toContainEqual([
      "Gitops-Change",
      "dev/web app: dev-aaa -> dev-ccc (releases/dev/web.yaml)",
    ]);
    const text = await s.repo.read("releases/dev/web.yaml");
    expect(text).toContain(`image: ${img}:dev-ccc # the app`);
    expect(text).toContain("# web in dev: comments stay");

    const evs = released(s.events);
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({
      env: "dev",
      app: "web",
      image: img,
      from: "dev-aaa",
      to: "dev-ccc",
      policy: "glob:dev-*",
      workload: "dev:deployment/web",
      commit: { sha: c.sha, subject: c.subject },
      correlationId: c.sha,
    });

    // Nothing new: no commit, no event.
    await s.cycle();
    expect((await s.log()).length).toBe(before + 1);
    expect(released(s.events)).toHaveLength(1);
  });

  it("semver picks the highest version the constraint admits; two images move in ONE commit", async () => {
    for (const t of ["1.2.0", "1.2.5", "1.3.0", "1.2.6-rc.1"]) await pushImage(reg, "it/api", t);
    await pushImage(reg, "it/worker", "dev-1", { created: day(1) });
    await pushImage(reg, "it/worker", "dev-2", { created: day(2) });
    const s = await setup({
      "releases/dev/api.yaml": deployment({
        env: "dev",
        name: "api",
        images: [{ container: "api", image: `${reg.host}/it/api:1.2.0`, filter: "semver:~1.2" }],
      }),
      "releases/dev/worker.yaml": deployment({
        env: "dev",
        name: "worker",
        images: [{ container: "worker", image: `${reg.host}/it/worker:dev-1`, filter: "glob:dev-*" }],
      }),
    });
    const before = (await s.log()).length;
    await s.cycle();
    const log = await s.log();
    expect(log.length).toBe(before + 1);
    expect(log[0]!.subject).toBe("Auto-release multiple (2) images");
    expect(log[0]!.body).toContain(`${reg.host}/it/api:1.2.5 to dev:deployment/api`);
    expect(log[0]!.body).toContain(`${reg.host}/it/worker:dev-2 to dev:deployment/worker`);
    expect(readTrailers(log[0]!.trailers).other.filter(([k]) => k === "Gitops-Change")).toHaveLength(2);
    expect(
      released(s.events)
        .map((e) => `${e.app}:${e.from}->${e.to}@${e.commit.sha}`)
        .sort(),
    ).toEqual([`api:1.2.0->1.2.5@${log[0]!.sha}`, `worker:dev-1->dev-2@${log[0]!.sha}`]);
  });

  it("locked, frozen, non-automated and rolled-back workloads never change", async () => {
    await pushImage(reg, "it/still", "dev-1", { created: day(1) });
    await pushImage(reg, "it/still", "dev-2", { created: day(2) });
    const img = (tag: string) => [
      { container: "app", image: `${reg.host}/it/still:${tag}`, filter: "glob:dev-*" },
    ];
    const s = await setup(
      {
        "releases/stg/app.yaml": deployment({ env: "stg", name: "app", images: img("dev-1"), locked: true }),
        "releases/prod/app.yaml": deployment({
          env: "prod",
          name: "app",
          images: img("dev-1"),
          automated: false,
        }),
        "releases/qa/app.yaml": deployment({ env: "qa", name: "app", images: img("dev-1") }),
        "releases/dev/app.yaml": deployment({ env: "dev", name: "app", images: img("dev-1") }),
      },
      { frozen: new Map([["qa", { reason: "release week" }]]) },
    );
    const before = (await s.log()).length;
    await s.cycle();
    const log = await s.log();
    expect(log.length).toBe(before + 1);
    expect(log[0]!.subject).toBe(`[dev/app] Auto-release ${reg.host}/it/still:dev-2`);
    const why = s.images.reconciler.last?.decisions.map(
      (d) => `${d.env}:${d.action === "wait" ? d.reason : d.to}`,
    );
    expect(why?.sort()).toEqual(["dev:dev-2", "prod:not-automated", "qa:frozen", "stg:locked"]);

    // A rollback locks dev at dev-1: automation never rolls it forward.
    await s.ops.rollback({ app: "app", env: "dev", to: "dev-1", actor: alice });
    const afterRollback = (await s.log()).length;
    await s.cycle();
    expect((await s.log()).length).toBe(afterRollback);
    expect(await s.repo.read("releases/dev/app.yaml")).toContain("it/still:dev-1");
    expect(released(s.events)).toHaveLength(1);
  });

  it("a freeze recorded with `freeze` stops automation in that env; an unreadable freeze file stops all of it, once", async () => {
    await pushImage(reg, "it/frz", "dev-1", { created: day(1) });
    await pushImage(reg, "it/frz", "dev-2", { created: day(2) });
    const img = [{ container: "app", image: `${reg.host}/it/frz:dev-1`, filter: "glob:dev-*" }];
    const s = await setup({
      "releases/dev/app.yaml": deployment({ env: "dev", name: "app", images: img }),
      "releases/qa/app.yaml": deployment({ env: "qa", name: "app", images: img }),
    });
    await s.ops.freeze({ env: "qa", actor: alice, message: "release week" });
    await s.cycle();
    expect(released(s.events).map((e) => `${e.env}:${e.to}`)).toEqual(["dev:dev-2"]);
    const qa = s.images.reconciler.last?.decisions.find((d) => d.env === "qa");
    expect(qa).toMatchObject({ action: "wait", reason: "frozen" });
    expect(await s.repo.read("releases/qa/app.yaml")).toContain("it/frz:dev-1");

    await pushImage(reg, "it/frz", "dev-3", { created: day(3) });
    await server.commitDirect(s.name, {
      files: { ".gitops-bot/freezes.yaml": "freezes: [oops\n" },
      message: "break it",
    });
    const before = (await s.log()).length;
    const r = await s.cycle();
    expect(r.result).toMatchObject({ status: "failed", reason: "FreezesUnreadable" });
    await s.cycle();
    expect((await s.log()).length).toBe(before);
    const failed = reconcilerEvents(s.events).filter((e) => e.state === "failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.message).toContain(".gitops-bot/freezes.yaml");
  });

  it("a push rejected because someone else pushed meanwhile is re-applied on the new head", async () => {
    await pushImage(reg, "it/race", "dev-1", { created: day(1) });
    await pushImage(reg, "it/race", "dev-2", { created: day(2) });
    const s = await setup({
      "releases/dev/race.yaml": deployment({
        env: "dev",
        name: "race",
        images: [{ container: "app", image: `${reg.host}/it/race:dev-1` }],
      }),
    });
    let raced = false;
    const off = server.onRequest(async (r) => {
      if (r.isPush && r.repo === s.name && !raced) {
        raced = true;
        await server.commitDirect(s.name, {
          files: { "NOTES.md": "someone else\n" },
          message: "other writer",
        });
      }
    });
    try {
      await s.cycle();
    } finally {
      off();
    }
    expect(raced).toBe(true);
    const log = await s.log();
    expect(log.map((c) => c.subject).slice(0, 2)).toEqual([
      `[dev/race] Auto-release ${reg.host}/it/race:dev-2`,
      "other writer",
    ]);
    expect(released(s.events)).toHaveLength(1);
  });

  it("a registry that is down is one failure event naming workload, file and registry; the other images move; then recovered", async () => {
    await pushImage(reg, "it/down", "dev-1", { created: day(1) });
    await pushImage(reg, "it/down", "dev-2", { created: day(2) });
    await pushImage(reg, "it/up", "dev-1", { created: day(1) });
    await pushImage(reg, "it/up", "dev-2", { created: day(2) });
    const s = await setup({
      "releases/dev/down.yaml": deployment({
        env: "dev",
        name: "down",
        images: [{ container: "app", image: `${proxy.host}/it/down:dev-1` }],
      }),
      "releases/dev/up.yaml": deployment({
        env: "dev",
        name: "up",
        images: [{ container: "app", image: `${reg.host}/it/up:dev-1` }],
      }),
    });
    proxy.fault = () => ({ status: 500, body: "internal error" });
    const r1 = await s.cycle();
    expect(r1.result).toMatchObject({ status: "failed", reason: "RegistryUnavailable" });
    await s.cycle();
    await s.cycle();
    const failures = reconcilerEvents(s.events).filter((e) => e.state === "failed");
    expect(failures).toHaveLength(1);
    expect(failures[0]!.message).toContain(`${proxy.host}/it/down`);
    expect(failures[0]!.message).toContain("dev/down container app (releases/dev/down.yaml)");
    // The other image moved in the same cycle.
    expect(released(s.events).map((e) => `${e.app}:${e.to}`)).toEqual(["up:dev-2"]);

    // A restarted process compares with the recorded condition: no second announcement.
    s.restart();
    await s.cycle();
    expect(reconcilerEvents(s.events).filter((e) => e.state === "failed")).toHaveLength(1);

    proxy.fault = undefined;
    const r2 = await s.cycle();
    expect(r2.result).toMatchObject({ status: "ready", reason: "Released" });
    expect(reconcilerEvents(s.events).filter((e) => e.state === "recovered")).toHaveLength(1);
    expect(released(s.events).map((e) => `${e.app}:${e.to}`)).toEqual(["up:dev-2", "down:dev-2"]);
  });

  it("an invalid filter is one stalled event with file and filter; the rest goes on", async () => {
    await pushImage(reg, "it/bad", "dev-1", { created: day(1) });
    await pushImage(reg, "it/good", "dev-1", { created: day(1) });
    await pushImage(reg, "it/good", "dev-2", { created: day(2) });
    const s = await setup({
      "releases/dev/bad.yaml": deployment({
        env: "dev",
        name: "bad",
        images: [{ container: "app", image: `${reg.host}/it/bad:dev-1`, filter: "semver:>>nope" }],
      }),
      "releases/dev/good.yaml": deployment({
        env: "dev",
        name: "good",
        images: [{ container: "app", image: `${reg.host}/it/good:dev-1` }],
      }),
    });
    await s.cycle();
    await s.cycle();
    const stalled = reconcilerEvents(s.events).filter((e) => e.state === "stalled");
    expect(stalled).toHaveLength(1);
    expect(stalled[0]).toMatchObject({ env: "dev", app: "bad", reconciler: "image" });
    expect(stalled[0]!.message).toContain("releases/dev/bad.yaml");
    expect(stalled[0]!.message).toContain(">>nope");
    expect(released(s.events).map((e) => `${e.app}:${e.to}`)).toEqual(["good:dev-2"]);
  });
});

describe("registry credentials", () => {
  let secured: RegistryServer;
  const CANARY = "canary-Pw-7f3a91c2";
  beforeAll(async () => {
    secured = await startRegistry({ auth: { username: "ci", password: CANARY } });
  });
  afterAll(async () => {
    await secured?.stop();
  });

  it("are used, and never appear in logs, events or commits (also when a repository fails)", async () => {
    await pushImage(secured, "it/secret", "dev-1", { created: day(1) });
    await pushImage(secured, "it/secret", "dev-2", { created: day(2) });
    const s = await setup(
      {
        "releases/dev/sec.yaml": deployment({
          env: "dev",
          name: "sec",
          images: [{ container: "app", image: `${secured.host}/it/secret:dev-1` }],
        }),
        "releases/dev/gone.yaml": deployment({
          env: "dev",
          name: "gone",
          images: [{ container: "app", image: `${secured.host}/it/missing:dev-1` }],
        }),
      },
      { images: { registries: [{ host: secured.host, auth: { username: "ci", password: CANARY } }] } },
    );
    await s.cycle();
    expect(released(s.events).map((e) => `${e.app}:${e.to}`)).toEqual(["sec:dev-2"]);
    // A repository that does not exist needs a fixed image name, not a retry: stalled, with the file.
    const missing = reconcilerEvents(s.events).filter((e) => e.message.includes("it/missing"));
    expect(missing).toMatchObject([{ state: "stalled", env: "dev", app: "gone" }]);
    expect(missing[0]!.message).toContain("releases/dev/gone.yaml");
    const everything = [
      ...s.logger.lines,
      JSON.stringify(s.events),
      JSON.stringify(await s.log()),
      JSON.stringify(s.images.reconciler.last),
    ].join("\n");
    expect(everything).not.toContain(CANARY);
    expect(everything).not.toContain(Buffer.from(`ci:${CANARY}`).toString("base64"));
  });
});
