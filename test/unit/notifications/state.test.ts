/**
 * How events are grouped into messages (views): which events start, join or skip a message.
 */
import { describe, expect, it } from "vitest";
import { eventSeverity, ViewStore } from "../../../src/notifications/state.js";
import * as ev from "../../golden/events.js";

describe("ViewStore", () => {
  it("joins a sync to the release of any commit it applies, not only its correlation id", () => {
    const store = new ViewStore();
    store.fold(ev.promote);
    store.fold(ev.autoRelease);
    // One sync applying both commits (the reconciler caught up with two at once).
    const fold = store.fold({
      ...ev.manualSync,
      correlationId: "something-else",
      commits: [ev.promote.commit, ev.autoRelease.commit],
    });
    expect(fold.views.map((v) => v.key).sort()).toEqual(
      [`release:${ev.SHA_AUTO}`, `release:${ev.SHA_PROMOTE}`].sort(),
    );
  });

  it("attaches a Helm result with an unknown correlation id to the latest release of that app and env", () => {
    const store = new ViewStore();
    store.fold(ev.promote);
    const fold = store.fold({ ...ev.promoteHelmFailed, correlationId: "helm-generated-id" });
    expect(fold.views.map((v) => v.key)).toEqual([`release:${ev.SHA_PROMOTE}`]);
    expect(fold.details).toEqual([{ view: fold.views[0], detail: "helm-error" }]);
  });

  it("skips empty syncs, but not a recovery", () => {
    const store = new ViewStore();
    expect(store.fold(ev.emptySync).views).toEqual([]);
    expect(store.fold({ ...ev.emptySync, recovered: true }).views).toHaveLength(1);
  });

  it("posts a reconciler failure once, and its recovery as an update of that message", () => {
    const store = new ViewStore();
    expect(store.fold(ev.reconcilerRecovered).views).toEqual([]); // nothing was failing
    const first = store.fold(ev.reconcilerFailed).views;
    expect(first).toHaveLength(1);
    expect(store.fold({ ...ev.reconcilerFailed, id: "again" }).views).toEqual([]); // same failure again
    const rec = store.fold(ev.reconcilerRecovered).views;
    expect(rec.map((v) => v.key)).toEqual(first.map((v) => v.key));
    expect(rec[0]!.failedSince).toBe(ev.reconcilerFailed.time);
  });

  it("forgets the oldest releases beyond its bound", () => {
    const store = new ViewStore(3);
    for (const n of [1, 2, 3, 4]) store.fold({ ...ev.promote, correlationId: `c${n}` });
    expect(store.get("release:c1")).toBeUndefined();
    expect(store.get("release:c4")).toBeDefined();
  });

  it("rates events by outcome", () => {
    expect(eventSeverity(ev.syncWithErrors)).toBe("error");
    expect(eventSeverity(ev.manualSync)).toBe("success");
    expect(eventSeverity(ev.promoteRolledBack)).toBe("warning");
    expect(eventSeverity(ev.promote)).toBe("info");
    expect(eventSeverity(ev.reconcilerRecovered)).toBe("success");
  });
});
