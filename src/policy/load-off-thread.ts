import { Worker } from "node:worker_threads";
import { compilePolicy, PolicyError, type CompiledPolicy } from "./load.js";
import { knownVerdicts, remember, type Verdicts } from "./pattern-verdicts.js";
import type { TailorPolicy } from "./schema.js";

type WorkerAnswer = ({ ok: true; policy: TailorPolicy } | { ok: false; problems: string[] }) & { verdicts: Verdicts };

// A 1 MiB policy takes about a second of YAML parsing: done here, the server keeps answering.
// The heap bound keeps a hostile document from costing the process more than this; a 1 MiB
// policy of 20,000 entries needs between 64 and 96 MB.
const WORKER_HEAP_MB = 128;

/** loadPolicy in a worker thread: the same result, without blocking the caller's event loop. */
export function loadPolicyOffThread(text: string, origin: string): Promise<CompiledPolicy> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./validate-worker.js", import.meta.url), {
      // The namespace patterns already judged, so the worker does not judge them again.
      workerData: { text, origin, verdicts: knownVerdicts() },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    let settled = false;
    worker.once("message", (answer: WorkerAnswer) => {
      settled = true;
      void worker.terminate();
      remember(answer.verdicts);
      if (answer.ok) resolve(compilePolicy(answer.policy, text));
      else reject(new PolicyError(origin, answer.problems));
    });
    worker.once("error", (error) => {
      settled = true;
      reject(new PolicyError(origin, [`could not be parsed: ${error.message}`]));
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new PolicyError(origin, [`the policy parser stopped (exit ${code}) before it answered`]));
    });
  });
}
