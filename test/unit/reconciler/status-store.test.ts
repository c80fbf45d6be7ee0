import { describe, expect, it } from "vitest";
import { type StatusCodec, StatusStore } from "../../../src/reconciler/status-store.js";
import { FakeKubeClient } from "../../helpers/fake-kube-client.js";

interface Rec {
  count: number;
}
const codec: StatusCodec<Rec> = {
  encode: (r) => ({ count: String(r.count) }),
  decode: (d) => ({ count: d?.count ? Number(d.count) : 0 }),
};
const make = (kube: FakeKubeClient) =>
  new StatusStore(kube, {
    namespace: "gitops-bot-system",
    name: "rec",
    record: "test",
    fieldManager: "gitops-bot",
    codec,
  });

describe("StatusStore", () => {
  it("writes a record only when it changed, also across a restart", async () => {
    const kube = new FakeKubeClient();
    const a = make(kube);
    expect(await a.load()).toEqual({ count: 0 });
    expect(await a.save({ count: 1 })).toBe(true);
    expect(await a.save({ count: 1 })).toBe(false);
    const writes = kube.stats().writes;
    const b = make(kube); // a restarted replica
    expect(await b.load()).toEqual({ count: 1 });
    expect(await b.save({ count: 1 })).toBe(false);
    expect(kube.stats().writes).toBe(writes);
    expect(await b.save({ count: 2 })).toBe(true);
    expect(await a.data()).toEqual({ count: "2" });
  });
});
