#!/usr/bin/env node
// The `mesh-tailor` executable: only wires the process to the dispatcher.
import { prefetchCredentials } from "../cluster/credentials.js";
import { EXIT_FAILED } from "./command.js";

// Commands that talk to a cluster start resolving its credentials (a worker thread, most of a
// second) before the rest of the CLI loads, so the two overlap.
const CLUSTER_COMMANDS = new Set(["namespaces", "explain", "status", "rollout", "controller", "doctor"]);
const argv = process.argv.slice(2);
if (CLUSTER_COMMANDS.has(argv[0] ?? "") && !argv.includes("--help") && !argv.includes("-h")) {
  const flag = argv.findIndex((arg) => arg === "--context" || arg.startsWith("--context="));
  const context = flag === -1 ? undefined : argv[flag]!.includes("=") ? argv[flag]!.slice("--context=".length) : argv[flag + 1];
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
