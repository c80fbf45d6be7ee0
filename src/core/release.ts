/**
 * The release model users think in (issue #2 "Release discovery"): environments, apps, and for
 * each app in each env its workload, images, chart and policies. Built from the config repo by
 * `src/gitops/discovery.ts`; read by commands, reconcilers, notifications and reports.
 */

/** A tag filter as written in the annotation: `glob:dev-*`, `semver:~0.4`, `regex:^v\d+$`. */
export interface TagFilter {
  kind: "glob" | "semver" | "regex";
  expr: string;
}

/** Where an image reference lives in the file, so setters can change exactly that value. */
export interface ImageLocation {
  /** YAML path inside the document, e.g. `["spec","values","image","tag"]`. */
  tagPath: (string | number)[];
  /** Path of the repository value when separate from the tag; absent when `repo:tag` is one string. */
  repositoryPath?: (string | number)[];
  /** Path of the registry value when separate (HelmRelease `values.image.registry`). */
  registryPath?: (string | number)[];
}

export interface ContainerImage {
  /** Container name: the container's `name`, `chart-image` for a HelmRelease top-level image,
   * the sub-key for a nested HelmRelease image, or the alias of `repository.fluxcd.io/<alias>`. */
  container: string;
  /** Repository without tag, with registry when present: `ghcr.io/stefanprodan/podinfo`. */
  repository: string;
  tag: string;
  location: ImageLocation;
  /** The tag filter that applies to this container, if any. */
  filter?: TagFilter;
  /** Set when the container's filter annotation is invalid (the message says why); `filter` is then
   * absent, and automation must stall this container instead of reading it as the default `glob:*`. */
  filterError?: string;
}

export type WorkloadKind = "HelmRelease" | "Deployment" | "StatefulSet" | "DaemonSet" | "CronJob";

export interface ChartSource {
  /** `git` (chart from a path in a git repo), `helm-repo`, or Flux v2 `source-ref`. */
  type: "git" | "helm-repo" | "source-ref";
  name?: string;
  version?: string;
  /** For git charts. */
  git?: string;
  path?: string;
  ref?: string;
  repository?: string;
}

export interface Lock {
  user?: string;
  message?: string;
  since?: string;
}

export interface Policies {
  automated: boolean;
  locked: Lock | null;
  /** Annotation prefix this file uses: `fluxcd.io` or legacy `flux.weave.works`. */
  prefix: "fluxcd.io" | "flux.weave.works";
}

export interface Workload {
  kind: WorkloadKind;
  apiVersion: string;
  name: string;
  namespace: string;
  /** Repo-relative path of the file holding it, and the document index inside the file. */
  file: string;
  docIndex: number;
  /** HelmRelease only. */
  releaseName?: string;
  chart?: ChartSource;
  images: ContainerImage[];
  policies: Policies;
}

/** One app in one environment. */
export interface AppInstance {
  app: string;
  env: string;
  workload: Workload;
  /** Other names users may type for this app (a HelmRelease named after its file keeps its chart's name). */
  aliases?: string[];
}

/** A problem found while reading the repo; it affects only `file` (and the app in it). */
export interface DiscoveryProblem {
  file: string;
  message: string;
  hint?: string;
  app?: string;
  env?: string;
}

/** A frozen env (`freeze <env>`, recorded in `.gitops-bot/freezes.yaml`): no automation there. */
export interface EnvFreeze {
  env: string;
  reason?: string;
  /** Who froze it (`name <email>` of the chat user). */
  by?: string;
  /** Since when (ISO time). */
  at?: string;
}

export interface ReleaseModel {
  /** The commit the model was read from. */
  revision: string;
  envs: string[];
  apps: string[];
  instances: AppInstance[];
  problems: DiscoveryProblem[];
  /** The frozen envs at this revision (absent when the model was built without them). */
  freezes?: EnvFreeze[];
  /** Mistakes in the freezes file (kept apart from `problems`: they name no workload file). */
  freezeProblems?: DiscoveryProblem[];
}

/** Finds the instance of `app` in `env` (by name, else by alias), or undefined. */
export function findInstance(model: ReleaseModel, app: string, env: string): AppInstance | undefined {
  return (
    model.instances.find((i) => i.app === app && i.env === env) ??
    model.instances.find((i) => i.env === env && i.aliases?.includes(app))
  );
}
