import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  FileApprovalStore,
  newApprovalId,
  type PendingApproval,
} from "../../../../src/bot/approvals/store.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function pending(id: string): PendingApproval {
  return {
    id,
    command: "promote podinfo stg prod",
    verb: "promote",
    env: "prod",
    app: "podinfo",
    requester: { id: "slack:U1", name: "alice" },
    platform: "slack",
    channel: "C1",
    createdAt: "2026-01-01T00:00:00Z",
    expiresAt: "2026-01-01T01:00:00Z",
    required: 1,
    approvals: [],
  };
}

describe("FileApprovalStore", () => {
  it("persists across instances (a restart) and deletes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "approvals-"));
    dirs.push(dir);
    const path = join(dir, "state", "approvals.json");
    const a = new FileApprovalStore(path);
    await Promise.all([a.put(pending("one")), a.put(pending("two")), a.put(pending("three"))]);
    const b = new FileApprovalStore(path);
    expect((await b.list()).map((p) => p.id).sort()).toEqual(["one", "three", "two"]);
    expect(await b.delete("two")).toBe(true);
    expect(await b.delete("two")).toBe(false);
    expect(await a.get("two")).toBeUndefined();
    expect((await a.get("one"))?.command).toBe("promote podinfo stg prod");
    expect(JSON.parse(await readFile(path, "utf8")).version).toBe(1);
  });
  it("makes typeable ids", () => {
    const ids = new Set(Array.from({ length: 200 }, newApprovalId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[a-z2-9]{8}$/);
  });
});
