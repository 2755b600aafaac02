import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../logging/logger.js";
import { ConnectionBudget } from "./connection-budget.js";
import { ConnectionMetrics } from "./connection-metrics.js";

export interface ProbeServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Its clients are the kubelet and Prometheus: a few connections each. Any one address may hold
 * a quarter, so a pod that floods the port (it is reachable from the cluster, for Prometheus)
 * cannot take the kubelet's probes with it.
 */
export const PROBE_CONNECTIONS = { total: 64, perAddress: 16 } as const;

/**
 * Plain HTTP for the probe app, bound apart from any other traffic so that nothing else can
 * starve the kubelet's probes, its connections booked per client address (ConnectionBudget).
 */
export async function startProbeServer(options: {
  readonly port: number;
  readonly host?: string | undefined;
  readonly app: RequestListener;
  /** Where the connection metrics go (the app's registry), and who logs what is refused. */
  readonly registry: Registry;
  readonly logger: Logger;
  /** When the process has a ConnectionMetrics on that registry already (the webhook's). */
  readonly connectionMetrics?: ConnectionMetrics | undefined;
}): Promise<ProbeServer> {
  const server: Server = createServer(options.app);
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 65_000;
  const budget = new ConnectionBudget({
    listener: "probes",
    caps: PROBE_CONNECTIONS,
    tls: false,
    metrics: options.connectionMetrics ?? new ConnectionMetrics(options.registry),
    logger: options.logger,
  });
  budget.attach(server);
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
        budget.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
