import { Agent, request } from "node:https";
import { LatencyRecorder, type LoadResult } from "./latency.js";

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
  const latencies = new LatencyRecorder();
  const total = Math.round(options.rate * options.durationSeconds);
  const intervalNs = BigInt(Math.round(1e9 / options.rate));
  const body = Buffer.from(options.body);
  let errors = 0;
  const inFlight: Promise<void>[] = [];

  const send = () =>
    new Promise<void>((resolve) => {
      const sentAt = process.hrtime.bigint();
      const req = request(
        {
          host: "127.0.0.1",
          port: options.port,
          path: "/mutate",
          method: "POST",
          agent,
          headers: { "Content-Type": "application/json", "Content-Length": body.length },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) latencies.recordMs(Number(process.hrtime.bigint() - sentAt) / 1e6);
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
  for (let sent = 0; sent < total;) {
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
  return latencies.finish(total, seconds, errors);
}
