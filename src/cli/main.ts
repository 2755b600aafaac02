#!/usr/bin/env node
// The `mesh-tailor` executable: only wires the process to the dispatcher.
import { findCommand } from "./commands.js";
import { EXIT_FAILED } from "./command.js";

// A reader that stops early (`status --stale | head -3`) closes the pipe: what is left unsaid is
// not an error, and the command's own exit code stands.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}

const argv = process.argv.slice(2);
const declared = findCommand(argv[0]);
if (declared?.needsCluster && !argv.includes("--help") && !argv.includes("-h")) {
  // A cluster command starts resolving its credentials (most of a second for a kubeconfig)
  // before the rest of the CLI loads, so the two overlap.
  const flag = argv.findIndex((arg) => arg === "--context" || arg.startsWith("--context="));
  const context = flag === -1 ? undefined : argv[flag]!.includes("=") ? argv[flag]!.slice("--context=".length) : argv[flag + 1];
  const { prefetchCredentials } = await import("../kube/credentials.js");
  prefetchCredentials(context);
}
const { main } = await import("./run.js");

main(argv, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`mesh-tailor: ${String(error)}\n`);
    process.exitCode = EXIT_FAILED;
  },
);
