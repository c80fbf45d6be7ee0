/**
 * An API server that hangs: a loopback TCP server that accepts connections and never answers
 * (the worst outage: nothing fails fast), and a kubeconfig that points at it.
 */
import { writeFile } from "node:fs/promises";
import { createServer, type Socket } from "node:net";

export interface BlackHole {
  port: number;
  close(): Promise<void>;
}

export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Writes a kubeconfig for `https://127.0.0.1:<port>` (TLS not verified, a dummy token). */
export async function writeKubeconfig(path: string, port: number): Promise<void> {
  await writeFile(
    path,
    [
      "apiVersion: v1",
      "kind: Config",
      `clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:${port}\n    insecure-skip-tls-verify: true`,
      "users:\n- name: u\n  user:\n    token: not-a-real-token",
      "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u",
      "current-context: c",
      "",
    ].join("\n"),
  );
}
