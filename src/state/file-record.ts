/**
 * A record kept in one JSON file (`{ "key": "value" }`) by one process: the state of a bot that
 * runs without a cluster. Loaded once, rewritten atomically (temp file + rename, mode 0600) after
 * each change; edits are serialised in the process. A file that cannot be parsed is moved aside
 * (`<file>.corrupt-<time>`) and reported, never silently overwritten.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { type Logger, nullLogger } from "../core/ports.js";
import type { KeyValueRecord } from "./record.js";

export class FileRecord implements KeyValueRecord {
  private data: Record<string, string> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly logger: Logger = nullLogger,
  ) {}

  get name(): string {
    return basename(this.path);
  }

  async read(): Promise<Record<string, string>> {
    await this.queue;
    return { ...(await this.load()) };
  }

  modify(edit: (d: Record<string, string>) => boolean): Promise<boolean> {
    const run = this.queue.then(async () => {
      const d = { ...(await this.load()) };
      if (!edit(d)) return false;
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const tmp = `${this.path}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(d, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, this.path);
      this.data = d;
      return true;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<Record<string, string>> {
    if (this.data) return this.data;
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      this.data = {};
      return this.data;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
        throw new Error("not a JSON object");
      this.data = Object.fromEntries(
        Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [
          k,
          typeof v === "string" ? v : JSON.stringify(v),
        ]),
      );
    } catch (err) {
      const aside = `${this.path}.corrupt-${Date.now()}`;
      await rename(this.path, aside).catch(() => undefined);
      this.logger.error(
        { err, file: this.path, movedTo: aside },
        "state file is not valid JSON; it was moved aside",
      );
      this.data = {};
    }
    return this.data;
  }
}
