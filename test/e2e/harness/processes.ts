import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createServer } from "node:net";

// Every process the suite starts, so that a failing test, a thrown hook or an interrupted run
// still leaves no etcd or kube-apiserver behind.
const running = new Set<ChildProcess>();

function killAll(): void {
  for (const child of running) child.kill("SIGKILL");
}
process.once("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

export interface Started {
  readonly child: ChildProcess;
  /** Last lines of the process's output, for failure messages. */
  tail(): string;
  stop(): Promise<void>;
}

/** Spawns a long-running process whose output goes to LOGFILE (and a short in-memory tail). */
export function startProcess(command: string, args: readonly string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Started {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
  running.add(child);
  const log = createWriteStream(logFile);
  let recent = "";
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    recent = (recent + chunk.toString()).slice(-4000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // Never rejects: the bookkeeping runs on its own, whoever awaits the exit.
  void exited.then(() => {
    running.delete(child);
    log.end();
  });
  return {
    child,
    tail: () => recent,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A port the kernel just handed out on loopback; free again once this returns. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Thrown from a waitFor check to stop waiting at once (the awaited process has died). */
export class GiveUp extends Error {}

/** Polls CHECK (synchronous or not) until it returns a value other than undefined, or fails after TIMEOUTMS with WHAT. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => T | undefined | Promise<T | undefined>, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The JSON lines a command printed (rollout's events without a terminal), each as T; other lines skipped. */
export const jsonLines = <T>(stdout: string): T[] =>
  stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as T);
