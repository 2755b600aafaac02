import autocannon from "autocannon";
import * as hdr from "hdr-histogram-js";

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

export interface LoadResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly p999: number; readonly max: number };
  readonly errors: number;
}

/**
 * Drives one server with autocannon. Latency goes into our own microsecond HDR histogram:
 * autocannon's own records whole milliseconds, too coarse for a webhook answering in one.
 */
export async function drive(options: LoadOptions): Promise<LoadResult> {
  const latencies = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
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
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
  instance.on("response", (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode === 200) latencies.recordValue(Math.max(1, Math.round(responseTimeMs * 1000)));
  });
  const ticker = options.onTick ? setInterval(options.onTick, 1000) : undefined;
  try {
    const result = await finished;
    const ms = (percentile: number) => latencies.getValueAtPercentile(percentile) / 1000;
    return {
      requests: result.requests.total,
      requestsPerSecond: result.requests.total / result.duration,
      latencyMs: { p50: ms(50), p99: ms(99), p999: ms(99.9), max: latencies.maxValue / 1000 },
      errors: result.errors + result.timeouts + result.non2xx,
    };
  } finally {
    if (ticker) clearInterval(ticker);
    latencies.destroy();
  }
}
