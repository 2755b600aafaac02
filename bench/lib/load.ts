import autocannon from "autocannon";
import { LatencyRecorder, type LoadResult } from "./latency.js";

export type { LoadResult };

export interface LoadOptions {
  readonly port: number;
  readonly body: string;
  readonly connections: number;
  readonly durationSeconds?: number;
  /** Stop after this many requests instead of after a duration. */
  readonly amount?: number;
  /** Called about every second while the load runs. */
  readonly onTick?: () => void;
}

/**
 * Drives one server with autocannon. Latency goes into our own microsecond HDR histogram:
 * autocannon's own records whole milliseconds, too coarse for a webhook answering in one.
 */
export async function drive(options: LoadOptions): Promise<LoadResult> {
  const latencies = new LatencyRecorder();
  let instance!: autocannon.Instance;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    // The callback form returns the instance, whose "response" events carry each latency.
    instance = autocannon(
      {
        url: `https://127.0.0.1:${options.port}/mutate`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: options.body,
        connections: options.connections,
        ...(options.amount ? { amount: options.amount } : { duration: options.durationSeconds ?? 10 }),
      },
      (error: Error | null, result) => (error ? reject(error) : resolve(result)),
    );
  });
  instance.on("response", (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode === 200) latencies.recordMs(responseTimeMs);
  });
  const ticker = options.onTick ? setInterval(options.onTick, 1000) : undefined;
  try {
    const result = await finished;
    return latencies.finish(result.requests.total, result.duration, result.errors + result.timeouts + result.non2xx);
  } finally {
    if (ticker) clearInterval(ticker);
  }
}
