import { ApiError, KubeConfigError } from "../kube/errors.js";
import { PolicyError } from "../policy/load.js";
import { ManifestError } from "../resources/manifest-reader.js";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, WorkError, write, type CliIO } from "./command.js";
import { COMMANDS, findCommand } from "./commands.js";

// The longest name and two spaces: names never run into their summaries.
const NAME_WIDTH = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;

const HELP = `Usage: mesh-tailor <command> [flags]

Tailors Istio sidecar injection: per-service migration and rollback, start-up and shutdown
ordering, locality for Service-less pods, sandbox branches, Host passthrough.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(NAME_WIDTH)}${c.summary}`).join("\n")}

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
  const declared = findCommand(name);
  if (!declared) {
    write(io.stderr, `mesh-tailor: unknown command "${name}"\n\n${HELP}`);
    return EXIT_USAGE;
  }
  const command = { name: declared.name, ...(await declared.load()) };
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      write(io.stderr, `mesh-tailor ${command.name}: ${error.message}\nRun \`mesh-tailor ${command.name} --help\` for usage.`);
      return EXIT_USAGE;
    }
    // The work could not be done, and the message says what to fix.
    if (
      error instanceof WorkError ||
      error instanceof PolicyError ||
      error instanceof ManifestError ||
      error instanceof KubeConfigError ||
      error instanceof ApiError
    ) {
      write(io.stderr, `mesh-tailor ${command.name}: ${error.message}`);
      return EXIT_FAILED;
    }
    write(io.stderr, `mesh-tailor ${command.name}: unexpected error: ${(error as Error).stack ?? String(error)}`);
    return EXIT_FAILED;
  }
}
