import { chooseLogFormat, createCommandLogger } from "../logging/logger.js";
import { onStopSignals } from "../runtime/stop-signals.js";
import { duration, EXIT_OK, parseCommandLine, port, positiveInteger, UsageError, type Command } from "./command.js";

const HELP = `Usage: mesh-tailor controller [flags]

Keeps enabled namespaces as the policy wants them: a managed Sidecar named "default" in each
(namespaces.defaultSidecar), and sandbox namespaces enabled with their base (sandbox.autoEnable).
Runs with several replicas: a coordination.k8s.io Lease elects the one that acts. Serves
/healthz, /readyz and /metrics over plain HTTP. Inside a pod it uses the pod's ServiceAccount,
elsewhere the kubeconfig ($KUBECONFIG or ~/.kube/config).

Flags (environment variable in brackets):
  --config FILE          TailorPolicy YAML, hot reloaded (default: the installed ConfigMap
                         NS/mesh-tailor-policy, read again every poll, else built-in) [MESH_TAILOR_CONFIG]
  --context CTX          kubeconfig context (default: the current one)
  --port N               HTTP port for probes and metrics (default 8080) [MESH_TAILOR_PORT]
  --host ADDR            address to bind (default: all)
  --namespace NS         mesh-tailor's own namespace: the Lease lives there, it is never enabled
                         (default: $POD_NAMESPACE, else mesh-tailor)
  --lease NAME           the Lease's name (default mesh-tailor-controller)
  --identity ID          this replica's name in the Lease (default: host name and a random suffix)
  --lease-duration D     how long a candidate waits for the leader's lease to go unrenewed (15s)
  --renew-deadline D     how long the leader keeps trying to renew before it stops acting (10s)
  --retry-period D       how often the lease is read and renewed (2s)
  --poll-seconds N       also re-read the policy every N s (default 10)
  --log-level LEVEL      pino level (default info) [LOG_LEVEL]

Logs are JSON lines, or readable lines when stdout is a terminal; LOG_FORMAT=json|pretty chooses.`;

const FLAGS = {
  config: { type: "string" },
  context: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  namespace: { type: "string" },
  lease: { type: "string" },
  identity: { type: "string" },
  "lease-duration": { type: "string" },
  "renew-deadline": { type: "string" },
  "retry-period": { type: "string" },
  "poll-seconds": { type: "string" },
  "log-level": { type: "string" },
} as const;

/**
 * A controller that has stopped must not linger: if anything still holds the event loop open
 * (a socket, a timer of a library) a moment after everything was closed, the process exits anyway,
 * so that the kubelet restarts it rather than leaving a replica that neither leads nor follows.
 */
function exitEvenIfHeld(code: number, logger: { warn(message: string): void }): void {
  setTimeout(() => {
    logger.warn("still running after the controller stopped: exiting");
    process.exit(code);
  }, 2_000).unref();
}

export const controllerCommand: Command = {
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommandLine(argv, FLAGS, HELP, io);
    if (!parsed) return EXIT_OK;
    const { values } = parsed;
    const env = io.env;
    const listenPort = port("--port", values.port ?? env["MESH_TAILOR_PORT"], 8080);
    const lease = {
      leaseSeconds: duration("--lease-duration", values["lease-duration"], 15_000) / 1000,
      renewDeadlineSeconds: duration("--renew-deadline", values["renew-deadline"], 10_000) / 1000,
      retrySeconds: duration("--retry-period", values["retry-period"], 2_000) / 1000,
    };
    // client-go's rules: the leader must give up before anyone may take over, and retry in between.
    if (!(lease.retrySeconds > 0 && lease.retrySeconds < lease.renewDeadlineSeconds && lease.renewDeadlineSeconds < lease.leaseSeconds)) {
      throw new UsageError(
        `the lease timing must satisfy 0 < --retry-period < --renew-deadline < --lease-duration, got ${lease.retrySeconds}s, ${lease.renewDeadlineSeconds}s, ${lease.leaseSeconds}s`,
      );
    }
    const logger = await createCommandLogger(values["log-level"] ?? env["LOG_LEVEL"] ?? "info", chooseLogFormat(env, process.stdout.isTTY === true));
    const signals = onStopSignals(logger);
    try {
      // Loaded here: the Kubernetes client costs half a second that other commands need not pay.
      const { runController } = await import("../controller/run-controller.js");
      const code = await runController({
        configFile: values.config ?? env["MESH_TAILOR_CONFIG"],
        context: values.context,
        port: listenPort,
        host: values.host,
        ownNamespace: values.namespace ?? env["POD_NAMESPACE"] ?? "mesh-tailor",
        leaseName: values.lease ?? "mesh-tailor-controller",
        identity: values.identity,
        lease,
        pollMs: positiveInteger("--poll-seconds", values["poll-seconds"], 10) * 1000,
        logger,
        stopRequested: signals.stopRequested,
      });
      exitEvenIfHeld(code, logger);
      return code;
    } finally {
      signals.dispose();
    }
  },
};
