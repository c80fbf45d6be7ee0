import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatImageRef,
  isValidTag,
  normalizeImageRef,
  parseImageRef,
  repositoryOf,
  sameRepository,
  withTag,
} from "../../../src/gitops/image-ref.js";

const component = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]{1,6}$/),
    fc.option(fc.stringMatching(/^[a-z0-9]{1,4}$/)),
    fc.constantFrom(".", "_", "-", "__"),
  )
  .map(([a, b, sep]) => (b ? `${a}${sep}${b}` : a));
const host = fc.oneof(
  fc.constant("localhost"),
  fc.constant("localhost:5000"),
  fc.stringMatching(/^[a-z]{1,6}\.[a-z]{2,4}$/),
  fc
    .tuple(fc.stringMatching(/^[a-z]{1,6}\.io$/), fc.integer({ min: 1, max: 65535 }))
    .map(([h, p]) => `${h}:${p}`),
);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
const digest = fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`);
const ref = fc.record(
  {
    registry: host,
    path: fc.array(component, { minLength: 1, maxLength: 3 }).map((a) => a.join("/")),
    tag,
    digest,
  },
  { requiredKeys: ["path"] },
);

describe("image refs", () => {
  it("format(parse(s)) === s and parse(format(r)) equals r", () => {
    fc.assert(
      fc.property(ref, (r) => {
        // A path-only ref whose first component looks like a host would be read as a registry.
        const s = formatImageRef(r);
        const p = parseImageRef(s);
        expect(p).toBeDefined();
        expect(formatImageRef(p!)).toBe(s);
        if (r.registry !== undefined) expect(p).toEqual(r);
      }),
      { numRuns: 300 },
    );
  });

  it("splits registry, port, path, tag and digest", () => {
    expect(parseImageRef("localhost:5000/x:y")).toEqual({ registry: "localhost:5000", path: "x", tag: "y" });
    expect(parseImageRef("ghcr.io/stefanprodan/podinfo:0.4.10")).toEqual({
      registry: "ghcr.io",
      path: "stefanprodan/podinfo",
      tag: "0.4.10",
    });
    expect(parseImageRef("nginx")).toEqual({ path: "nginx" });
    expect(parseImageRef("library/nginx:1.27")).toEqual({ path: "library/nginx", tag: "1.27" });
    expect(parseImageRef(`x@sha256:${"a".repeat(64)}`)).toEqual({
      path: "x",
      digest: `sha256:${"a".repeat(64)}`,
    });
    // Docker reads an upper-case first component as a registry host.
    expect(parseImageRef("UPPER/x")).toEqual({ registry: "UPPER", path: "x" });
    expect(parseImageRef("registry:5000/team/app")).toEqual({ registry: "registry:5000", path: "team/app" });
  });

  it("rejects what is not a reference", () => {
    for (const bad of ["", "x/UPPER", "a b", "x:", "x:-bad", "x@sha256:short", "/x", "x//y", "ghcr.io/"]) {
      expect(parseImageRef(bad), bad).toBeUndefined();
    }
  });

  it("applies Docker's defaults when normalising", () => {
    expect(normalizeImageRef(parseImageRef("nginx")!)).toEqual({
      registry: "docker.io",
      path: "library/nginx",
      tag: "latest",
    });
    expect(normalizeImageRef(parseImageRef("index.docker.io/me/app:1")!)).toEqual({
      registry: "docker.io",
      path: "me/app",
      tag: "1",
    });
    expect(sameRepository("nginx", "docker.io/library/nginx")).toBe(true);
    expect(sameRepository("ghcr.io/a/b", "docker.io/a/b")).toBe(false);
    expect(repositoryOf(parseImageRef("localhost:5000/x:y")!)).toBe("localhost:5000/x");
  });

  it("withTag replaces the tag and drops a digest", () => {
    expect(withTag(`ghcr.io/x/y:1@sha256:${"b".repeat(64)}`, "2")).toBe("ghcr.io/x/y:2");
    expect(withTag("localhost:5000/x", "3")).toBe("localhost:5000/x:3");
    expect(withTag("not an image", "3")).toBeUndefined();
    expect(isValidTag("stg-9ij63o4c")).toBe(true);
    expect(isValidTag(".x")).toBe(false);
    expect(isValidTag("a".repeat(129))).toBe(false);
  });
});
