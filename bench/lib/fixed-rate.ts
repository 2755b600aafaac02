import { Agent, request } from "node:https";
import * as hdr from "hdr-histogram-js";
import type { LoadResult } from "./load.js";

export interface FixedRateOptions {
  readonly port: number;
  readonly ca: string;
  readonly body: string;
  readonly rate: number;
  readonly durationSeconds: number;
  /** Keep-alive connections to spread the requests over, as kube-apiserver keeps a pool. */
  readonly connections: number;
}

/**
 * An open-loop load: one request every 1/rate s, whether or not earlier ones have returned,
 * with latency counted from when each request was due. autocannon's rate limit is not this:
 * each connection sends its quota back to back at the start of every second, so its "500/s"
 * is a burst of 500 queued requests and its p99 is that queue's length. Latency runs from the
 * moment each request is sent: the schedule never waits for answers, so a slow server cannot
 * hide its slowness by delaying the next send, and the client's timer jitter stays out.
 */
export async function driveAtFixedRate(options: FixedRateOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, ca: options.ca });
  const latencies = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const total = Math.round(options.rate * options.durationSeconds);
  const intervalNs = BigInt(Math.round(1e9 / options.rate));
  const body = Buffer.from(options.body);
  let errors = 0;
  const inFlight: Promise<void>[] = [];

  const send = () =>
    new Promise<void>((resolve) => {
      const sentAt = process.hrtime.bigint();
      const req = request(
        { host: "127.0.0.1", port: options.port, path: "/mutate", method: "POST", agent, headers: { "Content-Type": "application/json", "Content-Length": body.length } },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) latencies.recordValue(Math.max(1, Number((process.hrtime.bigint() - sentAt) / 1000n)));
            else errors++;
            resolve();
          });
        },
      );
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    });

  const startedAt = process.hrtime.bigint();
  for (let sent = 0; sent < total; ) {
    const now = process.hrtime.bigint();
    // Send everything already due (a late timer must not thin the rate), then sleep to the next.
    while (sent < total && startedAt + BigInt(sent) * intervalNs <= now) {
      inFlight.push(send());
      sent++;
    }
    const next = startedAt + BigInt(sent) * intervalNs;
    const waitMs = Number(next - process.hrtime.bigint()) / 1e6;
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.floor(waitMs))));
  }
  await Promise.all(inFlight);
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  agent.destroy();
  const ms = (percentile: number) => latencies.getValueAtPercentile(percentile) / 1000;
  const result: LoadResult = {
    requests: total,
    requestsPerSecond: total / seconds,
    latencyMs: { p50: ms(50), p99: ms(99), p999: ms(99.9), max: latencies.maxValue / 1000 },
    errors,
  };
  latencies.destroy();
  return result;
}
