// Runs in a worker thread: parses and validates one policy text, off the serving event loop.
import { parentPort, workerData } from "node:worker_threads";
import { PolicyError, validatePolicy } from "./load.js";

const { text, origin } = workerData as { text: string; origin: string };
try {
  parentPort!.postMessage({ ok: true, policy: validatePolicy(text, origin) });
} catch (error) {
  const problems = error instanceof PolicyError ? error.problems : [(error as Error).message];
  parentPort!.postMessage({ ok: false, problems });
}
