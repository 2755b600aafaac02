import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "../logging/logger.js";
import { builtInPolicy, loadPolicy, PolicyError, type CompiledPolicy } from "../policy/load.js";
import { checkCertificatePair, type CertificatePair } from "../tls/certificate-pair.js";
import { FileSetWatcher, type FileSetRead } from "../util/file-set-watcher.js";
import { createApp } from "./app.js";
import { Metrics } from "./metrics.js";

export type TlsSource = { kind: "files"; certFile: string; keyFile: string } | { kind: "inline"; pair: CertificatePair };
export type PolicySource = { kind: "file"; path: string } | { kind: "built-in" };

export interface WebhookServerOptions {
  readonly port: number;
  readonly host?: string;
  readonly tls: TlsSource;
  readonly policy: PolicySource;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly pollMs?: number;
  /** After SIGTERM, keep serving (while reporting not ready) so endpoints drop this pod first. */
  readonly shutdownDelayMs?: number;
  /** Then stop accepting and give in-flight requests at most this long. */
  readonly drainTimeoutMs?: number;
}

// Modern TLS only: kube-apiserver speaks TLS 1.2 and 1.3.
export const MIN_TLS_VERSION = "TLSv1.2";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function readPolicyFile(path: string): CompiledPolicy {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new PolicyError(path, [`cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  return loadPolicy(text, path);
}

function readPair(tls: TlsSource): CertificatePair {
  if (tls.kind === "inline") return tls.pair;
  return { certPem: readFileSync(tls.certFile, "utf8"), keyPem: readFileSync(tls.keyFile, "utf8") };
}

/** The webhook process: HTTPS, hot-reloaded certificate and policy, readiness and drain. */
export class WebhookServer {
  readonly metrics: Metrics;
  private policy: CompiledPolicy;
  private shuttingDown = false;
  private stopping: Promise<void> | undefined;
  private readonly watchers: FileSetWatcher[] = [];
  private readonly server: Server;

  private constructor(
    private readonly options: WebhookServerOptions,
    initialPolicy: CompiledPolicy,
    initialPair: CertificatePair,
  ) {
    this.metrics = options.metrics ?? new Metrics();
    this.policy = initialPolicy;
    const app = createApp({
      logger: options.logger,
      metrics: this.metrics,
      currentPolicy: () => this.policy,
      notReadyReasons: () => (this.shuttingDown ? ["shutting down"] : []),
    });
    this.server = createServer({ cert: initialPair.certPem, key: initialPair.keyPem, minVersion: MIN_TLS_VERSION }, app);
    this.server.keepAliveTimeout = 65_000;
    this.server.on("tlsClientError", (error) => options.logger.debug({ err: error }, "TLS handshake failed"));
  }

  /** Loads policy and certificate (throwing with what to fix if either is bad) and listens. */
  static async start(options: WebhookServerOptions): Promise<WebhookServer> {
    const policy = options.policy.kind === "file" ? readPolicyFile(options.policy.path) : builtInPolicy();
    const pair = readPair(options.tls);
    try {
      checkCertificatePair(pair);
    } catch (error) {
      const where = options.tls.kind === "files" ? `${options.tls.certFile} / ${options.tls.keyFile}` : "generated certificate";
      throw new Error(`cannot serve TLS with ${where}: ${(error as Error).message}`);
    }
    const instance = new WebhookServer(options, policy, pair);
    await instance.listen();
    instance.watch();
    options.logger.info({ port: instance.port, policyRevision: policy.revision, policySource: options.policy.kind === "file" ? options.policy.path : "built-in", services: policy.policy.services.length }, "mesh-tailor serving");
    return instance;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get currentPolicy(): CompiledPolicy {
    return this.policy;
  }

  /** Checks the watched files now instead of waiting for an event or the poll (tests, SIGHUP). */
  async reloadNow(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.check()));
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
    if (this.options.shutdownDelayMs) await sleep(this.options.shutdownDelayMs);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = setTimeout(() => {
      logger.warn("drain timeout reached: closing remaining connections");
      this.server.closeAllConnections();
    }, this.options.drainTimeoutMs ?? 10_000);
    await closed;
    clearTimeout(deadline);
    logger.info("shut down");
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
    const { tls, policy } = this.options;
    const watchOptions = this.options.pollMs === undefined ? {} : { pollMs: this.options.pollMs };
    if (tls.kind === "files") {
      const watcher = new FileSetWatcher([tls.certFile, tls.keyFile], (read) => this.onCertificateChange(read), watchOptions);
      watcher.start([readFileSync(tls.certFile), readFileSync(tls.keyFile)]);
      this.watchers.push(watcher);
    }
    if (policy.kind === "file") {
      const watcher = new FileSetWatcher([policy.path], (read) => this.onPolicyChange(policy.path, read), watchOptions);
      watcher.start([Buffer.from(this.policy.source)]);
      this.watchers.push(watcher);
    }
  }

  private onCertificateChange(read: FileSetRead): void {
    const { logger } = this.options;
    try {
      if (!read.ok) throw read.error;
      const pair = { certPem: read.contents[0]!.toString("utf8"), keyPem: read.contents[1]!.toString("utf8") };
      const certificate = checkCertificatePair(pair);
      this.server.setSecureContext({ cert: pair.certPem, key: pair.keyPem, minVersion: MIN_TLS_VERSION });
      this.metrics.reloads.labels("certificate", "success").inc();
      logger.info({ serial: certificate.serialNumber, validTo: certificate.validTo }, "certificate reloaded: new connections use it");
    } catch (error) {
      this.metrics.reloads.labels("certificate", "failure").inc();
      logger.error({ err: { message: (error as Error).message } }, "new certificate refused; the previous one keeps serving");
    }
  }

  private onPolicyChange(path: string, read: FileSetRead): void {
    const { logger } = this.options;
    try {
      if (!read.ok) throw new PolicyError(path, [`cannot read the file (${read.error.message})`]);
      const next = loadPolicy(read.contents[0]!.toString("utf8"), path);
      this.policy = next;
      this.metrics.reloads.labels("policy", "success").inc();
      logger.info({ policyRevision: next.revision, services: next.policy.services.length, meshEnabled: next.policy.mesh.enabled }, "policy reloaded");
    } catch (error) {
      this.metrics.reloads.labels("policy", "failure").inc();
      const problems = error instanceof PolicyError ? error.problems : [(error as Error).message];
      logger.error({ problems, policyRevision: this.policy.revision }, "new policy refused; the previous one stays in force");
    }
  }
}
