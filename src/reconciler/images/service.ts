import type { Config } from "../../config/schema.js";
import type { EventSink } from "../../core/events.js";
import { type Clock, type Logger, nullLogger } from "../../core/ports.js";
import type { KeyValueRecord } from "../../core/record.js";
import type { Actor, ReleaseOperations } from "../../gitops/operations.js";
import type { ImageScanner } from "../../images/scan.js";
import type { Controller } from "../controller.js";
import {
  ReconcilerService,
  type ReconcilerServiceOptions,
  type ReconcilerTriggerResult,
} from "../service.js";
import { type FrozenEnvs, type ImagePayload, ImageReconciler, type ImageRequest } from "./reconciler.js";
import { imageScanner, registryClient } from "./registries.js";
import { ImageStateStore } from "./state.js";

export interface ImageServiceDeps {
  ops: Pick<ReleaseOperations, "model" | "autoRelease">;
  /** Where the status record lives (`src/app/state.ts` picks it). */
  record: KeyValueRecord;
  sink: EventSink;
  logger?: Logger;
  clock?: Clock;
  /** The envs frozen now (the freeze record); default none. */
  frozenEnvs?: (revision?: string) => Promise<FrozenEnvs>;
  /** Who leads, for "not the leader" replies. */
  leader?: () => string | undefined;
  /** For tests and benchmarks: a scanner over another client. */
  scanner?: ImageScanner;
}

export interface ImageServiceOptions {
  intervalMs: number;
  clusterName: string;
  actor: Actor;
}

/** The identity image automation commits as: the bot itself. */
export function automationActor(cfg: Pick<Config, "repo">): Actor {
  return { id: "automation:image", name: "image-automation", identity: cfg.repo.author };
}

/**
 * Image automation: the `ReconcilerService` configured with the `ImageReconciler` (one key, one
 * cycle per run), the interval as the controller's requeue, a cycle at `lead()`, and `rescan` for
 * the registry webhook. It runs while `lead()`ed: always without leader election, only on the
 * leader with it (`src/app/reconcilers.ts`).
 */
export class ImageService {
  readonly reconciler: ImageReconciler;
  readonly scanner: ImageScanner;
  private readonly service: ReconcilerService<ImageRequest, ImagePayload>;

  constructor(opts: ImageServiceOptions, scanner: ImageScanner, deps: ImageServiceDeps) {
    const logger = (deps.logger ?? nullLogger).child({ component: "images" });
    this.scanner = scanner;
    this.reconciler = new ImageReconciler({
      ops: deps.ops,
      scanner,
      store: new ImageStateStore(deps.record),
      actor: opts.actor,
      clusterName: opts.clusterName,
      ...(deps.frozenEnvs ? { frozenEnvs: deps.frozenEnvs } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
    const serviceOpts: ReconcilerServiceOptions<ImageRequest> = {
      noun: "image automation",
      verb: "runs image automation",
      intervalMs: opts.intervalMs,
      // A registry outage is retried with backoff, but never less often than the interval: the
      // other images of the cycle must not wait longer because one registry is down.
      maxBackoffMs: opts.intervalMs,
      initial: () => [{ reason: "start" }],
      requeueObject: (_req, why) => ({ reason: why }),
      sink: deps.sink,
      clusterName: opts.clusterName,
      logger,
    };
    if (deps.clock) serviceOpts.clock = deps.clock;
    if (deps.leader) serviceOpts.leader = deps.leader;
    this.service = new ReconcilerService(this.reconciler, serviceOpts);
  }

  /** Builds the service from the `images` section (registries, interval, platform). */
  static fromConfig(
    cfg: Pick<Config, "images" | "clusterName" | "repo">,
    deps: ImageServiceDeps,
  ): ImageService {
    const scanner =
      deps.scanner ?? imageScanner(cfg.images, registryClient(cfg.images, deps.logger ?? nullLogger));
    return new ImageService(
      { intervalMs: cfg.images.interval, clusterName: cfg.clusterName, actor: automationActor(cfg) },
      scanner,
      deps,
    );
  }

  get controller(): Controller<ImageRequest, ImagePayload> {
    return this.service.controller;
  }

  /** Starts: a cycle now, then every interval, until `signal` aborts or `pause()`. */
  lead(signal?: AbortSignal): void {
    this.service.lead(signal);
  }

  pause(): void {
    this.service.pause();
  }

  /** Runs a cycle now (or joins the running one). */
  trigger(req: ImageRequest, opts: { wait?: boolean } = {}): Promise<ReconcilerTriggerResult<ImagePayload>> {
    return this.service.trigger(req, opts);
  }

  /**
   * A registry said `repository` (`host/path`) changed: run a cycle now that lists only that
   * repository (one tag list, whatever else automation watches) and reads `tags` again (a re-pushed
   * tag gets a new digest). The cycle reads the registry itself: the notification is only a trigger.
   * `wait` (tests): resolve with the cycle's result.
   */
  rescan(
    repository: string,
    tags: readonly string[],
    actor: string,
    opts: { wait?: boolean } = {},
  ): Promise<ReconcilerTriggerResult<ImagePayload>> {
    const req: ImageRequest = { reason: "webhook", notified: [{ repository, tags: [...tags] }], actor };
    return this.service.trigger(req, { wait: opts.wait ?? false });
  }
}
