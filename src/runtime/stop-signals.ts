import type { Logger } from "pino";

/**
 * SIGTERM and SIGINT as one "stop" request: the first one resolves stopRequested, a second one
 * is only noted (it is never a reason to skip draining). Installed before anything slow starts.
 */
export function onStopSignals(logger: Logger): { stopRequested: Promise<void>; dispose(): void } {
  let received: NodeJS.Signals | undefined;
  let resolve!: () => void;
  const stopRequested = new Promise<void>((r) => (resolve = r));
  const stop = (signal: NodeJS.Signals): void => {
    if (received) {
      logger.info({ signal }, "already shutting down: in-flight work is still being finished");
      return;
    }
    received = signal;
    logger.info({ signal }, "signal received");
    resolve();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  return {
    stopRequested,
    dispose() {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
    },
  };
}
