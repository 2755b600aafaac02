import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { X509Certificate } from "node:crypto";
import type { Logger } from "../logging/logger.js";
import type { CompiledPolicy } from "../policy/load.js";
import { ConnectionBudget } from "../runtime/connection-budget.js";
import { PolicySource } from "../runtime/policy-source.js";
import { createProbeApp } from "../runtime/probe-app.js";
import { startProbeServer, type ProbeServer } from "../runtime/probe-server.js";
import { checkCertificatePair, type CertificatePair } from "../tls/certificate-pair.js";
import { TLS_SETTINGS } from "../tls/settings.js";
import { FileSetWatcher, type FileSetRead } from "../util/file-set-watcher.js";
import { createApp } from "./app.js";
import { DEFAULT_LIMITS, TIMEOUT_CHECK_INTERVAL_MS, type ServerLimits } from "./limits.js";
import { Metrics } from "./metrics.js";

export type TlsSource = { kind: "files"; certFile: string; keyFile: string } | { kind: "inline"; pair: CertificatePair };
/** The policy file, hot reloaded; undefined for the built-in policy. */
export type PolicyFile = string | undefined;

export interface WebhookServerOptions {
  readonly port: number;
  readonly host?: string;
  /**
   * Plain HTTP for /healthz, /readyz and /metrics alone, apart from admission traffic, so the
   * kubelet and Prometheus are never starved by it (the HTTPS port serves them too). None when
   * undefined.
   */
  readonly probePort?: number | undefined;
  readonly tls: TlsSource;
  readonly policyFile: PolicyFile;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly pollMs?: number;
  /** After SIGTERM, keep serving (while reporting not ready) so endpoints drop this pod first. */
  readonly shutdownDelayMs?: number;
  /** Then stop accepting and give in-flight requests at most this long. */
  readonly drainTimeoutMs?: number;
  /** Overrides of DEFAULT_LIMITS (tests use small ones). */
  readonly limits?: Partial<ServerLimits>;
}

// A Secret, like a ConfigMap, holds at most 1 MiB: a larger certificate file is not one.
const MAX_CERTIFICATE_FILE_BYTES = 1024 * 1024;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function readPair(tls: TlsSource): CertificatePair {
  if (tls.kind === "inline") return tls.pair;
  return { certPem: readFileSync(tls.certFile, "utf8"), keyPem: readFileSync(tls.keyFile, "utf8") };
}

const expiresAt = (certificate: X509Certificate): number => Date.parse(certificate.validTo) / 1000;

/** The webhook process: HTTPS, hot-reloaded certificate and policy, readiness and drain. */
export class WebhookServer {
  readonly metrics: Metrics;
  private readonly policy: PolicySource;
  private shuttingDown = false;
  private stopping: Promise<void> | undefined;
  private readonly watchers: FileSetWatcher[] = [];
  private readonly server: Server;
  private readonly connections: ConnectionBudget;
  private probes: ProbeServer | undefined;

  private constructor(
    private readonly options: WebhookServerOptions,
    metrics: Metrics,
    policy: PolicySource,
    initialPair: CertificatePair,
  ) {
    this.metrics = metrics;
    this.policy = policy;
    const limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.connections = new ConnectionBudget({
      listener: "webhook",
      caps: { total: limits.maxConnections, perAddress: limits.maxConnectionsPerAddress },
      tls: true,
      metrics: metrics.connections,
      logger: options.logger,
    });
    const app = createApp({
      logger: options.logger,
      metrics: this.metrics,
      currentPolicy: () => this.policy.current,
      notReadyReasons: () => this.notReadyReasons(),
      limits,
      onSlowBody: (address) => this.connections.closed("slow_body", address),
    });
    this.server = createServer(
      {
        ...TLS_SETTINGS,
        cert: initialPair.certPem,
        key: initialPair.keyPem,
        handshakeTimeout: limits.handshakeTimeoutMs,
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      },
      (req, res) => {
        // While shutting down, every answer closes its connection, so no client picks a kept-alive
        // connection just as the server closes it (a reset, not an answer).
        if (this.shuttingDown) res.setHeader("Connection", "close");
        app(req, res);
      },
    );
    this.connections.attach(this.server);
    this.server.on("tlsClientError", (error) => options.logger.debug({ err: error }, "TLS handshake failed"));
  }

  /** Loads policy and certificate (throwing with what to fix if either is bad) and listens. */
  static async start(options: WebhookServerOptions): Promise<WebhookServer> {
    const metrics = options.metrics ?? new Metrics();
    const policy = await PolicySource.open({
      file: options.policyFile,
      logger: options.logger,
      pollMs: options.pollMs,
      registry: metrics.registry,
      reloads: metrics.reloads,
    });
    const pair = readPair(options.tls);
    let certificate: X509Certificate;
    try {
      certificate = checkCertificatePair(pair);
    } catch (error) {
      const where = options.tls.kind === "files" ? `${options.tls.certFile} / ${options.tls.keyFile}` : "generated certificate";
      throw new Error(`cannot serve TLS with ${where}: ${(error as Error).message}`, { cause: error });
    }
    const instance = new WebhookServer(options, metrics, policy, pair);
    instance.metrics.certificateExpiry.set(expiresAt(certificate));
    await instance.listen();
    if (options.probePort !== undefined) await instance.listenForProbes(options.probePort);
    instance.watch();
    options.logger.info(
      {
        port: instance.port,
        probePort: instance.probes?.port,
        policyRevision: policy.current.revision,
        policySource: policy.origin,
        services: policy.current.policy.services.length,
      },
      "mesh-tailor serving",
    );
    return instance;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The probe listener's port, when there is one. */
  get probePort(): number | undefined {
    return this.probes?.port;
  }

  get currentPolicy(): CompiledPolicy {
    return this.policy.current;
  }

  /** Checks the watched files now instead of waiting for an event or the poll (tests, SIGHUP). */
  async reloadNow(): Promise<void> {
    await Promise.all([...this.watchers.map((w) => w.check()), this.policy.check()]);
  }

  /** Not ready at once, then stop accepting, then finish in-flight requests within the bound. */
  shutdown(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    const { logger } = this.options;
    this.shuttingDown = true;
    logger.info({ delayMs: this.options.shutdownDelayMs ?? 0 }, "shutting down: reporting not ready");
    for (const watcher of this.watchers) watcher.close();
    this.policy.close();
    if (this.options.shutdownDelayMs) await sleep(this.options.shutdownDelayMs);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = setTimeout(() => {
      logger.warn("drain timeout reached: closing remaining connections");
      this.server.closeAllConnections();
    }, this.options.drainTimeoutMs ?? 10_000);
    await closed;
    clearTimeout(deadline);
    this.connections.close();
    await this.probes?.close();
    logger.info("shut down");
  }

  private notReadyReasons(): string[] {
    return this.shuttingDown ? ["shutting down"] : [];
  }

  private async listenForProbes(port: number): Promise<void> {
    const { logger } = this.options;
    this.probes = await startProbeServer({
      port,
      host: this.options.host,
      app: createProbeApp({ registry: this.metrics.registry, notReadyReasons: () => this.notReadyReasons(), logger }),
      registry: this.metrics.registry,
      logger,
      connectionMetrics: this.metrics.connections,
    });
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  private watch(): void {
    const { tls } = this.options;
    const poll = this.options.pollMs === undefined ? {} : { pollMs: this.options.pollMs };
    if (tls.kind === "files") {
      const watcher = new FileSetWatcher([tls.certFile, tls.keyFile], (read) => this.onCertificateChange(read), {
        ...poll,
        maxBytes: MAX_CERTIFICATE_FILE_BYTES,
      });
      watcher.start([readFileSync(tls.certFile), readFileSync(tls.keyFile)]);
      this.watchers.push(watcher);
    }
  }

  private onCertificateChange(read: FileSetRead): void {
    const { logger } = this.options;
    try {
      if (!read.ok) throw read.error;
      const pair = { certPem: read.contents[0]!.toString("utf8"), keyPem: read.contents[1]!.toString("utf8") };
      const certificate = checkCertificatePair(pair);
      this.server.setSecureContext({ ...TLS_SETTINGS, cert: pair.certPem, key: pair.keyPem });
      this.metrics.reloads.labels("certificate", "success").inc();
      this.metrics.certificateExpiry.set(expiresAt(certificate));
      logger.info({ serial: certificate.serialNumber, validTo: certificate.validTo }, "certificate reloaded: new connections use it");
    } catch (error) {
      this.metrics.reloads.labels("certificate", "failure").inc();
      logger.error({ err: { message: (error as Error).message } }, "new certificate refused; the previous one keeps serving");
    }
  }
}
