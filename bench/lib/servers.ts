import { spawn, type ChildProcess } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const FLOOR = fileURLToPath(new URL("../floor-server.js", import.meta.url));

export interface BenchServer {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  /** Resident set size now, and the peak since start (VmRSS and VmHWM), in MB. */
  memory(): { rssMb: number; peakRssMb: number };
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.once("exit", () => children.forEach((child) => child.kill("SIGKILL")));

function procStatusMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : NaN;
}

/**
 * Starts a server process whose stdout goes to LOGFILE (a file, as container logs go to a
 * pipe the runtime drains, so the benchmark's own process spends nothing on them) and waits
 * for the JSON line that names its port.
 */
async function startLogged(name: string, args: string[], logFile: string, ready: string): Promise<BenchServer> {
  const out = openSync(logFile, "w");
  const child = spawn(process.execPath, args, { stdio: ["ignore", out, "inherit"] });
  children.add(child);
  const deadline = Date.now() + 20_000;
  let port: number | undefined;
  while (port === undefined) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`${name} did not start; see ${logFile}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const line of readFileSync(logFile, "utf8").split("\n")) {
      if (line.includes(ready)) port = (JSON.parse(line) as { port: number }).port;
    }
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name,
    port,
    pid: child.pid!,
    memory: () => ({ rssMb: procStatusMb(child.pid!, "VmRSS"), peakRssMb: procStatusMb(child.pid!, "VmHWM") }),
    async stop() {
      child.kill("SIGTERM");
      await exited;
      children.delete(child);
    },
  };
}

export function startMeshTailor(
  name: string,
  dir: string,
  tls: { cert: string; key: string },
  policyFile: string,
  nodeFlags: string[] = [],
): Promise<BenchServer> {
  return startLogged(
    name,
    [...nodeFlags, CLI, "serve", "--host", "127.0.0.1", "--port", "0", "--tls-cert", tls.cert, "--tls-key", tls.key, "--config", policyFile],
    join(dir, `${name}.log`),
    "mesh-tailor serving",
  );
}

export function startFloor(dir: string, tls: { cert: string; key: string }, responsesFile: string): Promise<BenchServer> {
  return startLogged("floor", [FLOOR, tls.cert, tls.key, responsesFile], join(dir, "floor.log"), "floor serving");
}

/** One POST of BODY to /mutate, trusting CA; resolves with the status and the response, or fails after TIMEOUT_MS. */
export function post(port: number, ca: string, body: string | Buffer, options: { timeoutMs?: number } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/mutate",
        method: "POST",
        ca,
        headers: { "Content-Type": "application/json" },
        ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
      },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (data += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}
