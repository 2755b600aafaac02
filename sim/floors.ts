// What the simulation's figures are held against, measured in the same run on the same cluster:
// what kubectl alone costs for the same answer. `status` cannot be quicker than a paged LIST of
// what it reads; `rollout` cannot be quicker than the controllers that replace the pods, which
// `kubectl rollout restart` and `kubectl rollout status` also wait for.
import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { COLLECTIONS } from "../src/ops/snapshot.js";
import { STATUS_COLLECTIONS } from "../src/ops/status.js";

/** The cluster-wide LISTs `status` makes (a policy's ambient extras aside), by path: both floors read these. */
const STATUS_PATHS = STATUS_COLLECTIONS.map((collection) => COLLECTIONS[collection]);
/** The same kinds as `kubectl get` names them: each path's last segment. */
const STATUS_KINDS = STATUS_PATHS.map((path) => path.slice(path.lastIndexOf("/") + 1)).join(",");

export interface Timed {
  readonly seconds: number;
  /** API requests kubectl logged (-v=6 prints one line per response). */
  readonly apiRequests: number;
}

// kubectl -v=6 logs a line per response: "GET https://... 200 OK in 3 milliseconds" up to 1.32,
// `"Response" verb="GET" url=...` after it.
const RESPONSE = /(?:\b(?:GET|PATCH|POST|PUT|DELETE) https?:\/\/\S+ \d{3}\b)|(?:"Response" verb=)/;

/** Runs kubectl ARGS against KUBECONFIG with its output dropped (kept off the heap), counting the requests it made. */
export function kubectl(kubeconfig: string, args: readonly string[]): Promise<Timed> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn("kubectl", [...args, "-v=6"], { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ["ignore", "ignore", "pipe"] });
    let requests = 0;
    let pending = "";
    let tail = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (RESPONSE.test(line)) requests += 1;
      tail = (tail + chunk).slice(-2000);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (RESPONSE.test(pending)) requests += 1;
      if (code !== 0) return reject(new Error(`kubectl ${args.join(" ")} exited ${code}: ${tail}`));
      resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, apiRequests: requests });
    });
  });
}

/** The bare read `status` makes: every kind it reads, cluster-wide, in pages of 500, as JSON. */
export const bareList = (kubeconfig: string): Promise<Timed> => kubectl(kubeconfig, ["get", STATUS_KINDS, "-A", "--chunk-size=500", "-o", "json"]);

const RAW_LIST = fileURLToPath(new URL("./raw-list.js", import.meta.url));

/**
 * The same kinds as `bareList` in the same pages, read raw: fetched and parsed as any client must,
 * without kubectl's printer, which at 20,000 pods costs more than the reads themselves.
 */
export function rawList(kubeconfig: string): Promise<Timed> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [RAW_LIST, ...STATUS_PATHS],
      { env: { ...process.env, KUBECONFIG: kubeconfig }, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`the raw paged LISTs failed: ${stderr.slice(-2000)}`));
        resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, apiRequests: Number(stdout.trim()) });
      },
    );
  });
}

export interface Target {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
}

/**
 * What an operator would script: `kubectl rollout restart`, then `kubectl rollout status`, for
 * each of TARGETS, at most MAXINFLIGHT at once; the first failure stops it. Answers its wall
 * time and the requests both made.
 */
export async function kubectlRolloutLoop(kubeconfig: string, targets: readonly Target[], maxInFlight: number): Promise<Timed & { readonly restarted: number }> {
  const started = process.hrtime.bigint();
  const queue = [...targets];
  let requests = 0;
  let restarted = 0;
  let failed = false;
  const worker = async () => {
    for (let target = queue.shift(); target && !failed; target = queue.shift()) {
      const ref = `${target.kind.toLowerCase()}/${target.name}`;
      try {
        const restart = await kubectl(kubeconfig, ["rollout", "restart", ref, "-n", target.namespace]);
        const wait = await kubectl(kubeconfig, ["rollout", "status", ref, "-n", target.namespace, "--timeout=10m"]);
        requests += restart.apiRequests + wait.apiRequests;
        restarted += 1;
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(maxInFlight, targets.length) }, worker));
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, apiRequests: requests, restarted };
}

/** The median of an odd number of values. */
export const median = (values: readonly number[]): number => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
