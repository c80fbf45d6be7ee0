import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileRecord } from "../../../src/state/file-record.js";
import { RecordingLogger } from "../../helpers/recording-logger.js";

describe("FileRecord", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "file-record-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps its data across restarts, in a file only the bot can read", async () => {
    const path = join(dir, "state", "approvals.json");
    const a = new FileRecord(path);
    await Promise.all(
      ["x", "y", "z"].map((k) =>
        a.modify((d) => {
          d[k] = k.toUpperCase();
          return true;
        }),
      ),
    );
    const b = new FileRecord(path);
    expect(await b.read()).toEqual({ x: "X", y: "Y", z: "Z" });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("writes nothing when the edit says nothing changed", async () => {
    const path = join(dir, "r.json");
    const r = new FileRecord(path);
    expect(await r.modify(() => false)).toBe(false);
    await expect(stat(path)).rejects.toThrow();
  });

  it("moves a corrupt file aside and says so instead of overwriting it silently", async () => {
    const path = join(dir, "r.json");
    await writeFile(path, "{ not json");
    const logger = new RecordingLogger();
    const r = new FileRecord(path, logger);
    expect(await r.read()).toEqual({});
    const files = await readdir(dir);
    const aside = files.find((f) => f.startsWith("r.json.corrupt-"));
    expect(aside).toBeDefined();
    expect(await readFile(join(dir, aside as string), "utf8")).toBe("{ not json");
    expect(logger.records.some((l) => l.level === "error" && /moved aside/.test(l.msg ?? ""))).toBe(true);
  });

  it("reads files whose values are JSON objects (the older conversation store format)", async () => {
    const path = join(dir, "teams.json");
    await writeFile(path, JSON.stringify({ "19:abc": { serviceUrl: "https://smba.example" } }));
    const r = new FileRecord(path);
    expect(JSON.parse((await r.read())["19:abc"] as string)).toEqual({ serviceUrl: "https://smba.example" });
  });
});
