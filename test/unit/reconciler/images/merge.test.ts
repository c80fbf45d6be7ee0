import { describe, expect, it } from "vitest";
import { mergeImageRequests } from "../../../../src/reconciler/images/reconciler.js";

const hook = (repository: string, tag: string) =>
  ({ reason: "webhook", notified: [{ repository, tags: [tag] }], actor: "distribution" }) as const;

describe("mergeImageRequests: webhooks arriving while a cycle waits", () => {
  it("two webhooks make one webhook cycle naming both repositories", () => {
    const m = mergeImageRequests(hook("r.local/a", "1"), hook("r.local/b", "2"));
    expect(m.reason).toBe("webhook");
    expect(m.notified).toEqual([
      { repository: "r.local/a", tags: ["1"] },
      { repository: "r.local/b", tags: ["2"] },
    ]);
  });

  it("a waiting full cycle stays full, and keeps the webhook's tags to read again", () => {
    for (const [queued, incoming] of [
      [{ reason: "interval" } as const, hook("r.local/a", "1")],
      [hook("r.local/a", "1"), { reason: "command" } as const],
    ] as const) {
      const m = mergeImageRequests(queued, incoming);
      expect(m.reason).not.toBe("webhook");
      expect(m.notified).toEqual([{ repository: "r.local/a", tags: ["1"] }]);
    }
  });
});
