// Which API server answers are outages (retry the run with backoff) and which are about the one
// object a write carried (report it with its file, go on with the rest): issue #11.
import { describe, expect, it } from "vitest";
import { isOutage } from "../../../src/kube/client.js";

const status = (message: string, reason?: string) => ({
  isStatus: true,
  message,
  ...(reason ? { reason } : {}),
});
const write = { objectWrite: true };
const read = { objectWrite: false };

describe("isOutage", () => {
  it("429, 502, 503 and 504 are outages whatever they say", () => {
    for (const code of [429, 502, 503, 504]) expect(isOutage(code, status("anything"), write)).toBe(true);
  });

  it("a 500 about the content of the object a write carried is that object's error", () => {
    const typedPatch =
      "failed to create typed patch object (dev/podinfo; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string";
    expect(isOutage(500, status(typedPatch), write)).toBe(false);
    expect(
      isOutage(
        500,
        status(
          'Internal error occurred: failed calling webhook "webhook.cert-manager.io": failed to call webhook: Post "https://cert-manager-webhook.cert-manager.svc:443/validate?timeout=10s": context deadline exceeded',
          "InternalError",
        ),
        write,
      ),
    ).toBe(false);
  });

  it("a 500 about storage or time, from a read or a delete, or not from the API server is an outage", () => {
    expect(isOutage(500, status("etcdserver: request timed out"), write)).toBe(true);
    expect(isOutage(500, status("rpc error: code = Unavailable desc = connection closed"), write)).toBe(true);
    expect(
      isOutage(500, status("Timeout: request did not complete within requested timeout", "Timeout"), write),
    ).toBe(true);
    expect(isOutage(500, status("failed to create typed patch object"), read)).toBe(true);
    expect(isOutage(500, { isStatus: false, message: "<html>bad gateway</html>" }, write)).toBe(true);
  });

  it("4xx answers are never outages (except 429)", () => {
    for (const code of [400, 403, 404, 409, 422])
      expect(isOutage(code, status("invalid"), write)).toBe(false);
  });
});
