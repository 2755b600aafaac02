import { spawn, type ChildProcess } from "node:child_process";
import { CLI } from "../../fixtures/serve-process.js";
import { GiveUp, waitFor } from "./processes.js";

export interface MeshTailorServe {
  readonly child: ChildProcess;
  /** Every JSON log line so far. */
  readonly logs: Record<string, any>[];
  /** The admission log entries (one per AdmissionReview answered). */
  admissions(): Record<string, any>[];
  stop(): Promise<void>;
}

/** `mesh-tailor serve` built from this repository, on a given loopback port. */
export async function startMeshTailor(options: { port: number; certFile: string; keyFile: string; policyFile: string }): Promise<MeshTailorServe> {
  const child = spawn(process.execPath, [
    CLI, "serve",
    "--host", "127.0.0.1",
    "--port", String(options.port),
    "--tls-cert", options.certFile,
    "--tls-key", options.keyFile,
    "--config", options.policyFile,
    // The rollback scenario edits the policy file; a short poll bounds how long that takes to show.
    "--poll-seconds", "1",
  ], { stdio: ["ignore", "pipe", "inherit"] });
  process.once("exit", () => child.kill("SIGKILL"));
  const logs: Record<string, any>[] = [];
  let buffer = "";
  child.stdout!.on("data", (chunk) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitFor("mesh-tailor serve to listen", 20_000, async () => {
    if (child.exitCode !== null) throw new GiveUp(`mesh-tailor serve exited ${child.exitCode}: ${JSON.stringify(logs)}`);
    return logs.some((line) => line.msg === "mesh-tailor serving") ? true : undefined;
  });
  return {
    child,
    logs,
    admissions: () => logs.filter((line) => line.admission).map((line) => ({ time: line.time, ...line.admission })),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}
