/**
 * `POST /hooks/registry` on the real HTTP server: each registry's notification verified its way
 * (GHCR HMAC, distribution/Harbor Authorization header, Docker Hub secret URL), unverified
 * requests refused without doing anything, and a verified push rescanning at once so the new tag
 * is committed without waiting for the interval.
 */
import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { nullLogger } from "../../../src/core/ports.js";
import { HttpServer } from "../../../src/http/server.js";
import { mountRegistryWebhook, type Rescanner } from "../../../src/reconciler/images/registry-webhook.js";
import { pushImage } from "../../harness/registry.js";
import { day, deployment, proxy, reg, released, setup, useImageFixture } from "./fixture.js";

useImageFixture();

const SECRET = "registry-hook-secret-9d1e";
let http: HttpServer | undefined;

afterEach(async () => {
  await http?.stop();
  http = undefined;
});

async function serve(images: Rescanner): Promise<string> {
  http = HttpServer.fromConfig({ host: "127.0.0.1", port: 0 }, { logger: nullLogger });
  mountRegistryWebhook(http, { secret: SECRET, images, logger: nullLogger });
  return `${(await http.start()).url}/hooks/registry`;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, text: await r.text() }));

/** A CNCF distribution notification for one pushed tag. */
const distributionEvent = (host: string, repository: string, tag: string) => ({
  events: [
    {
      action: "push",
      target: {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        repository,
        tag,
        url: `http://${host}/v2/${repository}/manifests/sha256:${"0".repeat(64)}`,
      },
      request: { host },
    },
  ],
});

describe("POST /hooks/registry", () => {
  it("a verified push is committed at once; an unverified one does nothing", async () => {
    await pushImage(reg, "hook/app", "dev-1", { created: day(1) });
    const s = await setup({
      "releases/dev/app.yaml": deployment({
        env: "dev",
        name: "app",
        images: [{ container: "app", image: `${proxy.host}/hook/app:dev-1`, filter: "glob:dev-*" }],
      }),
    });
    await s.cycle();
    const url = await serve(s.images);
    const before = (await s.log()).length;
    await pushImage(reg, "hook/app", "dev-2", { created: day(2) });

    proxy.resetCounts();
    const forged = await post(url, distributionEvent(proxy.host, "hook/app", "dev-2"), {
      authorization: "Bearer not-the-secret",
    });
    expect(forged.status).toBe(401);
    const unsigned = await post(url, distributionEvent(proxy.host, "hook/app", "dev-2"));
    expect(unsigned.status).toBe(401);
    // Refused requests start no scan (a started one would list tags at once).
    await new Promise((r) => setTimeout(r, 300));
    expect(proxy.counts.tags).toBe(0);

    const ok = await post(url, distributionEvent(proxy.host, "hook/app", "dev-2"), {
      authorization: `Bearer ${SECRET}`,
    });
    expect(ok).toMatchObject({ status: 202 });
    expect(ok.text).toContain(`${proxy.host}/hook/app`);
    let log = await s.log();
    for (let i = 0; i < 100 && log.length === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      log = await s.log();
    }
    expect(log.length).toBe(before + 1);
    expect(log[0]!.subject).toBe(`[dev/app] Auto-release ${proxy.host}/hook/app:dev-2`);
    expect(released(s.events).map((e) => `${e.from}->${e.to}`)).toEqual(["dev-1->dev-2"]);
    // The rescan listed the repository once and read only the new tag's manifest and config.
    expect(proxy.counts).toMatchObject({ tags: 1, manifestGet: 1, blobGet: 1, manifestHead: 0 });
    proxy.resetCounts();
    await s.cycle();
    // Steady state: one tag list, no manifest or blob request.
    expect(proxy.counts).toMatchObject({ tags: 1, manifestGet: 0, blobGet: 0, manifestHead: 0 });
  });

  it("a webhook lists only the repository it names, also when its host drops the port", async () => {
    await pushImage(reg, "hook/one", "dev-1", { created: day(1) });
    await pushImage(reg, "hook/two", "dev-1", { created: day(1) });
    const s = await setup({
      "releases/dev/one.yaml": deployment({
        env: "dev",
        name: "one",
        images: [{ container: "app", image: `${proxy.host}/hook/one:dev-1`, filter: "glob:dev-*" }],
      }),
      "releases/dev/two.yaml": deployment({
        env: "dev",
        name: "two",
        images: [{ container: "app", image: `${proxy.host}/hook/two:dev-1`, filter: "glob:dev-*" }],
      }),
    });
    proxy.resetCounts();
    await s.cycle();
    expect(proxy.counts.tags).toBe(2);
    await pushImage(reg, "hook/one", "dev-2", { created: day(2) });
    await pushImage(reg, "hook/two", "dev-2", { created: day(2) });

    // The registry reports its host without the port (as behind a proxy): still hook/one's repository.
    const notified = "127.0.0.1/hook/one";
    proxy.resetCounts();
    const r = await s.images.rescan(notified, ["dev-2"], "distribution", { wait: true });
    expect(r.result).toMatchObject({ status: "ready", reason: "Released" });
    // One tag list (hook/one's), one manifest and one config blob for its new tag; hook/two reused
    // its listing from the last cycle, so its own push waits for the next one.
    expect(proxy.counts).toMatchObject({ tags: 1, manifestGet: 1, blobGet: 1, manifestHead: 0 });
    expect(proxy.log.filter((l) => l.includes("/tags/list"))[0]).toContain("/v2/hook/one/tags/list");
    expect((await s.log())[0]!.subject).toBe(`[dev/one] Auto-release ${proxy.host}/hook/one:dev-2`);

    // The next full cycle lists both and releases hook/two.
    proxy.resetCounts();
    await s.cycle();
    expect(proxy.counts.tags).toBe(2);
    expect((await s.log())[0]!.subject).toBe(`[dev/two] Auto-release ${proxy.host}/hook/two:dev-2`);
  });

  it("reads and verifies GHCR, Harbor, Docker Hub and distribution notifications", async () => {
    const calls: string[] = [];
    const url = await serve({
      rescan: async (repository, tags, actor) => {
        calls.push(`${actor} ${repository} ${tags.join(",")}`);
      },
    });
    const ghcr = JSON.stringify({
      action: "published",
      package: {
        name: "podinfo",
        package_type: "CONTAINER",
        owner: { login: "Example" },
        package_version: { container_metadata: { tag: { name: "dev-abc", digest: "sha256:1" } } },
      },
    });
    const sign = (body: string, key = SECRET) =>
      `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;
    const gh = { "x-github-event": "package" };
    expect((await post(url, ghcr, { ...gh, "x-hub-signature-256": sign(ghcr) })).status).toBe(202);
    expect((await post(url, ghcr, { ...gh, "x-hub-signature-256": sign(ghcr, "wrong") })).status).toBe(401);
    expect((await post(url, ghcr, { ...gh })).status).toBe(401);
    const ping = JSON.stringify({ zen: "hi" });
    expect(
      await post(url, ping, { "x-github-event": "ping", "x-hub-signature-256": sign(ping) }),
    ).toMatchObject({
      status: 200,
    });

    const harbor = {
      type: "PUSH_ARTIFACT",
      operator: "ci",
      event_data: {
        resources: [{ digest: "sha256:2", tag: "1.4.0", resource_url: "harbor.example.com/team/api:1.4.0" }],
        repository: { name: "api", namespace: "team", repo_full_name: "team/api" },
      },
    };
    expect((await post(url, harbor, { authorization: SECRET })).status).toBe(202);
    expect((await post(url, harbor, { authorization: "nope" })).status).toBe(401);

    const hub = { push_data: { tag: "1.27.4", pusher: "ci" }, repository: { repo_name: "library/nginx" } };
    expect((await post(`${url}?token=${SECRET}`, hub)).status).toBe(202);
    expect((await post(`${url}?token=wrong`, hub)).status).toBe(401);
    expect((await post(url, hub)).status).toBe(401);

    expect(
      (await post(url, distributionEvent("registry.local:5000", "team/web", "v2"), { authorization: SECRET }))
        .status,
    ).toBe(202);
    expect((await post(url, "{not json", { authorization: SECRET })).status).toBe(400);
    // A Harbor artifact pushed by digest on a port, and a Docker Hub official image.
    const byDigest = {
      type: "PUSH_ARTIFACT",
      event_data: {
        resources: [{ digest: "sha256:3", resource_url: "harbor.local:8443/team/job@sha256:3" }],
      },
    };
    expect((await post(url, byDigest, { authorization: `Bearer ${SECRET}` })).status).toBe(202);
    const official = { push_data: { tag: "7" }, repository: { repo_name: "redis" } };
    expect((await post(url, official, { "x-webhook-token": SECRET })).status).toBe(202);

    expect(calls).toEqual([
      "ghcr ghcr.io/example/podinfo dev-abc",
      "harbor harbor.example.com/team/api 1.4.0",
      "dockerhub docker.io/library/nginx 1.27.4",
      "distribution registry.local:5000/team/web v2",
      "harbor harbor.local:8443/team/job ",
      "dockerhub docker.io/library/redis 7",
    ]);
  });
});
