// The scale simulation (`npm run sim`, `-- --quick` for CI): a real control plane that runs
// workloads on kwok nodes, 2,000 services migrated into the mesh in waves, 10 % rolled back, the
// rest upgraded to a new Istio revision by moving their revision tag, then moved from their
// sidecars to ambient in the same waves, with mesh-tailor's webhook, controller and CLI as an
// operator would run them. `--scale N` runs N times the workloads; `status` and `rollout` are
// measured against what kubectl alone costs on the same cluster (floors.ts). Reports the numbers
// in a table and sim/last-run.json; the last line is the summary CI reads.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { request } from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AppsV1Api,
  BatchV1Api,
  CustomObjectsApi,
  type KubernetesObject,
  type V1CronJob,
  type V1Deployment,
  type V1PodTemplateSpec,
  type V1StatefulSet,
} from "@kubernetes/client-node";
import type { StaleReasonName } from "../src/ops/stale-reasons.js";
import type { StatusReport } from "../src/ops/status.js";
import { serviceAccountKubeconfig, startController } from "../test/e2e/harness/controller-process.js";
import { REPO, startMeshCluster, type MeshCluster } from "../test/e2e/harness/mesh-cluster.js";
import { waitFor } from "../test/e2e/harness/processes.js";
import { CLI } from "../test/fixtures/serve-process.js";
import { bareList, kubectlRolloutLoop, median, rawList, type Timed } from "./floors.js";

const quick = process.argv.includes("--quick");
/** --scale N: N times the workloads and pods, the same shape (1 unless given). */
function scaleOf(argv: readonly string[]): number {
  const at = argv.indexOf("--scale");
  if (at === -1) return 1;
  const value = Number(argv[at + 1]);
  if (!Number.isInteger(value) || value < 1 || value > 20) throw new Error(`--scale takes a whole number from 1 to 20, got "${argv[at + 1] ?? ""}"`);
  return value;
}
const SCALE = scaleOf(process.argv);
// 200 namespaces, each with 9 Deployments and a StatefulSet of 2 replicas (10 services, 20 pods)
// and a CronJob: 2,000 services, 4,000 pods; 2,000 namespaces in all for the controller. --quick:
// a tenth of the services, the same shape. --scale N: N times the workload namespaces (and so the
// services and pods), 2,000 namespaces in all still.
const WORKLOAD_NAMESPACES = (quick ? 20 : 200) * SCALE;
const DEPLOYMENTS_PER_NAMESPACE = 9;
const SERVICES_PER_NAMESPACE = DEPLOYMENTS_PER_NAMESPACE + 1; // and the StatefulSet
const WORKLOADS_PER_NAMESPACE = SERVICES_PER_NAMESPACE + 1; // and the CronJob, which runs no pod in the run
const REPLICAS = 2;
const ALL_NAMESPACES = Math.max(quick ? 200 : 2000, WORKLOAD_NAMESPACES);
// The upgrade and ambient waves are proven at scale 1; at a larger scale each would add as long
// again as the migration, past the half hour the run is held to.
const EVERY_MOVE = SCALE === 1;
// From --scale 5, 50 at once: at 25, 10,000 services take a rollout over 20 minutes, and an
// operator of such an estate would widen the window. The kubectl loop gets the same.
const MAX_IN_FLIGHT = quick ? 10 : SCALE >= 5 ? 50 : 25;
const WAVES = 4;
// 3 s for status per 2,000 services (never less), whether the policy has ambient services or
// not: with them, status also reads the node agents' pods, Gateways and AuthorizationPolicies.
const SERVICES = WORKLOAD_NAMESPACES * SERVICES_PER_NAMESPACE;
const BUDGET = { statusSeconds: 3 * Math.max(1, SERVICES / 2000), controllerRssMb: 150 };
// Held from --scale 5 (10,000 services): status against the paged LISTs of what it reads, by
// kubectl and raw; rollout against an operator's kubectl loop; the controller; the webhook's p99.
const FLOOR_BUDGET = { statusOverList: 1.5, statusOverRawList: 1.5, rolloutOverKubectl: 1.0, controllerRssMbAtRest: 100, admissionP99Seconds: 0.05 };
const FLOORS_HELD = SCALE >= 5;

// Two Istio revisions, as in a canary upgrade; the services follow the tag, which moves from
// the one to the other. Both inject classic sidecars: the wave is an upgrade of the proxy alone.
const HUB = "docker.io/istio";
const REVISIONS = [
  { name: "default", nativeSidecars: false, set: [`values.global.hub=${HUB}`, "values.global.tag=1.30.3"] },
  { name: "canary", nativeSidecars: false, set: [`values.global.hub=${HUB}`, "values.global.tag=1.31.0"] },
];
const TAG = "prod";

const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";
const nsName = (i: number) => `sim-${String(i).padStart(4, "0")}`;
// Every simulated service in the mesh, on the tag's revision; the rolled-back tenth listed first (first match wins).
const MIGRATED = `${HEADER}services:\n  - namespace: "sim-*"\n    name: "svc-*"\n    revision: ${TAG}\n`;
const rolledBackNamespaces = Math.max(1, Math.round(WORKLOAD_NAMESPACES / 10));
const KEPT_OUT = Array.from({ length: rolledBackNamespaces }, (_, i) => `  - namespace: ${nsName(i)}\n    name: "svc-*"\n    inject: false\n`).join("");
const ROLLED_BACK = `${HEADER}services:\n${KEPT_OUT}  - namespace: "sim-*"\n    name: "svc-*"\n    revision: ${TAG}\n`;
// The ambient wave: every service still in the mesh moves from its sidecar to ambient. The
// rolled-back tenth stays out. Rolling a service back is a decision of its own, and a dataplane
// move is not the place to undo it; besides, a pod with no proxy that the policy would now put in
// ambient is stale for its policy (a migration), not for its dataplane, so
// `rollout --reason dataplane` would rightly leave it alone and the wave would not be one move.
const AMBIENT = `${HEADER}services:\n${KEPT_OUT}  - namespace: "sim-*"\n    name: "svc-*"\n    dataplane: ambient\n`;
const ambientWorkloads = (WORKLOAD_NAMESPACES - rolledBackNamespaces) * WORKLOADS_PER_NAMESPACE;
const ambientPods = (WORKLOAD_NAMESPACES - rolledBackNamespaces) * SERVICES_PER_NAMESPACE * REPLICAS;

// Ambient's node agents as Istio's charts run them, in istio-system: DaemonSets whose pods carry
// the labels mesh-tailor's gates recognise (app=ztunnel, k8s-app=istio-cni-node). On kwok
// nodes their pods run nothing but report Ready, which is all the gates read.
type Manifest = KubernetesObject & Record<string, unknown>;
const NODE_AGENTS = [
  { name: "ztunnel", labels: { app: "ztunnel" }, container: "istio-proxy", image: "istio/ztunnel:1.31" },
  { name: "istio-cni-node", labels: { "k8s-app": "istio-cni-node" }, container: "install-cni", image: "istio/install-cni:1.31" },
] as const;
const daemonSet = (agent: (typeof NODE_AGENTS)[number]): Manifest => ({
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name: agent.name, namespace: "istio-system" },
  spec: {
    selector: { matchLabels: agent.labels },
    template: { metadata: { labels: agent.labels }, spec: { containers: [{ name: agent.container, image: agent.image }] } },
  },
});

const log = (message: string) => process.stderr.write(`[sim ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const PEAK_RSS = fileURLToPath(new URL("./peak-rss.js", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "mesh-tailor-sim-"));
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
  /** The CLI process's peak resident memory, in MB (sim/peak-rss.ts). */
  peakRssMb: number;
}

function run(cluster: MeshCluster, args: string[]): Promise<Run> {
  const started = process.hrtime.bigint();
  const rssFile = join(scratch, `peak-rss-${started}`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", PEAK_RSS, CLI, ...args],
      { env: { ...process.env, KUBECONFIG: cluster.controlPlane.kubeconfigPath, MESH_TAILOR_SIM_PEAK_RSS: rssFile }, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        let peakRssMb = NaN;
        try {
          peakRssMb = mb(Number(readFileSync(rssFile, "utf8")));
          rmSync(rssFile);
        } catch {
          // The process died before its exit handler ran: no figure.
        }
        resolve({
          code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
          stdout,
          stderr,
          seconds: Number(process.hrtime.bigint() - started) / 1e9,
          peakRssMb,
        });
      },
    );
  });
}

type Status = StatusReport & { apiRequests: number; seconds: number; peakRssMb: number };

/** Each run's seconds, for the record. */
const secondsOf = (runs: readonly { seconds: number }[]) => runs.map((r) => Math.round(r.seconds * 100) / 100).join(" ");

/** Of three runs, the one of median time. */
const medianRun = <T extends { seconds: number }>(runs: readonly T[]): T => runs.slice().sort((a, b) => a.seconds - b.seconds)[1]!;

/** The median of three runs of STATUS (the cluster is busy with itself), with each run's seconds. */
async function medianOfThree(status: () => Promise<Status>): Promise<{ median: Status; runs: string }> {
  const runs = [await status(), await status(), await status()];
  return { median: medianRun(runs), runs: secondsOf(runs) };
}

/** ztunnel and istio-cni installed, each with a Ready pod on every node; resolves with the seconds it took. */
async function installNodeAgents(cluster: MeshCluster, apps: AppsV1Api): Promise<number> {
  const started = Date.now();
  for (const agent of NODE_AGENTS) await cluster.applyServerSide(daemonSet(agent));
  const nodes = (await cluster.core.listNode()).items.map((node) => node.metadata!.name!);
  await waitFor(
    `ztunnel and istio-cni Ready on each of ${nodes.length} nodes`,
    180_000,
    async () => {
      for (const agent of NODE_AGENTS) {
        const { status } = await apps.readNamespacedDaemonSet({ namespace: "istio-system", name: agent.name });
        if (status?.desiredNumberScheduled !== nodes.length || status.numberReady !== nodes.length) return undefined;
        const [key, value] = Object.entries(agent.labels)[0]!;
        const pods = (await cluster.core.listNamespacedPod({ namespace: "istio-system", labelSelector: `${key}=${value}` })).items;
        const readyOn = new Set(pods.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).map((p) => p.spec?.nodeName));
        if (!nodes.every((node) => readyOn.has(node))) return undefined;
      }
      return true;
    },
    1_000,
  );
  return (Date.now() - started) / 1000;
}

const podTemplate = (name: string): V1PodTemplateSpec => ({
  metadata: { labels: { app: name } },
  spec: { containers: [{ name: "app", image: `${name}:1`, lifecycle: { preStop: { exec: { command: ["sleep", "5"] } } } }] },
});

function deployment(name: string): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: name } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: podTemplate(name),
    },
  };
}

// A database: its pods replaced one at a time, the highest ordinal first.
function statefulSet(name: string): V1StatefulSet {
  return { metadata: { name }, spec: { replicas: REPLICAS, serviceName: name, selector: { matchLabels: { app: name } }, template: podTemplate(name) } };
}

// A nightly batch, suspended: the run's clock must not decide how many pods there are. Status
// still reads and judges its template.
function cronJob(name: string): V1CronJob {
  const template = podTemplate(name);
  return {
    metadata: { name },
    spec: {
      schedule: "0 3 * * *",
      suspend: true,
      jobTemplate: { spec: { template: { ...template, spec: { ...template.spec!, restartPolicy: "OnFailure" } } } },
    },
  };
}

/** In batches of SIZE at once: kind to a 2-core control plane, quicker than one by one. */
async function inBatches<T>(items: readonly T[], size: number, step: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(step));
}

function webhookMetrics(cluster: MeshCluster): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`https://127.0.0.1:${cluster.webhookPort}/metrics`, { ca: readFileSync(cluster.webhookCaFile), timeout: 10_000 }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The p99 of a Prometheus histogram from its cumulative buckets (the bucket bound it falls in). */
function histogramQuantile(text: string, name: string, quantile: number): { count: number; p99: number } {
  const buckets = new Map<number, number>();
  for (const line of text.split("\n")) {
    const match = new RegExp(`^${name}_bucket\\{(?:[^}]*,)?le="([^"]+)"[^}]*\\}\\s+(\\S+)$`).exec(line);
    if (!match) continue;
    const bound = match[1] === "+Inf" ? Infinity : Number(match[1]);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(match[2]));
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const count = sorted.at(-1)?.[1] ?? 0;
  const bound = sorted.find(([, cumulative]) => cumulative >= quantile * count)?.[0] ?? 0;
  return { count, p99: bound };
}

const metricSum = (text: string, name: string, labels = ""): number =>
  text.split("\n").reduce((sum, line) => {
    const match = /^([^{\s]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    return match && match[1] === name && (match[2] ?? "").includes(labels) ? sum + Number(match[3]) : sum;
  }, 0);

/** The records of earlier runs, by scale; none when the file is absent or of the older one-run form. */
function lastRuns(file: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    return "results" in parsed ? {} : parsed;
  } catch {
    return {};
  }
}

async function main(): Promise<void> {
  const workloads = WORKLOAD_NAMESPACES * WORKLOADS_PER_NAMESPACE;
  const pods = SERVICES * REPLICAS;
  log(
    `${workloads} workloads (${SERVICES} services of ${REPLICAS} replicas, Deployments and StatefulSets, and CronJobs) in ${WORKLOAD_NAMESPACES} namespaces, ${ALL_NAMESPACES} namespaces in all`,
  );
  const cluster = await startMeshCluster(`${HEADER}services: []\n`, { workloads: true, injectorServer: true, revisions: REVISIONS });
  const results: Record<string, number | string | boolean> = {
    quick,
    scale: SCALE,
    workloads,
    services: SERVICES,
    pods,
    namespaces: ALL_NAMESPACES,
    maxInFlight: MAX_IN_FLIGHT,
  };
  try {
    const apps = cluster.controlPlane.kubeConfig.makeApiClient(AppsV1Api);
    const custom = cluster.controlPlane.kubeConfig.makeApiClient(CustomObjectsApi);
    const batch = cluster.controlPlane.kubeConfig.makeApiClient(BatchV1Api);
    // The tag exists before any pod that follows it is created.
    await cluster.setRevisionTag(TAG, "default");
    const names = Array.from({ length: ALL_NAMESPACES }, (_, i) => nsName(i));
    await inBatches(names, 20, (name) => cluster.createNamespace(name, { "mesh-tailor.io/enabled": "true" }));
    log(`${ALL_NAMESPACES} namespaces created`);

    // The controller, as its ServiceAccount, against every namespace at once.
    const kubeconfig = await serviceAccountKubeconfig(cluster, "mesh-tailor", "mesh-tailor-controller");
    const controllerStart = Date.now();
    const controller = await startController({ identity: "sim", kubeconfig, policyFile: cluster.policyFile });
    const managed = ALL_NAMESPACES + 1; // the suite's own probe namespace is enabled too
    await waitFor(
      `the controller to manage ${managed} namespaces`,
      600_000,
      async () => {
        const { items } = (await custom.listClusterCustomObject({
          group: "networking.istio.io",
          version: "v1",
          plural: "sidecars",
          labelSelector: "app.kubernetes.io/managed-by=mesh-tailor",
        })) as { items: unknown[] };
        return items.length >= managed ? true : undefined;
      },
      1_000,
    );
    results["controllerReconcileAllSeconds"] = (Date.now() - controllerStart) / 1000;
    const controllerRss = async () => mb((await controller.metric("mesh_tailor_process_resident_memory_bytes")) ?? NaN);
    results["controllerRssMb"] = await controllerRss();
    // The controller's peak over the whole run: its RSS every 5 s until it stops.
    let controllerPeakMb = results["controllerRssMb"];
    const sampler = setInterval(() => {
      controllerRss().then(
        (now) => (controllerPeakMb = Math.max(controllerPeakMb, now)),
        () => undefined, // a sample missed: the next one counts
      );
    }, 5_000).unref();
    results["controllerReconcileP99Seconds"] = histogramQuantile(
      await (await fetch(`http://127.0.0.1:${controller.port}/metrics`)).text(),
      "mesh_tailor_controller_reconcile_duration_seconds",
      0.99,
    ).p99;
    log(`controller: ${managed} default Sidecars in ${results["controllerReconcileAllSeconds"]} s, RSS ${results["controllerRssMb"]} MB`);

    const createdAt = Date.now();
    const create: ((namespace: string) => Promise<unknown>)[] = [
      ...Array.from(
        { length: DEPLOYMENTS_PER_NAMESPACE },
        (_, i) => (namespace: string) => apps.createNamespacedDeployment({ namespace, body: deployment(`svc-${i}`) }),
      ),
      (namespace) => apps.createNamespacedStatefulSet({ namespace, body: statefulSet("svc-db") }),
      (namespace) => batch.createNamespacedCronJob({ namespace, body: cronJob("svc-nightly") }),
    ];
    await inBatches(
      names.slice(0, WORKLOAD_NAMESPACES).flatMap((namespace) => create.map((step) => () => step(namespace))),
      25,
      (step) => step(),
    );
    await waitFor(
      `${pods} pods running`,
      1_800_000,
      async () => {
        const [deployments, statefulSets] = await Promise.all([
          apps.listDeploymentForAllNamespaces({ labelSelector: "" }),
          apps.listStatefulSetForAllNamespaces({ labelSelector: "" }),
        ]);
        const ready = [...deployments.items, ...statefulSets.items].filter(
          (w) => w.metadata?.namespace?.startsWith("sim-") && w.status?.availableReplicas === REPLICAS,
        ).length;
        log(`${ready}/${SERVICES} services available`);
        return ready === SERVICES ? true : undefined;
      },
      10_000,
    );
    results["createSeconds"] = (Date.now() - createdAt) / 1000;

    const status = async (): Promise<Status> => {
      const result = await run(cluster, ["status", "--namespace", "sim-*", "-o", "json"]);
      if (result.code !== 0 && result.code !== 3) throw new Error(`status failed (${result.code}): ${result.stderr}${result.stdout.slice(-2000)}`);
      return { ...(JSON.parse(result.stdout) as StatusReport & { apiRequests: number }), seconds: result.seconds, peakRssMb: result.peakRssMb };
    };
    const rollout = async (namespaceGlob: string, reason?: StaleReasonName) => {
      const result = await run(cluster, [
        "rollout",
        "--namespace",
        namespaceGlob,
        ...(reason ? ["--reason", reason] : []),
        "--max-in-flight",
        String(MAX_IN_FLIGHT),
        "--timeout",
        "10m",
        "--yes",
      ]);
      const summary = result.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((e) => e["event"] === "summary");
      if (result.code !== 0 || !summary) throw new Error(`rollout ${namespaceGlob} failed (${result.code}): ${result.stderr.slice(-2000)}`);
      return { restarted: summary["done"] as number, seconds: result.seconds, apiRequests: summary["apiRequests"] as number, peakRssMb: result.peakRssMb };
    };
    // status until WHAT holds, up to a minute's grace for the pods a wave replaced to be gone; the
    // last status, and whether it held.
    const settled = async (what: string, holds: (now: Status) => boolean): Promise<{ status: Status; settled: boolean }> => {
      try {
        const now = await waitFor(
          what,
          60_000,
          async () => {
            const now = await status();
            return holds(now) ? now : undefined;
          },
          2_000,
        );
        return { status: now, settled: true };
      } catch (error) {
        log((error as Error).message);
        return { status: await status(), settled: false };
      }
    };
    // Waves by the namespace's last digit: sim-***[0-2], [3-5], ...; the totals of every wave.
    const digitsPerWave = Math.ceil(10 / WAVES);
    const KUBECTL_GLOB = "sim-*[0-4]0";
    const WAVE_GLOBS = Array.from({ length: WAVES }, (_, wave) => wave * digitsPerWave)
      .filter((from) => from <= 9)
      .map((from) => `sim-*[${from}-${Math.min(9, from + digitsPerWave - 1)}]`);
    const inWaves = async (what: string, reason?: StaleReasonName, globs: readonly string[] = WAVE_GLOBS) => {
      const total = { restarted: 0, seconds: 0, apiRequests: 0, peakRssMb: 0 };
      for (const glob of globs) {
        const result = await rollout(glob, reason);
        total.restarted += result.restarted;
        total.seconds += result.seconds;
        total.apiRequests += result.apiRequests;
        total.peakRssMb = Math.max(total.peakRssMb, result.peakRssMb);
        log(`${what} wave ${WAVE_GLOBS.indexOf(glob) + 1}: ${result.restarted} workloads in ${result.seconds.toFixed(1)} s`);
      }
      return total;
    };

    // Migrate everything, in waves of namespaces.
    await cluster.servePolicy(MIGRATED);
    // status as an operator runs it, the bare paged LIST of what it reads by kubectl, and the
    // same LISTs read raw, back to back, three times each: medians, as the cluster is busy with itself.
    const statusRuns: Status[] = [];
    const listRuns: Timed[] = [];
    const rawRuns: Timed[] = [];
    for (let i = 0; i < 3; i++) {
      statusRuns.push(await status());
      listRuns.push(await bareList(cluster.controlPlane.kubeconfigPath));
      rawRuns.push(await rawList(cluster.controlPlane.kubeconfigPath));
    }
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const before = medianRun(statusRuns);
    results["statusSeconds"] = before.seconds;
    results["statusSecondsRuns"] = secondsOf(statusRuns);
    results["statusApiRequests"] = before.apiRequests;
    results["statusPeakRssMb"] = Math.max(...statusRuns.map((r) => r.peakRssMb));
    results["bareListSeconds"] = median(listRuns.map((r) => r.seconds));
    results["bareListSecondsRuns"] = secondsOf(listRuns);
    results["bareListApiRequests"] = median(listRuns.map((r) => r.apiRequests));
    results["rawListSeconds"] = median(rawRuns.map((r) => r.seconds));
    results["rawListSecondsRuns"] = secondsOf(rawRuns);
    results["rawListApiRequests"] = median(rawRuns.map((r) => r.apiRequests));
    results["statusOverList"] = ratio(before.seconds, results["bareListSeconds"]);
    results["statusOverRawList"] = ratio(before.seconds, results["rawListSeconds"]);
    results["staleAfterMigrationEdit"] = before.summary.stalePods;
    log(
      `status: ${before.summary.stalePods} stale pods in ${before.seconds.toFixed(2)} s (${before.apiRequests} API requests, ${results["statusPeakRssMb"]} MB); kubectl's LIST ${results["bareListSeconds"].toFixed(2)} s (${results["bareListApiRequests"]}); raw ${results["rawListSeconds"].toFixed(2)} s (${results["rawListApiRequests"]})`,
    );
    // A twentieth of the namespaces (names ending 00 to 40) migrated as an operator would script
    // it with kubectl alone: restart, then wait, for each stale workload, as many at once as
    // rollout has in flight. Then the waves, with rollout, which finds those already done.
    const kubectlWave = await run(cluster, ["status", "--namespace", KUBECTL_GLOB, "--stale", "-o", "json"]);
    const targets = (JSON.parse(kubectlWave.stdout) as StatusReport).workloads
      .filter((w) => w.stale > 0 && ["Deployment", "StatefulSet", "DaemonSet"].includes(w.kind))
      .map((w) => ({ namespace: w.namespace, kind: w.kind, name: w.name }));
    const byKubectl = await kubectlRolloutLoop(cluster.controlPlane.kubeconfigPath, targets, MAX_IN_FLIGHT);
    log(
      `migration of ${KUBECTL_GLOB} by kubectl: ${byKubectl.restarted} workloads in ${byKubectl.seconds.toFixed(1)} s (${byKubectl.apiRequests} API requests)`,
    );
    results["kubectlRestarted"] = byKubectl.restarted;
    results["kubectlSeconds"] = Math.round(byKubectl.seconds);
    results["kubectlWorkloadsPerMinute"] = Math.round((byKubectl.restarted / byKubectl.seconds) * 60);
    results["kubectlApiRequestsPerWorkload"] = Math.round((byKubectl.apiRequests / byKubectl.restarted) * 10) / 10;
    const migration = await inWaves("migration");
    results["migrationRestarted"] = migration.restarted + byKubectl.restarted;
    results["rolloutSeconds"] = Math.round(migration.seconds);
    results["rolloutWorkloadsPerMinute"] = Math.round((migration.restarted / migration.seconds) * 60);
    results["rolloutApiRequests"] = migration.apiRequests;
    results["rolloutApiRequestsPerWorkload"] = Math.round((migration.apiRequests / migration.restarted) * 10) / 10;
    results["rolloutPeakRssMb"] = migration.peakRssMb;
    results["rolloutOverKubectl"] = ratio(results["rolloutWorkloadsPerMinute"], results["kubectlWorkloadsPerMinute"]);

    // Roll a tenth back.
    await cluster.servePolicy(ROLLED_BACK);
    const rollback = await status();
    results["staleAfterRollbackEdit"] = rollback.summary.stalePods;
    const back = await rollout("sim-*");
    results["rollbackRestarted"] = back.restarted;
    log(`rollback: ${back.restarted} workloads in ${back.seconds.toFixed(1)} s`);

    if (EVERY_MOVE) {
      // The upgrade wave: tag prod moves to the canary revision (a newer proxy image), which makes
      // every sidecar pod stale for its proxy-version alone; a paced rollout brings each to it.
      await cluster.setRevisionTag(TAG, "canary");
      const { median: tagMoved, runs: upgradeRuns } = await medianOfThree(status);
      results["upgradeStatusSeconds"] = tagMoved.seconds;
      results["upgradeStatusSecondsRuns"] = upgradeRuns;
      results["upgradeStatusApiRequests"] = tagMoved.apiRequests;
      results["staleAfterTagMove"] = tagMoved.workloads.reduce((sum, w) => sum + w.staleBy["proxy-version"], 0);
      log(`upgrade status: ${results["staleAfterTagMove"]} pods stale for their proxy-version in ${tagMoved.seconds.toFixed(2)} s`);
      const upgrade = await inWaves("upgrade", "proxy-version");
      results["upgradeRestarted"] = upgrade.restarted;
      results["upgradeRolloutWorkloadsPerMinute"] = Math.round((upgrade.restarted / upgrade.seconds) * 60);
      results["upgradeRolloutApiRequests"] = upgrade.apiRequests;
      // Every sidecar pod from the canary revision; up to a minute's grace for the replaced ones to go.
      const { status: upgraded, settled: allUpgraded } = await settled(`${ambientPods} sidecar pods, every one injected by the canary revision`, (now) => {
        const { sidecar, byRevision } = now.summary.pods;
        return sidecar === ambientPods && byRevision["canary"] === ambientPods;
      });
      results["upgradedPods"] = upgraded.summary.pods.byRevision["canary"] ?? 0;
      results["allUpgraded"] = allUpgraded;
      log(`upgrade: ${upgrade.restarted} workloads in ${upgrade.seconds.toFixed(1)} s; pods ${JSON.stringify(upgraded.summary.pods)}`);

      // The ambient wave. The node agents first: without them on the workloads' nodes, status
      // reports every ambient service as one the policy cannot take effect on, and rollout refuses it.
      results["nodeAgentsReadySeconds"] = await installNodeAgents(cluster, apps);
      log(`ztunnel and istio-cni ready in ${results["nodeAgentsReadySeconds"]} s`);
      await cluster.servePolicy(AMBIENT);
      const { median: toAmbient, runs: ambientRuns } = await medianOfThree(status);
      results["ambientStatusSeconds"] = toAmbient.seconds;
      results["ambientStatusSecondsRuns"] = ambientRuns;
      results["ambientStatusApiRequests"] = toAmbient.apiRequests;
      results["ambientServices"] = toAmbient.summary.servicesInAmbient;
      results["staleAfterAmbientEdit"] = toAmbient.workloads.reduce((sum, w) => sum + w.staleBy.dataplane, 0);
      log(
        `ambient status: ${results["staleAfterAmbientEdit"]} pods stale for their dataplane in ${toAmbient.seconds.toFixed(2)} s (${toAmbient.apiRequests} API requests)`,
      );
      const ambient = await inWaves("ambient", "dataplane");
      results["ambientRestarted"] = ambient.restarted;
      results["ambientRolloutWorkloadsPerMinute"] = Math.round((ambient.restarted / ambient.seconds) * 60);
      results["ambientRolloutApiRequests"] = ambient.apiRequests;
      // Every pod of an ambient service in ambient, none of them with a sidecar; up to a minute's
      // grace for the pods the wave replaced to be gone.
      const { status: moved, settled: allInAmbient } = await settled(`${ambientPods} pods in ambient, none of them with a sidecar`, (now) => {
        const inAmbient = now.workloads.filter((w) => w.dataplane === "ambient");
        const podsOfAmbient = inAmbient.reduce((sum, w) => sum + w.pods, 0);
        const withSidecar = inAmbient.reduce((sum, w) => sum + w.withProxy, 0);
        return (
          inAmbient.length === ambientWorkloads &&
          podsOfAmbient === ambientPods &&
          now.summary.pods.ambient === ambientPods &&
          withSidecar === 0 &&
          now.summary.pods.sidecar === 0
        );
      });
      results["ambientPods"] = moved.summary.pods.ambient;
      results["sidecarPodsAfterAmbient"] = moved.summary.pods.sidecar;
      results["allInAmbient"] = allInAmbient;
      log(`ambient: ${ambient.restarted} workloads in ${ambient.seconds.toFixed(1)} s; pods ${JSON.stringify(moved.summary.pods)}`);
    }

    // Nothing stale once the last wave's replaced pods are gone (a bounded wait, then the count).
    const { status: final } = await settled("no pod stale", (now) => now.summary.stalePods === 0);
    results["staleAtEnd"] = final.summary.stalePods;
    const metrics = await webhookMetrics(cluster);
    const latency = histogramQuantile(metrics, "mesh_tailor_admission_duration_seconds", 0.99);
    results["admissions"] = latency.count;
    results["admissionP99Seconds"] = latency.p99;
    results["admissionErrors"] =
      metricSum(metrics, "mesh_tailor_admission_requests_total", 'outcome="error"') +
      metricSum(metrics, "mesh_tailor_admission_requests_total", 'outcome="bad_request"');
    // At rest: once the last policy edit's reconciles are over (none for 30 s), the median of
    // six samples 5 s apart.
    let reconciles = await controller.metric("mesh_tailor_controller_reconciles_total");
    let quietSince = Date.now();
    await waitFor(
      "the controller to make no reconcile for 30 s",
      300_000,
      async () => {
        const now = await controller.metric("mesh_tailor_controller_reconciles_total");
        if (now !== reconciles) [reconciles, quietSince] = [now, Date.now()];
        return Date.now() - quietSince >= 30_000 ? true : undefined;
      },
      5_000,
    );
    const atRest: number[] = [];
    for (let i = 0; i < 6; i++) {
      atRest.push(await controllerRss());
      if (i < 5) await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
    clearInterval(sampler);
    results["controllerRssMbAtRest"] = median(atRest);
    results["controllerRssMbPeak"] = Math.max(controllerPeakMb, ...atRest);
    log(`controller: ${results["controllerRssMbPeak"]} MB at its peak, ${results["controllerRssMbAtRest"]} MB at rest (${atRest.join(" ")})`);
    await controller.stop();
  } finally {
    await cluster.stop();
    rmSync(scratch, { recursive: true, force: true });
  }

  const num = (key: string): number => Number(results[key] ?? NaN);
  const within: Record<string, boolean> = {
    status: num("statusSeconds") <= BUDGET.statusSeconds,
    ...(EVERY_MOVE
      ? {
          upgradeStatus: num("upgradeStatusSeconds") <= BUDGET.statusSeconds,
          // Exactly the sidecar pods the tag moved away from, no more and no fewer.
          upgradeFoundEveryOldProxy: results["staleAfterTagMove"] === ambientPods,
          allUpgraded: results["allUpgraded"] === true,
          ambientStatus: num("ambientStatusSeconds") <= BUDGET.statusSeconds,
          allInAmbient: results["allInAmbient"] === true,
        }
      : {}),
    controllerRss: num("controllerRssMbPeak") <= BUDGET.controllerRssMb,
    noStale: results["staleAtEnd"] === 0,
    noAdmissionError: results["admissionErrors"] === 0,
    ...(FLOORS_HELD
      ? {
          statusOverList: num("statusOverList") <= FLOOR_BUDGET.statusOverList,
          statusOverRawList: num("statusOverRawList") <= FLOOR_BUDGET.statusOverRawList,
          rolloutOverKubectl: num("rolloutOverKubectl") >= FLOOR_BUDGET.rolloutOverKubectl,
          rolloutRequestsPerWorkload: num("rolloutApiRequestsPerWorkload") <= num("kubectlApiRequestsPerWorkload"),
          controllerRssAtRest: num("controllerRssMbAtRest") <= FLOOR_BUDGET.controllerRssMbAtRest,
          admissionP99: num("admissionP99Seconds") <= FLOOR_BUDGET.admissionP99Seconds,
        }
      : {}),
  };
  // One record per scale (a quick run's apart), so that --scale 1 and --scale 5 stand side by side.
  const file = join(REPO, "sim", "last-run.json");
  const key = quick ? "quick" : `scale-${SCALE}`;
  const runs = lastRuns(file);
  runs[key] = { date: new Date().toISOString(), results, budgets: { ...BUDGET, ...(FLOORS_HELD ? FLOOR_BUDGET : {}) }, within };
  writeFileSync(file, `${JSON.stringify(runs, null, 2)}\n`);
  console.log("| measure | value |\n| --- | --- |");
  for (const [key, value] of Object.entries(results)) console.log(`| ${key} | ${value} |`);
  for (const [key, ok] of Object.entries(within)) if (!ok) console.log(`over budget: ${key}`);
  console.log(`floors: status/list ${results["statusOverList"]}, rollout/kubectl ${results["rolloutOverKubectl"]}`);
  console.log(
    `sim: ${results["workloads"]} workloads, status ${results["statusSeconds"].toFixed(2)} s, rollout ${results["rolloutWorkloadsPerMinute"]} workloads/min, stale ${results["staleAtEnd"]}, admission errors ${results["admissionErrors"]}`,
  );
  process.exitCode = Object.values(within).every(Boolean) ? 0 : 1;
}

await main();
