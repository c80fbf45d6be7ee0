import type { KeyValueRecord } from "../../core/record.js";
import type { Condition } from "../conditions.js";
import type { StatusCodec } from "../status-store.js";

/** The persisted outcome of the last image automation cycle (what a restarted replica compares with). */
export interface ImageState {
  status?: Condition["status"];
  reason?: string;
  message?: string;
  findings?: Record<string, string[]>;
  /** The config repo revision the cycle planned at. */
  revision?: string;
  /** The last auto-release commit. */
  lastCommit?: { sha: string; subject: string; time: string };
}

/** The state as record data: one `state` key, keys sorted so an equal state is equal data. */
export const imageCodec: StatusCodec<ImageState> = {
  encode: (s) => ({ state: JSON.stringify(sorted(s)) }),
  decode: (data) => (data?.state ? (JSON.parse(data.state) as ImageState) : {}),
};

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/**
 * The image automation status over a `KeyValueRecord` (a ConfigMap in the cluster, a file
 * without one, memory in tests: picked by `src/app/state.ts`). `save` writes only when the encoded
 * state changed since the last load/save, so a no-op cycle writes nothing.
 */
export class ImageStateStore {
  private last: string | undefined;

  constructor(private readonly record: KeyValueRecord) {}

  async load(): Promise<ImageState> {
    const data = await this.record.read();
    const state = imageCodec.decode(Object.keys(data).length > 0 ? data : undefined);
    this.last = JSON.stringify(imageCodec.encode(state));
    return state;
  }

  /** Persists the state; false when unchanged since the last load/save. */
  async save(state: ImageState): Promise<boolean> {
    const data = imageCodec.encode(state);
    const text = JSON.stringify(data);
    if (text === this.last) return false;
    await this.record.modify((d) => {
      Object.assign(d, data);
      return true;
    });
    this.last = text;
    return true;
  }
}
