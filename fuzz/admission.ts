// `npm run fuzz [-- --quick] [--seed N] [--only CATEGORY]`: property-based fuzzing of POST /mutate on the real
// server over real TLS. Every answer is checked (fuzz/lib/invariants.ts); the process must stay
// up, answer every request within a bound, and keep its memory within the Deployment's limit.
// The last line is `fuzz: N requests, F invariant failures`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { issueServingBundle } from "../src/certs/serving.js";
import { post as postReview, startMeshTailor, type BenchServer } from "../bench/lib/servers.js";
import { generatedPods, huge, malformed, pollution, wrongTypes, type Case } from "./lib/cases.js";
import { checkAnswer, checkIdempotent, type Answer } from "./lib/invariants.js";

const quick = process.argv.includes("--quick");
const seedFlag = process.argv.indexOf("--seed");
// --quick (CI) replays the same inputs on every run, so CI never fails on a change that did not
// cause it; the full run explores new ones each time. Either prints its seed for a replay.
const QUICK_SEED = 20261123;
const seed = seedFlag !== -1 ? Number(process.argv[seedFlag + 1]) : quick ? QUICK_SEED : Date.now() % 2 ** 31;
const onlyFlag = process.argv.indexOf("--only");
const only = onlyFlag === -1 ? undefined : process.argv[onlyFlag + 1];
// Cases of each kind (a case whose answer carries a patch is sent twice): the full run takes
// about five minutes on two cores, --quick under one.
const COUNTS = quick
  ? { "generated pod": 3_000, "generated pod, rollback": 1_000, "wrong type": 3_000, "prototype pollution": 1_000, malformed: 2_000, huge: 40 }
  : { "generated pod": 15_000, "generated pod, rollback": 5_000, "wrong type": 15_000, "prototype pollution": 5_000, malformed: 10_000, huge: 250 };
const ARBITRARIES = {
  "generated pod": generatedPods,
  "generated pod, rollback": generatedPods,
  "wrong type": wrongTypes,
  "prototype pollution": pollution,
  malformed,
  huge,
};
// Sent to a second server whose policy has the system-wide rollback on: a skip-labelled pod is
// tailored there (the injection decision alone), and must be as idempotent as any other.
const UNDER_ROLLBACK: ReadonlySet<string> = new Set(["generated pod, rollback"]);
const ANSWER_BOUND_MS = 10_000;
// The Deployment's memory limit (manifests/deployment.yaml).
const MEMORY_LIMIT_MB = 384;

const POLICY = `apiVersion: mesh-tailor.io/v1alpha1
kind: TailorPolicy
defaults:
  inject: false
  proxyResources: {cpu: 100m, memory: 128Mi}
services:
  - name: reviews
    hostPassthrough: both
  - name: report
  - {name: details, revision: canary}
locality:
  default: r1.z1
jobs:
  nativeSidecar: true
`;
const ROLLBACK_POLICY = POLICY.replace("kind: TailorPolicy\n", "kind: TailorPolicy\nmesh:\n  enabled: false\n");

const post = (port: number, ca: string, body: string | Buffer): Promise<Answer> => postReview(port, ca, body, { timeoutMs: ANSWER_BOUND_MS });

interface Failure {
  category: string;
  problems: string[];
  body: string;
}

async function exercise(server: BenchServer, ca: string, item: Case, failures: Failure[]): Promise<number> {
  const record = (problems: string[]) => {
    if (problems.length > 0) failures.push({ category: item.category, problems, body: item.body.toString("utf8").slice(0, 300) });
  };
  let answer: Answer;
  try {
    answer = await post(server.port, ca, item.body);
  } catch (error) {
    record([`no answer: ${(error as Error).message}`]);
    return 1;
  }
  const checked = checkAnswer(answer, item.review);
  record(checked.problems);
  if (!item.review || checked.patched === undefined) return 1;
  const again = JSON.parse(item.body.toString("utf8")) as { request: { object: unknown } };
  again.request.object = checked.patched;
  let text: string;
  try {
    text = JSON.stringify(again);
  } catch {
    return 1; // deeper than JavaScript's own serializer goes; the first answer was checked
  }
  try {
    record(checkIdempotent(await post(server.port, ca, text)));
  } catch (error) {
    record([`no answer to the patched pod: ${(error as Error).message}`]);
  }
  return 2;
}

/** Sends CASES four at a time; returns how many requests were made. */
async function sendAll(server: BenchServer, ca: string, cases: Case[], failures: Failure[]): Promise<number> {
  let next = 0;
  let requests = 0;
  const worker = async () => {
    while (next < cases.length) {
      const made = await exercise(server, ca, cases[next++]!, failures);
      requests += made;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return requests;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mesh-tailor-fuzz-"));
  const bundle = await issueServingBundle({ hosts: ["127.0.0.1", "localhost"], days: 1 });
  const tls = { cert: join(dir, "tls.crt"), key: join(dir, "tls.key") };
  writeFileSync(tls.cert, bundle.certPem);
  writeFileSync(tls.key, bundle.keyPem);
  writeFileSync(join(dir, "policy.yaml"), POLICY);
  writeFileSync(join(dir, "rollback.yaml"), ROLLBACK_POLICY);
  const server = await startMeshTailor("fuzz", dir, tls, join(dir, "policy.yaml"));
  const rollback = await startMeshTailor("fuzz-rollback", dir, tls, join(dir, "rollback.yaml")).catch(async (error: unknown) => {
    await server.stop().catch(() => undefined);
    throw error;
  });
  const failures: Failure[] = [];
  let requests = 0;
  const started = Date.now();
  process.stdout.write(`fuzz: seed ${seed}${quick ? " (quick)" : ""}\n`);
  try {
    const canonical = JSON.stringify({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid: "canonical",
        kind: { group: "", version: "v1", kind: "Pod" },
        operation: "CREATE",
        namespace: "shop",
        object: { metadata: { labels: { app: "reviews" } }, spec: { containers: [{ name: "app" }] } },
      },
    });
    const before = await post(server.port, bundle.caPem, canonical);
    for (const [category, count] of Object.entries(COUNTS) as [keyof typeof COUNTS, number][]) {
      if (only && category !== only) continue;
      const cases = fc.sample(ARBITRARIES[category], { numRuns: count, seed: seed + category.length });
      const target = UNDER_ROLLBACK.has(category) ? rollback : server;
      const sent = await sendAll(
        target,
        bundle.caPem,
        cases.map((c) => ({ ...c, category })),
        failures,
      );
      requests += sent;
      process.stdout.write(
        `  ${category.padEnd(24)} ${String(sent).padStart(7)} requests  ${failures.filter((f) => f.category === category).length} failures  RSS ${target.memory().rssMb.toFixed(0)} MB\n`,
      );
    }
    // Nothing sent may have changed how the server answers an ordinary pod (a polluted prototype would).
    const after = await post(server.port, bundle.caPem, canonical);
    requests += 2;
    if (after.body !== before.body)
      failures.push({
        category: "global state",
        problems: ["the same review is answered differently after the fuzzing"],
        body: `${before.body}\n${after.body}`,
      });
    const memory = server.memory();
    if (memory.peakRssMb > MEMORY_LIMIT_MB)
      failures.push({ category: "memory", problems: [`peak RSS ${memory.peakRssMb.toFixed(0)} MB is over the ${MEMORY_LIMIT_MB} MB limit`], body: "" });
    process.stdout.write(`  peak RSS ${memory.peakRssMb.toFixed(0)} MB, now ${memory.rssMb.toFixed(0)} MB; ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  } finally {
    const alive = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/status`, "utf8").length > 0;
      } catch {
        return false;
      }
    };
    for (const [name, each] of [
      ["the server", server],
      ["the server under the rollback", rollback],
    ] as const) {
      if (!alive(each.pid)) failures.push({ category: "crash", problems: [`${name} process is gone`], body: "" });
      await each.stop().catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  for (const failure of failures.slice(0, 10))
    process.stdout.write(`FAIL [${failure.category}] ${failure.problems.join("; ")}\n  body: ${JSON.stringify(failure.body)}\n`);
  process.stdout.write(`fuzz: ${requests} requests, ${failures.length} invariant failures\n`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

await main();
