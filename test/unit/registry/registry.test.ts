import { describe, expect, it } from "vitest";
import { BudgetExhausted, RequestBudget, retryAfterMs } from "../../../src/registry/budget.js";
import { parseChallenge, TokenCache } from "../../../src/registry/challenge.js";
import { apiHost, isLoopbackHost, parsePlatform } from "../../../src/registry/client.js";
import { nextLink, parseTime } from "../../../src/registry/distribution-client.js";
import { hostOfKey, parseDockerConfig, usesCredentialHelpers } from "../../../src/registry/docker-config.js";

const repo = { host: "r.example:5000", path: "team/app" };

describe("parseChallenge", () => {
  it("reads bearer parameters, quoted commas and escapes; basic; unknown schemes", () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"',
      ),
    ).toEqual({
      scheme: "bearer",
      params: {
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:a/b:pull,push",
      },
    });
    expect(parseChallenge('Basic realm="x \\"y\\""')).toEqual({
      scheme: "basic",
      params: { realm: 'x "y"' },
    });
    expect(parseChallenge("Negotiate abc")).toBeUndefined();
    expect(parseChallenge(null)).toBeUndefined();
  });

  it("token cache drops a token 10 s before it expires (60 s when unsaid)", () => {
    let now = 0;
    const c = new TokenCache(() => now);
    c.set("k", "t", undefined);
    now = 49_000;
    expect(c.get("k")).toBe("t");
    now = 50_000;
    expect(c.get("k")).toBeUndefined();
  });
});

describe("docker config.json", () => {
  it("reads auths (password with ':'), identity tokens, URL keys and the legacy form", () => {
    const auth = Buffer.from("user:pa:ss").toString("base64");
    const m = parseDockerConfig(
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth },
          "ghcr.io": { username: "u", password: "p" },
          "acr.example.io": { identitytoken: "refresh" },
        },
        credsStore: "desktop",
      }),
    );
    expect(m.get("docker.io")).toEqual({ username: "user", password: "pa:ss" });
    expect(m.get("ghcr.io")).toEqual({ username: "u", password: "p" });
    expect(m.get("acr.example.io")).toEqual({ identityToken: "refresh" });
    expect(parseDockerConfig(JSON.stringify({ "quay.io": { auth } })).get("quay.io")?.username).toBe("user");
    expect(hostOfKey("https://GHCR.io/v2/")).toBe("ghcr.io");
    expect(usesCredentialHelpers('{"credsStore":"desktop"}')).toBe(true);
  });

  it("refuses broken files without echoing their content", () => {
    expect(() => parseDockerConfig("{secret")).toThrow(/^config.json is not valid JSON$/);
    const bad = Buffer.from("nocolon-secret").toString("base64");
    expect(() => parseDockerConfig(JSON.stringify({ auths: { h: { auth: bad } } }))).toThrow(
      /auth of h is not base64/,
    );
    expect(() => parseDockerConfig(JSON.stringify({ auths: { h: { auth: bad } } }))).not.toThrow(/nocolon/);
  });
});

describe("RequestBudget", () => {
  function clock() {
    let now = 1_000_000;
    const slept: number[] = [];
    return {
      now: () => now,
      sleep: async (ms: number) => {
        slept.push(ms);
        now += ms;
      },
      slept,
    };
  }

  it("waits out Retry-After, and fails fast when it is longer than maxWaitMs", async () => {
    const c = clock();
    const b = new RequestBudget({ now: c.now, sleep: c.sleep, maxWaitMs: 30_000 });
    expect(b.observe(429, new Headers({ "retry-after": "2" }))).toBe(2000);
    await b.run(async () => 1);
    expect(c.slept).toEqual([2000]);
    b.observe(429, new Headers({ "retry-after": "120" }));
    await expect(b.run(async () => 1)).rejects.toBeInstanceOf(BudgetExhausted);
  });

  it("backs off exponentially on 429 without Retry-After, reset by a success", () => {
    const c = clock();
    const b = new RequestBudget({ now: c.now, sleep: c.sleep });
    expect([429, 429, 429].map((s) => b.observe(s, new Headers()))).toEqual([1000, 2000, 4000]);
    b.observe(200, new Headers());
    expect(b.observe(429, new Headers())).toBe(1000);
  });

  it("pauses when ratelimit-remaining reaches 0 (Docker Hub's w= window)", () => {
    const c = clock();
    const b = new RequestBudget({ now: c.now, sleep: c.sleep });
    b.observe(200, new Headers({ "ratelimit-remaining": "0;w=21600" }));
    expect(b.pausedForMs()).toBe(21_600_000);
  });

  it("keeps at most maxConcurrency in flight and requestsPerMinute per minute", async () => {
    const c = clock();
    const b = new RequestBudget({ now: c.now, sleep: c.sleep, maxConcurrency: 2, requestsPerMinute: 3 });
    let inFlight = 0;
    let peak = 0;
    const job = () =>
      b.run(async () => {
        peak = Math.max(peak, ++inFlight);
        await Promise.resolve();
        inFlight--;
      });
    await Promise.all([job(), job(), job(), job()]);
    expect(peak).toBeLessThanOrEqual(2);
    expect(c.slept.reduce((a, x) => a + x, 0)).toBeGreaterThanOrEqual(60_000);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("3", 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs("soon", 0)).toBeUndefined();
  });
});

describe("distribution helpers", () => {
  const base = "http://r.example:5000";
  it("nextLink: relative and same-origin links; a dropped port is put back; other hosts refused", () => {
    expect(nextLink('</v2/team/app/tags/list?last=b&n=2>; rel="next"', base, repo)).toBe(
      "http://r.example:5000/v2/team/app/tags/list?last=b&n=2",
    );
    expect(nextLink('<http://r.example/v2/x?last=b>; rel="next"', base, repo)).toBe(
      "http://r.example:5000/v2/x?last=b",
    );
    expect(nextLink('<http://r.example:5000/a>; rel="prev"', base, repo)).toBeUndefined();
    expect(() => nextLink('<https://evil.example/v2/x>; rel="next"', base, repo)).toThrow(
      /r\.example:5000\/team\/app: .*evil/,
    );
  });

  it("parseTime: RFC 3339 times; none, zero and 1970 are not times", () => {
    expect(parseTime("2026-01-02T03:04:05Z")?.toISOString()).toBe("2026-01-02T03:04:05.000Z");
    for (const t of [
      undefined,
      "",
      "0001-01-01T00:00:00Z",
      "1970-01-01T00:00:00Z",
      "1970-01-01T00:00:01Z",
      "nope",
    ]) {
      expect(parseTime(t)).toBeUndefined();
    }
  });

  it("platforms, loopback hosts and Docker Hub's API host", () => {
    expect(parsePlatform("linux/arm64/v8")).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(parsePlatform("linux")).toBeUndefined();
    expect(["localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]:5000"].every(isLoopbackHost)).toBe(true);
    expect(["registry.local", "10.0.0.1:5000", "localhost.evil.com"].some(isLoopbackHost)).toBe(false);
    expect(apiHost("docker.io")).toBe("registry-1.docker.io");
  });
});
