import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueServingBundle } from "../certs/serving.js";
import { chooseLogFormat, createCommandLogger } from "../logging/logger.js";
import { PolicyError } from "../policy/load.js";
import type { TlsSource, WebhookServer } from "../server/webhook-server.js";
import { onStopSignals } from "../runtime/stop-signals.js";
import { EXIT_OK, nonNegativeInteger, parseCommandLine, port, positiveInteger, UsageError, WorkError, type Command } from "./command.js";

const HELP = `Usage: mesh-tailor serve [flags]

Serves the mutating admission webhook over HTTPS: POST /mutate, GET /healthz, /readyz, /metrics;
with --probe-port, also the last three over plain HTTP on a port of their own.
With no TLS flags it generates an in-memory CA and serving certificate (development only);
with no --config it uses the built-in policy. Certificate and policy files are hot reloaded.

Flags (environment variable in brackets):
  --port N                    HTTPS port (default 8443) [MESH_TAILOR_PORT]
  --host ADDR                 address to bind (default: all) [MESH_TAILOR_HOST]
  --probe-port N              HTTP port for probes and metrics alone (default: none) [MESH_TAILOR_PROBE_PORT]
  --tls-cert FILE             PEM certificate (chain) to serve [MESH_TAILOR_TLS_CERT]
  --tls-key FILE              PEM private key of that certificate [MESH_TAILOR_TLS_KEY]
  --config FILE               TailorPolicy YAML [MESH_TAILOR_CONFIG]
  --poll-seconds N            also re-read certificate and policy every N s (default 10)
  --shutdown-delay-seconds N  on SIGTERM, keep serving while not ready for N s (default 0)
  --drain-timeout-seconds N   then give in-flight requests at most N s (default 10)
  --log-level LEVEL           pino level: debug, info, warn, error (default info) [LOG_LEVEL]

Logs are JSON lines, or readable lines when stdout is a terminal; LOG_FORMAT=json|pretty chooses.`;

const FLAGS = {
  port: { type: "string" },
  host: { type: "string" },
  "probe-port": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  config: { type: "string" },
  "poll-seconds": { type: "string" },
  "shutdown-delay-seconds": { type: "string" },
  "drain-timeout-seconds": { type: "string" },
  "log-level": { type: "string" },
} as const;

const LOCAL_HOSTS = ["localhost", "127.0.0.1", "::1"];

async function ephemeralTls(): Promise<{ tls: TlsSource; caFile: string }> {
  const bundle = await issueServingBundle({ hosts: LOCAL_HOSTS, days: 7 });
  const caFile = join(tmpdir(), `mesh-tailor-ca-${process.pid}.pem`);
  writeFileSync(caFile, bundle.caPem, { mode: 0o644 });
  return { tls: { kind: "inline", pair: { certPem: bundle.certPem, keyPem: bundle.keyPem } }, caFile };
}

export const serveCommand: Command = {
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommandLine(argv, FLAGS, HELP, io);
    if (!parsed) return EXIT_OK;
    const { values } = parsed;
    const env = io.env;
    const listenPort = port("--port", values.port ?? env["MESH_TAILOR_PORT"], 8443);
    const probeValue = values["probe-port"] ?? env["MESH_TAILOR_PROBE_PORT"];
    const probePort = probeValue === undefined ? undefined : port("--probe-port", probeValue, 0);
    if (probePort !== undefined && probePort !== 0 && probePort === listenPort) throw new UsageError("--probe-port must differ from --port");
    const certFile = values["tls-cert"] ?? env["MESH_TAILOR_TLS_CERT"];
    const keyFile = values["tls-key"] ?? env["MESH_TAILOR_TLS_KEY"];
    if (Boolean(certFile) !== Boolean(keyFile))
      throw new UsageError("--tls-cert and --tls-key go together: give both, or neither for a generated development certificate");
    const configFile = values.config ?? env["MESH_TAILOR_CONFIG"];
    const pollSeconds = positiveInteger("--poll-seconds", values["poll-seconds"], 10);
    const shutdownDelaySeconds = nonNegativeInteger(
      "--shutdown-delay-seconds",
      values["shutdown-delay-seconds"] ?? env["MESH_TAILOR_SHUTDOWN_DELAY_SECONDS"],
      0,
    );
    const drainTimeoutSeconds = positiveInteger("--drain-timeout-seconds", values["drain-timeout-seconds"], 10);
    const level = values["log-level"] ?? env["LOG_LEVEL"] ?? "info";
    const logger = await createCommandLogger(level, chooseLogFormat(env, process.stdout.isTTY === true));

    // Signals are handled from here on, before anything slow: a SIGHUP while starting reloads
    // nothing (there is nothing yet), a SIGTERM while starting stops the server once it is up,
    // and a second SIGTERM while draining is noted, never a reason to skip the drain.
    let server: WebhookServer | undefined;
    const signals = onStopSignals(logger);
    const reload = (): void => {
      if (server) void server.reloadNow();
      else logger.info("SIGHUP while starting: the files are read once start-up finishes");
    };
    process.on("SIGHUP", reload);
    logger.info({ pid: process.pid }, "mesh-tailor starting");
    try {
      let tls: TlsSource;
      let ephemeralCa: { caFile: string } | undefined;
      if (certFile && keyFile) {
        tls = { kind: "files", certFile, keyFile };
      } else {
        const generated = await ephemeralTls();
        tls = generated.tls;
        ephemeralCa = generated;
      }

      try {
        // Loaded here: the HTTP stack is the webhook's alone, and other commands start quicker without it.
        const { WebhookServer } = await import("../server/webhook-server.js");
        server = await WebhookServer.start({
          port: listenPort,
          probePort,
          ...((values.host ?? env["MESH_TAILOR_HOST"]) ? { host: values.host ?? env["MESH_TAILOR_HOST"]! } : {}),
          tls,
          policyFile: configFile,
          logger,
          pollMs: pollSeconds * 1000,
          shutdownDelayMs: shutdownDelaySeconds * 1000,
          drainTimeoutMs: drainTimeoutSeconds * 1000,
        });
      } catch (error) {
        if (ephemeralCa) rmSync(ephemeralCa.caFile, { force: true });
        const message =
          error instanceof PolicyError
            ? `${error.message}\nFix the policy (see \`mesh-tailor policy default\`) or omit --config to use the built-in one.`
            : (error as Error).message;
        throw new WorkError(message);
      }

      if (ephemeralCa) {
        logger.warn(
          { caFile: ephemeralCa.caFile },
          `development mode: generated an in-memory serving certificate for ${LOCAL_HOSTS.join(", ")}; trust ${ephemeralCa.caFile}, e.g. ` +
            `curl --cacert ${ephemeralCa.caFile} https://localhost:${server.port}/healthz ; ` +
            `curl --cacert ${ephemeralCa.caFile} -H 'Content-Type: application/json' --data @examples/admission-review.json https://localhost:${server.port}/mutate`,
        );
      }
      await signals.stopRequested;
      await server.shutdown();
      if (ephemeralCa) rmSync(ephemeralCa.caFile, { force: true });
      return EXIT_OK;
    } finally {
      signals.dispose();
      process.off("SIGHUP", reload);
    }
  },
};
