/**
 * The `images <app> <env>` read side (`ImageCatalog`): the same scanner and planner as the
 * automation, for one instance. Candidates the filter admits come newest first (by creation time,
 * or by version for `semver:`), with the one running, the one automation would move to next and,
 * when it waits, why (locked, frozen, cannot order, registry error, …). Reads never write.
 */
import type { ImageCandidate, ImageCandidates, ImageCatalog } from "../../core/ports.js";
import { type ContainerImage, findInstance } from "../../core/release.js";
import type { ReleaseOperations } from "../../gitops/operations.js";
import { formatTagFilter, matchesTagFilter } from "../../gitops/tag-filter.js";
import { needsTimestamps, sortNewestFirst } from "../../images/order.js";
import { DEFAULT_FILTER, type ImageDecision, planImageUpdates, repositoryIdOf } from "../../images/plan.js";
import type { ImageScanner } from "../../images/scan.js";
import type { RepositoryScan, ScanRequest } from "../../images/scan-result.js";
import { type FrozenEnvs, frozenMap } from "./reconciler.js";

export interface ImageCatalogDeps {
  ops: Pick<ReleaseOperations, "model">;
  scanner: ImageScanner;
  frozenEnvs?: (revision?: string) => Promise<FrozenEnvs>;
  /** Candidates listed per container at most (default 15). */
  limit?: number;
}

/** `ImageCatalog` over the scanner and planner (see the file comment). */
export class ImageCatalogService implements ImageCatalog {
  constructor(private readonly deps: ImageCatalogDeps) {}

  async candidates(a: { app: string; env: string }): Promise<ImageCandidates[]> {
    const model = await this.deps.ops.model();
    const inst = findInstance(model, a.app, a.env);
    if (!inst) return [];
    // A freeze record that cannot be read stops automation; the listing says so instead of failing.
    const frozen = await this.deps
      .frozenEnvs?.(model.revision)
      .then(frozenMap, (err: Error) => frozenMap(new Map([[a.env, { reason: err.message }]])));
    const requests: ScanRequest[] = inst.workload.images.flatMap((img) => {
      const id = img.filterError ? undefined : repositoryIdOf(img.repository);
      if (!id) return [];
      const f = img.filter ?? DEFAULT_FILTER;
      const timed = needsTimestamps(f);
      return [
        { repository: id, timeFilters: timed ? [f] : [], runningTags: timed && img.tag ? [img.tag] : [] },
      ];
    });
    const scans = await this.deps.scanner.scan(requests);
    const plan = planImageUpdates({ instances: [inst], frozen: frozen ?? new Map(), scans });
    return inst.workload.images.map((img, i) => {
      const d = plan.decisions[i] as ImageDecision;
      return this.listing(img, d, d.repository ? scans.get(d.repository) : undefined);
    });
  }

  private listing(img: ContainerImage, d: ImageDecision, scan: RepositoryScan | undefined): ImageCandidates {
    const f = img.filter ?? DEFAULT_FILTER;
    const out: ImageCandidates = {
      container: img.container,
      repository: img.repository,
      filter: img.filterError ? "(invalid)" : formatTagFilter(f),
      order: needsTimestamps(f) ? "time" : "version",
      tags: [],
    };
    if (d.action === "wait" && d.reason !== "newest") {
      out.waiting = d.message;
      out.reason = d.reason;
    }
    const next = d.action === "update" ? d.to : undefined;
    if (!scan?.ok || img.filterError) {
      out.tags = [{ tag: img.tag, current: true, matches: !img.filterError && matchesTagFilter(f, img.tag) }];
      return out;
    }
    const admitted = scan.tags.filter((t) => matchesTagFilter(f, t));
    const shown = sortNewestFirst(f, admitted, scan.times).slice(0, this.deps.limit ?? 15);
    const row = (tag: string, matches: boolean): ImageCandidate => {
      const c: ImageCandidate = { tag, current: tag === img.tag, matches };
      const created = scan.times.get(tag)?.created;
      if (created) c.created = created.toISOString();
      if (tag === next) c.next = true;
      return c;
    };
    out.tags = shown.map((t) => row(t, true));
    if (!shown.includes(img.tag)) out.tags.push(row(img.tag, matchesTagFilter(f, img.tag)));
    const more = scan.tags.length - out.tags.filter((c) => scan.tags.includes(c.tag)).length;
    if (more > 0) out.more = more;
    return out;
  }
}
