/**
 * Where `valuesFrom` is read: ConfigMaps and Secrets of the same git revision first (what the sync
 * applied with it), then the cluster (objects made elsewhere, e.g. a sealed secret's output);
 * chart files from the resolved chart directory; external sources over http(s) with a timeout.
 */
import { readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { TransientError } from "../../core/errors.js";
import type { ValuesSourceReader } from "../../helm/values.js";
import type { KubeClient, KubeObject } from "../../kube/client.js";

function configMapData(o: KubeObject): Record<string, string> {
  return { ...((o.data ?? {}) as Record<string, string>) };
}

function secretData(o: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((o.data ?? {}) as Record<string, string>)) {
    out[k] = Buffer.from(String(v), "base64").toString("utf8");
  }
  for (const [k, v] of Object.entries((o.stringData ?? {}) as Record<string, string>)) out[k] = String(v);
  return out;
}

export function valuesReader(opts: {
  objects: ReadonlyMap<string, KubeObject>;
  kube: KubeClient;
  /** The chart directory (for chartFileRef); undefined for packaged charts. */
  chartDir: string | undefined;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}): ValuesSourceReader {
  const fromCluster = async (kind: "ConfigMap" | "Secret", namespace: string, name: string) => {
    const o = await opts.kube.get(
      { apiVersion: "v1", kind, namespace, name },
      opts.signal ? { signal: opts.signal } : {},
    );
    return o ? (kind === "ConfigMap" ? configMapData(o) : secretData(o)) : undefined;
  };
  return {
    async configMap(namespace, name) {
      const o = opts.objects.get(`ConfigMap/${namespace}/${name}`);
      return o ? configMapData(o) : fromCluster("ConfigMap", namespace, name);
    },
    async secret(namespace, name) {
      const o = opts.objects.get(`Secret/${namespace}/${name}`);
      return o ? secretData(o) : fromCluster("Secret", namespace, name);
    },
    async chartFile(path) {
      if (!opts.chartDir) return undefined;
      const rel = posix.normalize(path);
      if (rel.startsWith("..") || rel.startsWith("/")) return undefined;
      return readFile(join(opts.chartDir, ...rel.split("/")), "utf8").catch(() => undefined);
    },
    async external(url) {
      if (!/^https?:\/\//.test(url)) return undefined;
      let res: Response;
      try {
        res = await (opts.fetch ?? fetch)(url, { signal: AbortSignal.timeout(30_000) });
      } catch (err) {
        throw new TransientError(`values source ${url.replace(/\/\/[^/@]*@/, "//***@")} unreachable`, {
          cause: err,
        });
      }
      return res.ok ? res.text() : undefined;
    },
  };
}
