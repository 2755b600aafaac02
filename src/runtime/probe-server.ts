import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ProbeServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Plain HTTP for the probe app, bound apart from any other traffic so that nothing else can
 * starve the kubelet's probes. Small bounds: its clients are the kubelet and Prometheus.
 */
export async function startProbeServer(options: {
  readonly port: number;
  readonly host?: string | undefined;
  readonly app: RequestListener;
}): Promise<ProbeServer> {
  const server: Server = createServer(options.app);
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 65_000;
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
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
