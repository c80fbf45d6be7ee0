/**
 * Container image references: `[registry/]path[:tag][@digest]`. The registry is the first path
 * component when it contains `.` or `:` or is `localhost` (Docker's rule), so `localhost:5000/x:y`
 * has registry `localhost:5000`, path `x`, tag `y`. `format(parse(s)) === s` for every valid ref.
 */

/** A parsed image reference; fields absent in the text stay undefined (no defaults applied). */
export interface ImageRef {
  /** `ghcr.io`, `localhost:5000`; undefined for Docker Hub short forms like `nginx`. */
  registry?: string;
  /** `stefanprodan/podinfo`, `library/nginx`, `nginx`. */
  path: string;
  tag?: string;
  /** `sha256:…` */
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

/** True for a valid tag (Docker's grammar: up to 128 chars of `[A-Za-z0-9_.-]`, not starting with `.`/`-`). */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** Parses an image reference; returns undefined when it is not one. */
export function parseImageRef(text: string): ImageRef | undefined {
  if (text.length === 0 || text.length > 512 || /\s/.test(text)) return undefined;
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  // A colon after the last slash separates the tag; one before it belongs to a registry port.
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  let registry: string | undefined;
  const firstSlash = rest.indexOf("/");
  if (firstSlash >= 0) {
    const first = rest.slice(0, firstSlash);
    if (first.includes(".") || first.includes(":") || first === "localhost" || /[A-Z]/.test(first)) {
      registry = first;
      rest = rest.slice(firstSlash + 1);
      if (!HOST.test(registry)) return undefined;
    }
  }
  if (rest.length === 0 || !rest.split("/").every((c) => COMPONENT.test(c))) return undefined;
  const ref: ImageRef = { path: rest };
  if (registry !== undefined) ref.registry = registry;
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** Formats a reference exactly as parsed (no defaults added). */
export function formatImageRef(ref: ImageRef): string {
  let s = ref.registry !== undefined ? `${ref.registry}/${ref.path}` : ref.path;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The repository part (registry + path, no tag or digest), as written. */
export function repositoryOf(ref: ImageRef): string {
  return ref.registry !== undefined ? `${ref.registry}/${ref.path}` : ref.path;
}

/** Applies Docker's defaults: registry `docker.io`, `library/` for single-component paths, tag
 * `latest` when neither tag nor digest is given. For comparing refs and talking to registries. */
export function normalizeImageRef(ref: ImageRef): Required<Pick<ImageRef, "registry" | "path">> & ImageRef {
  let registry = ref.registry ?? "docker.io";
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = "docker.io";
  const path = registry === "docker.io" && !ref.path.includes("/") ? `library/${ref.path}` : ref.path;
  const out: Required<Pick<ImageRef, "registry" | "path">> & ImageRef = { registry, path };
  if (ref.tag !== undefined) out.tag = ref.tag;
  else if (ref.digest === undefined) out.tag = "latest";
  if (ref.digest !== undefined) out.digest = ref.digest;
  return out;
}

/** True when two repository strings name the same repository after defaults
 * (`nginx` = `docker.io/library/nginx`). */
export function sameRepository(a: string, b: string): boolean {
  const pa = parseImageRef(a);
  const pb = parseImageRef(b);
  if (!pa || !pb) return a === b;
  const na = normalizeImageRef({ ...pa, tag: undefined, digest: undefined });
  const nb = normalizeImageRef({ ...pb, tag: undefined, digest: undefined });
  return na.registry === nb.registry && na.path === nb.path;
}

/** Replaces the tag of a `repo[:tag][@digest]` string, dropping any digest (it pinned the old image). */
export function withTag(image: string, tag: string): string | undefined {
  const ref = parseImageRef(image);
  if (!ref) return undefined;
  const out: ImageRef = { path: ref.path, tag };
  if (ref.registry !== undefined) out.registry = ref.registry;
  return formatImageRef(out);
}
