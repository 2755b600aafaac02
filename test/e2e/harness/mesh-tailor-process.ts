import type { AdmissionLog } from "../../../src/server/mutate-handler.js";
import { spawnServe, type ServeProcess } from "../../fixtures/serve-process.js";

/** An admission log entry, with the log line's time. */
export type AdmissionEntry = AdmissionLog & { time?: number | undefined };

export interface MeshTailorServe extends ServeProcess {
  /** The admission log entries (one per AdmissionReview answered), with the log line's time. */
  admissions(): AdmissionEntry[];
}

/** `mesh-tailor serve` built from this repository, on a given loopback port. */
export async function startMeshTailor(options: { port: number; certFile: string; keyFile: string; policyFile: string }): Promise<MeshTailorServe> {
  // prettier-ignore
  const serve = await spawnServe(
    [
      "--host", "127.0.0.1",
      "--port", String(options.port),
      "--tls-cert", options.certFile,
      "--tls-key", options.keyFile,
      "--config", options.policyFile,
      // The rollback scenario edits the policy file; a short poll bounds how long that takes to show.
      "--poll-seconds", "1",
    ],
    (logs) => logs.some((line) => line.msg === "mesh-tailor serving"),
  );
  return {
    ...serve,
    admissions: () => serve.logs.filter((line) => line.admission).map((line) => ({ time: line.time, ...(line.admission as AdmissionLog) })),
  };
}
