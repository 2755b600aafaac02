// Runs in a worker thread: parses and validates one policy text, off the serving event loop.
import { parentPort, workerData } from "node:worker_threads";
import { PolicyError, validatePolicy } from "./load.js";
import { knownVerdicts, remember, type Verdicts } from "./pattern-verdicts.js";

const { text, origin, verdicts } = workerData as { text: string; origin: string; verdicts: Verdicts };
remember(verdicts);
try {
  const policy = validatePolicy(text, origin);
  parentPort!.postMessage({ ok: true, policy, verdicts: knownVerdicts() });
} catch (error) {
  const problems = error instanceof PolicyError ? error.problems : [(error as Error).message];
  parentPort!.postMessage({ ok: false, problems, verdicts: knownVerdicts() });
}
