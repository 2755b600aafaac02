#!/usr/bin/env node
// The `mesh-tailor` executable: only wires the process to the dispatcher.
import { EXIT_FAILED } from "./command.js";
import { main } from "./run.js";

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`mesh-tailor: ${String(error)}\n`);
    process.exitCode = EXIT_FAILED;
  },
);
