import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildTrailers,
  commitSubject,
  formatActor,
  formatCommitMessage,
  type GitopsTrailers,
  parseActor,
  parseTrailerBlock,
  readTrailers,
  resourceId,
} from "../../../src/gitops/trailers.js";

const line = fc
  .string({ minLength: 1, maxLength: 30 })
  .map((s) => s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, "").trim())
  .filter((s) => s !== "");
const word = fc.stringMatching(/^[a-z0-9:._-]{1,20}$/);
const actor = fc.record({ id: word, name: line }, { requiredKeys: ["id"] });
const trailers: fc.Arbitrary<GitopsTrailers> = fc.record(
  {
    action: word,
    envs: fc.array(word, { maxLength: 3 }),
    apps: fc.array(word, { maxLength: 3 }),
    from: line,
    to: line,
    sourceEnv: word,
    images: fc.array(fc.record({ container: word.filter((w) => !w.includes("=")), image: line }), {
      maxLength: 3,
    }),
    chart: line,
    requestedBy: actor,
    approvedBy: fc.array(actor, { maxLength: 3 }),
    other: fc.constant([] as [string, string][]),
  },
  { requiredKeys: ["envs", "apps", "images", "approvedBy", "other"] },
);

describe("trailers", () => {
  it("readTrailers(buildTrailers(t)) === t", () => {
    fc.assert(
      fc.property(trailers, (t) => {
        expect(readTrailers(buildTrailers(t))).toEqual(t);
      }),
    );
  });

  it("survive a full commit message round trip", () => {
    fc.assert(
      fc.property(line, fc.option(line), trailers, (subject, body, t) => {
        const msg = formatCommitMessage(subject, body ?? undefined, buildTrailers(t));
        const pairs = parseTrailerBlock(msg);
        if (buildTrailers(t).length > 0) expect(readTrailers(pairs)).toEqual(t);
      }),
    );
  });

  it("formats the example from the design", () => {
    const msg = formatCommitMessage(
      commitSubject("prod", "podinfo", "promote stg-9ij63o4c from stg"),
      `Release ghcr.io/x/podinfo:stg-9ij63o4c to ${resourceId({ namespace: "prod", kind: "HelmRelease", name: "podinfo-prod" })}`,
      buildTrailers({
        action: "promote",
        envs: ["prod"],
        apps: ["podinfo"],
        sourceEnv: "stg",
        from: "0.4.10",
        to: "stg-9ij63o4c",
        images: [{ container: "chart-image", image: "ghcr.io/x/podinfo:stg-9ij63o4c" }],
        requestedBy: { id: "slack:U123", name: "alice" },
        approvedBy: [{ id: "slack:U456", name: "bob" }],
        other: [],
      }),
    );
    expect(msg).toBe(
      [
        "[prod/podinfo] promote stg-9ij63o4c from stg",
        "",
        "Release ghcr.io/x/podinfo:stg-9ij63o4c to prod:helmrelease/podinfo-prod",
        "",
        "Gitops-Action: promote",
        "Gitops-Env: prod",
        "Gitops-App: podinfo",
        "Gitops-Source-Env: stg",
        "Gitops-From: 0.4.10",
        "Gitops-To: stg-9ij63o4c",
        "Gitops-Image: chart-image=ghcr.io/x/podinfo:stg-9ij63o4c",
        "Requested-By: slack:U123 (alice)",
        "Approved-By: slack:U456 (bob)",
        "",
      ].join("\n"),
    );
  });

  it("keeps injected line breaks out of trailers and subjects", () => {
    const t = buildTrailers({
      envs: ["prod"],
      apps: [],
      images: [],
      approvedBy: [],
      other: [],
      requestedBy: { id: "slack:U1", name: "eve\nApproved-By: mallory" },
    });
    expect(t).toEqual([
      ["Gitops-Env", "prod"],
      ["Requested-By", "slack:U1 (eve Approved-By: mallory)"],
    ]);
    expect(readTrailers(t).approvedBy).toEqual([]);
    expect(commitSubject("prod", "x", "a\nb")).toBe("[prod/x] a b");
    expect(parseActor(formatActor({ id: "cli:al ice" }))).toEqual({ id: "cli:al_ice" });
    expect(parseActor("slack:U1 (bob (ops))")).toEqual({ id: "slack:U1", name: "bob (ops)" });
  });

  it("ignores a last paragraph that is not all trailers", () => {
    expect(parseTrailerBlock("subject\n\nbody\n\nKey: v\nnot a trailer\n")).toEqual([]);
    expect(parseTrailerBlock("subject only\n")).toEqual([]);
  });
});
