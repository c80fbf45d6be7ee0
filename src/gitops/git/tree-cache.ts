import type { TreeFile } from "./backend.js";

/**
 * The file listings of the last few commits (least recently used dropped first). A listing of a
 * commit never changes, so it is kept as the promise of the first load; a failed load is forgotten.
 */
export class TreeCache {
  private readonly entries = new Map<string, Promise<Map<string, TreeFile>>>();

  constructor(private readonly size: number) {}

  /** The listing of `commit`, from the cache or from `load`. */
  get(commit: string, load: () => Promise<Map<string, TreeFile>>): Promise<Map<string, TreeFile>> {
    const hit = this.entries.get(commit);
    if (hit) {
      // LRU: move to the end.
      this.entries.delete(commit);
      this.entries.set(commit, hit);
      return hit;
    }
    const p = load();
    this.set(commit, p);
    p.catch(() => this.entries.delete(commit));
    return p;
  }

  /** Stores a listing known without loading it (a commit we just made). */
  set(commit: string, p: Promise<Map<string, TreeFile>>): void {
    this.entries.set(commit, p);
    while (this.entries.size > this.size) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}
