import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { after, before, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { waitFor } from "../e2e/harness/processes.js";
import { appPod } from "../fixtures/pods.js";
import { podCreateReview } from "../fixtures/reviews.js";
import { startServe, type ServeProcess } from "../fixtures/serve-process.js";
import type { AttackKind, AttackOptions, AttackReport } from "./harness/attacker.js";

// The webhook's availability to kube-apiserver while another client misbehaves: each attack the
// audit found (idle kept-alive connections, slow headers, raw TCP, slow uploads; and a flood of
// the probe port) runs from one address while a second client, playing kube-apiserver with a
// few kept-alive connections, sends a review every 100 ms, and a third, the kubelet, probes
// every 200 ms on new connections. Every review must be answered within the 3 s kube-apiserver
// gives the webhook (timeoutSeconds: 3), and every probe must pass.

const ATTACKER = "127.0.0.2";
const APISERVER = "127.0.0.1";
const KUBELET = "127.0.0.3";
const WEBHOOK_TIMEOUT_MS = 3_000;
const RAMP_MS = 3_000;
const MEASURE_MS = 10_000;
const REVIEW = JSON.stringify(podCreateReview(appPod()));

interface Outcome {
  readonly status: number | string;
  readonly ms: number;
}

interface Attack {
  readonly kind: AttackKind;
  readonly count: number;
  readonly target: "webhook" | "probes";
  readonly what: string;
  /** The reason the server must have counted (mesh_tailor_connections_closed_total). */
  readonly reason: string;
}

const ATTACKS: readonly Attack[] = [
  { kind: "idle-keepalive", count: 600, target: "webhook", what: "600 idle kept-alive TLS connections", reason: "address_limit" },
  { kind: "slow-headers", count: 600, target: "webhook", what: "600 connections sending headers a byte a second", reason: "address_limit" },
  { kind: "raw-tcp", count: 600, target: "webhook", what: "600 TCP connections that never start TLS", reason: "address_limit" },
  { kind: "slow-upload", count: 7, target: "webhook", what: "7 uploads declaring 7,190,235 bytes, a byte every 2 s", reason: "slow_body" },
  { kind: "idle-keepalive-plain", count: 600, target: "probes", what: "600 idle kept-alive connections to the probe port", reason: "address_limit" },
];

function startAttack(options: AttackOptions): { stop(): Promise<AttackReport> } {
  const worker = new Worker(new URL("./harness/attacker.js", import.meta.url), { workerData: options });
  const report = new Promise<AttackReport>((resolve, reject) => {
    worker.once("message", (message: AttackReport) => resolve(message));
    worker.once("error", reject);
  });
  return {
    async stop() {
      worker.postMessage("stop");
      const result = await report;
      await worker.terminate();
      return result;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the webhook under hostile clients", { timeout: 600_000 }, () => {
  let serve: ServeProcess & { port: number; caFile: string };
  let probePort: number;
  let ca: string;

  before(async () => {
    serve = await startServe(["--probe-port", "0"]);
    probePort = serve.logs.find((line) => line.msg === "mesh-tailor serving")!.probePort as number;
    ca = readFileSync(serve.caFile, "utf8");
  });

  after(async () => {
    await serve?.stop();
  });

  /** kube-apiserver: a few kept-alive connections, a review every 100 ms, whatever the last one's fate. */
  const apiserverReviews = (ms: number): Promise<Outcome[]> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 3, localAddress: APISERVER });
    const review = (): Promise<Outcome> => {
      const started = performance.now();
      return new Promise((resolve) => {
        const req = httpsRequest(
          {
            host: "127.0.0.1",
            port: serve.port,
            path: "/mutate",
            method: "POST",
            ca,
            servername: "localhost",
            agent,
            headers: { "content-type": "application/json" },
            timeout: WEBHOOK_TIMEOUT_MS,
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
          },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (error: NodeJS.ErrnoException) => resolve({ status: error.code ?? error.message, ms: performance.now() - started }));
        req.end(REVIEW);
      });
    };
    return paced(ms, 100, review).finally(() => agent.destroy());
  };

  /** The kubelet: GET /readyz on a new connection every 200 ms. */
  const probes = (ms: number): Promise<Outcome[]> =>
    paced(ms, 200, () => {
      const started = performance.now();
      return new Promise((resolve) => {
        const req = httpGet(
          { host: "127.0.0.1", port: probePort, path: "/readyz", localAddress: KUBELET, agent: false, timeout: WEBHOOK_TIMEOUT_MS },
          (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
          },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (error: NodeJS.ErrnoException) => resolve({ status: error.code ?? error.message, ms: performance.now() - started }));
      });
    });

  const closedTotal = async (listener: string, reason: string): Promise<number> => {
    const text = await new Promise<string>((resolve, reject) => {
      httpGet({ host: "127.0.0.1", port: probePort, path: "/metrics", localAddress: KUBELET, agent: false }, (res) => {
        let body = "";
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve(body));
      }).on("error", reject);
    });
    const line = text.split("\n").find((l) => l.startsWith(`mesh_tailor_connections_closed_total{listener="${listener}",reason="${reason}"}`));
    return Number(line?.split(" ").pop() ?? 0);
  };

  for (const attack of ATTACKS) {
    it(`${attack.what}: every review answered within 3 s, every probe passes`, async (t) => {
      const before = await closedTotal(attack.target, attack.reason);
      const attacker = startAttack({ kind: attack.kind, port: attack.target === "webhook" ? serve.port : probePort, count: attack.count, from: ATTACKER });
      let report: AttackReport | undefined;
      try {
        await sleep(RAMP_MS);
        const [reviews, probed] = await Promise.all([apiserverReviews(MEASURE_MS), probes(MEASURE_MS)]);
        report = await attacker.stop();
        const ms = reviews.map((r) => r.ms).sort((a, b) => a - b);
        const quantile = (q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0);
        t.diagnostic(
          `reviews ${reviews.filter((r) => r.status === 200).length}/${reviews.length} answered (p50 ${quantile(0.5)} ms, p99 ${quantile(0.99)} ms), ` +
            `probes ${probed.filter((p) => p.status === 200).length}/${probed.length}; attacker ${JSON.stringify(report)}`,
        );
        const late = reviews.filter((r) => r.status !== 200 || r.ms > WEBHOOK_TIMEOUT_MS);
        assert.ok(reviews.length >= 50, `only ${reviews.length} reviews sent in ${MEASURE_MS} ms`);
        assert.deepEqual(late, [], `${late.length} of ${reviews.length} reviews unanswered or late (attack: ${JSON.stringify(report)})`);
        const failed = probed.filter((p) => p.status !== 200 || p.ms > WEBHOOK_TIMEOUT_MS);
        assert.deepEqual(failed, [], `${failed.length} of ${probed.length} probes failed (attack: ${JSON.stringify(report)})`);
      } finally {
        report ??= await attacker.stop();
      }
      // The attack was real, and the server said what it did about it.
      if (attack.count >= 600) assert.ok(report.peakOpen >= 200, `the attacker held only ${report.peakOpen} connections at once`);
      assert.ok((await closedTotal(attack.target, attack.reason)) > before, `no connection counted as ${attack.reason} on ${attack.target}`);
    });
  }

  it("logs what it refused or closed, summed, at most once per interval", async () => {
    const summaries = await waitFor(
      "a summary of refused or closed connections in the log",
      15_000,
      () => {
        const lines = serve.logs.filter((line) => line.msg === "connections refused or closed to keep the listener available");
        return lines.length > 0 ? lines : undefined;
      },
      200,
    );
    const first = summaries[0]!;
    assert.ok(typeof first["closed"] === "object" && first["closed"] !== null);
    assert.ok(ATTACKER in (first["addresses"] as Record<string, number>), `the attacker's address is named: ${JSON.stringify(first)}`);
    // Thousands of connections refused over the suite, in a few lines per listener.
    assert.ok(summaries.length < 40, `${summaries.length} summary lines`);
  });
});

/** Calls FN every EVERY_MS for MS, never waiting for the previous call, and gathers the outcomes. */
async function paced<T>(ms: number, everyMs: number, fn: () => Promise<T>): Promise<T[]> {
  const pending: Promise<T>[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    pending.push(fn());
    await sleep(everyMs);
  }
  return Promise.all(pending);
}
