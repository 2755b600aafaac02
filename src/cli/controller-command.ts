import { chooseLogFormat, createCommandLogger } from "../logging/logger.js";
import { EXIT_OK, parseCommandLine, port, positiveInteger, type Command } from "./command.js";
import { onStopSignals } from "./stop-signals.js";

const HELP = `Usage: mesh-tailor controller [flags]

Keeps enabled namespaces as the policy wants them: a managed Sidecar named "default" in each
(namespaces.defaultSidecar), and sandbox namespaces enabled with their base (sandbox.autoEnable).
Runs with several replicas: a coordination.k8s.io Lease elects the one that acts. Serves
/healthz, /readyz and /metrics over plain HTTP. Inside a pod it uses the pod's ServiceAccount,
elsewhere the kubeconfig ($KUBECONFIG or ~/.kube/config).

Flags (environment variable in brackets):
  --config FILE          TailorPolicy YAML, hot reloaded (default: built-in) [MESH_TAILOR_CONFIG]
  --context CTX          kubeconfig context (default: the current one)
  --port N               HTTP port for probes and metrics (default 8080) [MESH_TAILOR_PORT]
  --host ADDR            address to bind (default: all)
  --namespace NS         mesh-tailor's own namespace: the Lease lives there, it is never enabled
                         (default: $POD_NAMESPACE, else mesh-tailor)
  --lease NAME           the Lease's name (default mesh-tailor-controller)
  --identity ID          this replica's name in the Lease (default: host name and a random suffix)
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
  "poll-seconds": { type: "string" },
  "log-level": { type: "string" },
} as const;

export const controllerCommand: Command = {
  name: "controller",
  summary: "keep enabled namespaces' default Sidecar and sandboxes (leader-elected)",
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommandLine(argv, FLAGS, HELP, io);
    if (!parsed) return EXIT_OK;
    const { values } = parsed;
    const env = io.env;
    const listenPort = port("--port", values.port ?? env["MESH_TAILOR_PORT"], 8080);
    const logger = await createCommandLogger(values["log-level"] ?? env["LOG_LEVEL"] ?? "info", chooseLogFormat(env, process.stdout.isTTY === true));
    const signals = onStopSignals(logger);
    try {
      // Loaded here: the Kubernetes client costs half a second that other commands need not pay.
      const { runController } = await import("../controller/run-controller.js");
      return await runController({
        configFile: values.config ?? env["MESH_TAILOR_CONFIG"],
        context: values.context,
        port: listenPort,
        host: values.host,
        ownNamespace: values.namespace ?? env["POD_NAMESPACE"] ?? "mesh-tailor",
        leaseName: values.lease ?? "mesh-tailor-controller",
        identity: values.identity,
        pollMs: positiveInteger("--poll-seconds", values["poll-seconds"], 10) * 1000,
        logger,
        stopRequested: signals.stopRequested,
      });
    } finally {
      signals.dispose();
    }
  },
};
