import { ApiError, KubeConfigError } from "../cluster/errors.js";
import { PolicyError } from "../policy/load.js";
import { ManifestError } from "../resources/manifest-reader.js";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, WorkError, write, type CliIO, type Command } from "./command.js";
import { certsCommand } from "./certs-command.js";
import { controllerCommand } from "./controller-command.js";
import { doctorCommand } from "./doctor-command.js";
import { explainCommand } from "./explain-command.js";
import { rolloutCommand } from "./rollout-command.js";
import { statusCommand } from "./status-command.js";
import { namespacesCommand } from "./namespaces-command.js";
import { injectCommand } from "./inject-command.js";
import { policyCommand } from "./policy-command.js";
import { renderCommand } from "./render-command.js";
import { serveCommand } from "./serve-command.js";

export const COMMANDS: readonly Command[] = [serveCommand, injectCommand, certsCommand, renderCommand, policyCommand, namespacesCommand, explainCommand, statusCommand, rolloutCommand, controllerCommand, doctorCommand];

const HELP = `Usage: mesh-tailor <command> [flags]

Tailors Istio sidecar injection: per-service migration and rollback, start-up and shutdown
ordering, locality for Service-less pods, sandbox branches, Host passthrough.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)}${c.summary}`).join("\n")}

Run \`mesh-tailor <command> --help\` for a command's flags. Installed with npm, it also runs as
a kubectl plugin: \`kubectl mesh-tailor <command>\` (the kubectl-mesh_tailor executable).
Exit codes: 0 success, 1 the work failed, 2 bad usage, 3 (status) something is stale,
130 (rollout) interrupted.`;

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    write(name === undefined ? io.stderr : io.stdout, HELP);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    write(io.stderr, `mesh-tailor: unknown command "${name}"\n\n${HELP}`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      write(io.stderr, `mesh-tailor ${command.name}: ${error.message}\nRun \`mesh-tailor ${command.name} --help\` for usage.`);
      return EXIT_USAGE;
    }
    // The work could not be done, and the message says what to fix.
    if (error instanceof WorkError || error instanceof PolicyError || error instanceof ManifestError || error instanceof KubeConfigError || error instanceof ApiError) {
      write(io.stderr, `mesh-tailor ${command.name}: ${error.message}`);
      return EXIT_FAILED;
    }
    write(io.stderr, `mesh-tailor ${command.name}: unexpected error: ${(error as Error).stack ?? String(error)}`);
    return EXIT_FAILED;
  }
}
