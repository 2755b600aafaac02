import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface HealthServerOptions {
  readonly port: number;
  readonly host?: string | undefined;
  readonly registry: Registry;
  /** Why the process is not ready; empty when it is. */
  readonly notReadyReasons: () => readonly string[];
}

/** Plain HTTP /healthz, /readyz and /metrics for the kubelet's probes and Prometheus. */
export async function startHealthServer(options: HealthServerOptions): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const reasons = options.notReadyReasons();
      res.writeHead(reasons.length === 0 ? 200 : 503, { "Content-Type": "text/plain" }).end(reasons.length === 0 ? "ready\n" : `not ready: ${reasons.join("; ")}\n`);
    } else if (path === "/metrics") {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { "Content-Type": options.registry.contentType }).end(text),
        (error: Error) => res.writeHead(500, { "Content-Type": "text/plain" }).end(`metrics failed: ${error.message}\n`),
      );
    } else {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
    }
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
