// npm run bench [-- --quick] [-- --profile] [-- --out FILE]
//
// mesh-tailor's real server against the floor for its stack (a bare node:https server with
// the same TLS settings answering a precomputed response of the same bytes), each in its own
// process, driven alternately by the same autocannon load with the same bodies. Only ratios
// measured side by side in one run mean anything on a shared machine.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import type { AdmissionReview } from "../src/admission/types.js";
import { issueServingBundle } from "../src/certs/serving.js";
import { loadPolicy } from "../src/policy/load.js";
import { benchBodies, type Body } from "./lib/bodies.js";
import { summarizeCpuProfile, type ProfileSummary } from "./lib/cpu-profile.js";
import { driveAtFixedRate } from "./lib/fixed-rate.js";
import { drive, type LoadResult } from "./lib/load.js";
import { policyWithServices } from "./lib/policies.js";
import { post, startFloor, startMeshTailor, type BenchServer } from "./lib/servers.js";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const profile = argv.includes("--profile");
const outIndex = argv.indexOf("--out");
const outFile = outIndex >= 0 && argv[outIndex + 1] ? argv[outIndex + 1]! : join("bench", quick ? "last-quick-run.json" : "last-run.json");

const PLAN = quick
  ? { warmupSeconds: 1, rounds: 1, seconds: 4, fixedRateSeconds: 5, sizeRounds: 2, sizeSeconds: 3, soakRequests: 20_000 }
  : { warmupSeconds: 3, rounds: 3, seconds: 10, fixedRateSeconds: 20, sizeRounds: 3, sizeSeconds: 10, soakRequests: 100_000 };
const CONNECTIONS = 10;
const FIXED_RATE = 500;
const REALISTIC_SERVICES = 300;

const BARS = { throughputRatio: 0.6, fixedRateP99Ms: 5, policySizeP99Growth: 0.1, rssMb: 150, rssGrowthMb: 10 };

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const say = (line: string) => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Median of each figure over several runs of the same load. */
function combine(results: LoadResult[]): LoadResult {
  return {
    requests: results.reduce((sum, r) => sum + r.requests, 0),
    requestsPerSecond: round(median(results.map((r) => r.requestsPerSecond)), 0),
    latencyMs: {
      p50: round(median(results.map((r) => r.latencyMs.p50)), 3),
      p99: round(median(results.map((r) => r.latencyMs.p99)), 3),
      p999: round(median(results.map((r) => r.latencyMs.p999)), 3),
      max: round(Math.max(...results.map((r) => r.latencyMs.max)), 3),
    },
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}

async function precomputeResponses(server: BenchServer, ca: string, bodies: Body[]): Promise<Record<number, string>> {
  const responses: Record<number, string> = {};
  for (const body of bodies) {
    const answer = await post(server.port, ca, body.json);
    const review = JSON.parse(answer.body) as AdmissionReview;
    if (answer.status !== 200 || review.response?.allowed !== true) throw new Error(`mesh-tailor answered ${answer.status} to ${body.name}: ${answer.body}`);
    responses[Buffer.byteLength(body.json)] = answer.body;
  }
  return responses;
}

async function throughput(servers: BenchServer[], bodies: Body[]) {
  const runs = new Map<string, LoadResult[]>();
  for (let r = 0; r < PLAN.rounds; r++) {
    for (const body of bodies) {
      // Alternate who goes first, so neither always runs on a machine the other just warmed.
      const order = r % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) {
        progress(`round ${r + 1}/${PLAN.rounds}: ${server.name}, ${body.name}, ${PLAN.seconds}s`);
        const result = await drive({ port: server.port, body: body.json, connections: CONNECTIONS, durationSeconds: PLAN.seconds });
        const key = `${server.name}|${body.name}`;
        runs.set(key, [...(runs.get(key) ?? []), result]);
      }
    }
  }
  return (server: BenchServer, body: Body) => combine(runs.get(`${server.name}|${body.name}`)!);
}

async function policySizeComparison(dir: string, tls: { cert: string; key: string }, ca: string, body: Body) {
  const sizes = [5, 5000];
  const servers: BenchServer[] = [];
  for (const size of sizes) {
    const file = join(dir, `policy-${size}.yaml`);
    writeFileSync(file, policyWithServices(size));
    servers.push(await startMeshTailor(`mesh-tailor-${size}-services`, dir, tls, file));
  }
  const runs: LoadResult[][] = sizes.map(() => []);
  try {
    for (const server of servers) await drive({ port: server.port, body: body.json, connections: CONNECTIONS, durationSeconds: PLAN.warmupSeconds });
    for (let r = 0; r < PLAN.sizeRounds; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const index of order) {
        progress(`policy size round ${r + 1}/${PLAN.sizeRounds}: ${sizes[index]} services at ${FIXED_RATE} req/s`);
        runs[index]!.push(
          await driveAtFixedRate({
            port: servers[index]!.port,
            ca,
            body: body.json,
            connections: CONNECTIONS,
            durationSeconds: PLAN.sizeSeconds,
            rate: FIXED_RATE,
          }),
        );
      }
    }
  } finally {
    for (const server of servers) await server.stop();
  }
  const [small, large] = runs.map(combine) as [LoadResult, LoadResult];
  return { services: sizes, small, large, p99Growth: round(large.latencyMs.p99 / small.latencyMs.p99 - 1, 3) };
}

async function soak(server: BenchServer, body: Body) {
  const samples: number[] = [];
  progress(`soak: ${PLAN.soakRequests} requests to ${server.name}`);
  const result = await drive({
    port: server.port,
    body: body.json,
    connections: CONNECTIONS,
    amount: PLAN.soakRequests,
    onTick: () => samples.push(server.memory().rssMb),
  });
  samples.push(server.memory().rssMb);
  // Growth after the first fifth: start-up, JIT and pool warm-up are not a leak.
  const settled = samples[Math.floor(samples.length / 5)] ?? samples[0]!;
  const end = samples.at(-1)!;
  return {
    requests: result.requests,
    errors: result.errors,
    rssMb: { settled: round(settled, 1), end: round(end, 1), max: round(Math.max(...samples), 1) },
    growthMb: round(end - settled, 1),
  };
}

async function profileHotPath(dir: string, tls: { cert: string; key: string }, policyFile: string, body: Body): Promise<ProfileSummary> {
  const profileDir = join(dir, "cpu-profile");
  mkdirSync(profileDir);
  const server = await startMeshTailor("mesh-tailor-profiled", dir, tls, policyFile, ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]);
  progress(`profiling ${server.name} for ${PLAN.seconds}s (${body.name})`);
  await drive({ port: server.port, body: body.json, connections: CONNECTIONS, durationSeconds: PLAN.seconds });
  await server.stop();
  return summarizeCpuProfile(profileDir);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ")).join("\n");
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mesh-tailor-bench-"));
  const started: BenchServer[] = [];
  try {
    const bundle = await issueServingBundle({ hosts: ["127.0.0.1"], days: 1 });
    const tls = { cert: join(dir, "tls.crt"), key: join(dir, "tls.key") };
    writeFileSync(tls.cert, bundle.certPem);
    writeFileSync(tls.key, bundle.keyPem);
    const policyFile = join(dir, "policy.yaml");
    const realisticPolicy = policyWithServices(REALISTIC_SERVICES);
    loadPolicy(realisticPolicy, policyFile); // fail here, with the reason, rather than in the server
    writeFileSync(policyFile, realisticPolicy);
    const bodies = benchBodies();

    const meshTailor = await startMeshTailor("mesh-tailor", dir, tls, policyFile);
    started.push(meshTailor);
    const responsesFile = join(dir, "responses.json");
    writeFileSync(responsesFile, JSON.stringify(await precomputeResponses(meshTailor, bundle.caPem, bodies)));
    const floor = await startFloor(dir, tls, responsesFile);
    started.push(floor);
    for (const body of bodies) {
      const [ours, bare] = await Promise.all([post(meshTailor.port, bundle.caPem, body.json), post(floor.port, bundle.caPem, body.json)]);
      if (ours.body.length !== bare.body.length) throw new Error(`the floor's response to ${body.name} is not the size of mesh-tailor's`);
    }
    const servers = [floor, meshTailor];
    for (const server of servers)
      for (const body of bodies) await drive({ port: server.port, body: body.json, connections: CONNECTIONS, durationSeconds: PLAN.warmupSeconds });

    const figures = await throughput(servers, bodies);
    const afterIstio = bodies.find((b) => b.name === "after-istio")!;
    progress(`fixed rate: ${FIXED_RATE} req/s for ${PLAN.fixedRateSeconds}s (${afterIstio.name})`);
    const fixedRate = await driveAtFixedRate({
      port: meshTailor.port,
      ca: bundle.caPem,
      body: afterIstio.json,
      connections: CONNECTIONS,
      durationSeconds: PLAN.fixedRateSeconds,
      rate: FIXED_RATE,
    });
    const policySize = await policySizeComparison(dir, tls, bundle.caPem, afterIstio);
    const soakResult = await soak(meshTailor, afterIstio);
    const memory = Object.fromEntries(servers.map((s) => [s.name, s.memory()]));
    const hotPath = profile ? await profileHotPath(dir, tls, policyFile, afterIstio) : undefined;

    const perBody = bodies.map((body) => {
      const ours = figures(meshTailor, body);
      const bare = figures(floor, body);
      return {
        body: body.name,
        description: body.description,
        requestBytes: Buffer.byteLength(body.json),
        meshTailor: ours,
        floor: bare,
        throughputRatio: round(ours.requestsPerSecond / bare.requestsPerSecond, 3),
      };
    });
    const ratio = Math.min(...perBody.map((b) => b.throughputRatio));
    const errors =
      perBody.reduce((sum, b) => sum + b.meshTailor.errors + b.floor.errors, 0) +
      fixedRate.errors +
      policySize.small.errors +
      policySize.large.errors +
      soakResult.errors;
    const bars = {
      throughputRatio: { value: ratio, bar: `>= ${BARS.throughputRatio}`, met: ratio >= BARS.throughputRatio },
      fixedRateP99Ms: { value: fixedRate.latencyMs.p99, bar: `<= ${BARS.fixedRateP99Ms}`, met: fixedRate.latencyMs.p99 <= BARS.fixedRateP99Ms },
      policySizeP99Growth: { value: policySize.p99Growth, bar: `<= ${BARS.policySizeP99Growth}`, met: policySize.p99Growth <= BARS.policySizeP99Growth },
      peakRssMb: { value: round(memory["mesh-tailor"]!.peakRssMb, 1), bar: `< ${BARS.rssMb}`, met: memory["mesh-tailor"]!.peakRssMb < BARS.rssMb },
      soakRssGrowthMb: { value: soakResult.growthMb, bar: `< ${BARS.rssGrowthMb}`, met: soakResult.growthMb < BARS.rssGrowthMb },
      errors: { value: errors, bar: "= 0", met: errors === 0 },
    };
    const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", memoryGb: round(totalmem() / 2 ** 30, 1) };
    const report = {
      date: new Date().toISOString(),
      mode: quick ? "quick" : "full",
      machine,
      plan: { ...PLAN, connections: CONNECTIONS, fixedRate: FIXED_RATE, realisticPolicyServices: REALISTIC_SERVICES },
      perBody,
      fixedRate: { rate: FIXED_RATE, body: afterIstio.name, ...fixedRate },
      policySize,
      soak: soakResult,
      memory,
      bars,
      ...(hotPath ? { profile: hotPath } : {}),
    };
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);

    say(
      `mesh-tailor bench (${report.mode}) on ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}; ${CONNECTIONS} connections; policy of ${REALISTIC_SERVICES} services`,
    );
    say(
      table([
        ["body", "server", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "peak RSS MB"],
        ...perBody.flatMap((b) =>
          (["meshTailor", "floor"] as const).map((key) => {
            const r = b[key];
            const name = key === "meshTailor" ? "mesh-tailor" : "floor";
            return [
              b.body,
              name,
              String(r.requestsPerSecond),
              String(r.latencyMs.p50),
              String(r.latencyMs.p99),
              String(r.latencyMs.p999),
              String(r.errors),
              String(round(memory[name]!.peakRssMb, 1)),
            ];
          }),
        ),
      ]),
    );
    for (const b of perBody) say(`throughput ratio ${b.body}: ${b.throughputRatio}`);
    say(
      `fixed ${FIXED_RATE} req/s (${afterIstio.name}): p50 ${fixedRate.latencyMs.p50} ms, p99 ${fixedRate.latencyMs.p99} ms, p99.9 ${fixedRate.latencyMs.p999} ms`,
    );
    say(
      `policy size at ${FIXED_RATE} req/s: p99 ${policySize.small.latencyMs.p99} ms with 5 services, ${policySize.large.latencyMs.p99} ms with 5000 (${round(policySize.p99Growth * 100, 1)} %)`,
    );
    say(
      `soak ${soakResult.requests} requests: RSS ${soakResult.rssMb.settled} MB settled, ${soakResult.rssMb.end} MB at the end (max ${soakResult.rssMb.max})`,
    );
    if (hotPath) {
      say(`profile (${hotPath.file}), self time by area: ${hotPath.byArea.map((a) => `${a.name} ${a.selfPercent}%`).join(", ")}`);
      say(
        `heaviest functions: ${hotPath.byFunction
          .slice(0, 8)
          .map((f) => `${f.name} ${f.selfPercent}%`)
          .join("; ")}`,
      );
    }
    say(
      `bars: ${Object.entries(bars)
        .map(([name, b]) => `${name} ${b.value} (${b.bar}) ${b.met ? "met" : "MISSED"}`)
        .join("; ")}`,
    );
    say(`figures written to ${outFile}`);
    say(`mutate/floor throughput ratio: ${ratio}`);
  } finally {
    for (const server of started) await server.stop().catch(() => undefined);
    // A profiled run keeps its directory: the .cpuprofile opens in Chrome DevTools.
    if (!profile) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
