import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { AppsV1Api, CoreV1Api, type V1Deployment } from "@kubernetes/client-node";
import type { RolloutTarget } from "../../src/ops/rollout.js";
import { startMeshCluster, type MeshCluster } from "../e2e/harness/mesh-cluster.js";
import { waitFor } from "../e2e/harness/processes.js";
import { CLI } from "../fixtures/serve-process.js";
import { deploymentAvailable } from "../e2e/harness/workload-controllers.js";

// The migration loop under faults, on a cluster that runs workloads (kube-controller-manager,
// kube-scheduler, kwok nodes): pods created while mesh-tailor's webhook is down, and rollout
// while kube-apiserver restarts or the rollout itself is killed.

const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";
const NOTHING = `${HEADER}services: []\n`;
const APPS = Array.from({ length: 6 }, (_, i) => `app${i + 1}`);
const ALL_IN = `${HEADER}services:\n${APPS.map((name) => `  - name: ${name}\n`).join("")}`;

const deployment = (name: string, replicas = 1): V1Deployment => ({
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: `${name}:1` }] } },
  },
});

/** One JSON line `rollout` prints off a terminal: an event about a target, or the closing summary. */
interface RolloutLine {
  readonly event: string;
  readonly target?: RolloutTarget;
}

interface Rollout {
  readonly child: ChildProcess;
  readonly events: RolloutLine[];
  readonly exited: Promise<number>;
  stderr(): string;
}

describe("the migration loop under faults", { timeout: 1_200_000 }, () => {
  let cluster: MeshCluster;
  let apps: AppsV1Api;

  const available = (name: string, replicas = 1) => deploymentAvailable(apps, "shop", name, replicas);
  // For a failure message: where each pod of the namespace stands (node, phase, conditions).
  const podsNow = async () => {
    const pods = await cluster.controlPlane.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: "shop" });
    return pods.items
      .map((pod) => {
        const conditions = (pod.status?.conditions ?? []).map((c) => `${c.type}=${c.status}${c.reason ? `(${c.reason})` : ""}`).join(",");
        const deleting = pod.metadata?.deletionTimestamp ? " deleting" : "";
        return `  ${pod.metadata?.name} node=${pod.spec?.nodeName ?? "-"} ${pod.status?.phase ?? "-"}${deleting} ${conditions}`;
      })
      .join("\n");
  };
  const generations = async () =>
    Object.fromEntries(
      await Promise.all(
        APPS.map(async (name) => [name, (await apps.readNamespacedDeployment({ namespace: "shop", name })).metadata?.generation ?? 0] as const),
      ),
    );
  const statusJson = async (...args: string[]) => {
    const run = await cluster.cli(["status", "--namespace", "shop", "-o", "json", ...args]);
    return {
      code: run.code,
      report: JSON.parse(run.stdout) as { workloads: { name: string; stale: number; staleReason?: string; pods: number }[]; summary: { stalePods: number } },
    };
  };
  const rollout = (...args: string[]): Rollout => {
    const child = spawn(process.execPath, [CLI, "rollout", "--namespace", "shop", "--yes", ...args], {
      env: { ...process.env, KUBECONFIG: cluster.controlPlane.kubeconfigPath },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const events: RolloutLine[] = [];
    let stderr = "";
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.startsWith("{")) events.push(JSON.parse(line) as RolloutLine);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number>((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1))));
    return { child, events, exited, stderr: () => stderr };
  };

  before(
    async () => {
      cluster = await startMeshCluster(NOTHING, { workloads: true, injectorServer: true });
      apps = cluster.controlPlane.kubeConfig.makeApiClient(AppsV1Api);
      await cluster.createNamespace("shop", { "mesh-tailor.io/enabled": "true" });
      for (const name of APPS) await apps.createNamespacedDeployment({ namespace: "shop", body: deployment(name) });
      for (const name of APPS) await available(name);
    },
    { timeout: 300_000 },
  );

  after(async () => {
    await cluster?.stop();
  });

  it("pods created while the webhook is down are admitted untailored, and status reports every one of them stale", async () => {
    await cluster.stopWebhook();
    try {
      await apps.createNamespacedDeployment({ namespace: "shop", body: deployment("untailored", 2) });
      await available("untailored", 2);
    } finally {
      await cluster.startWebhook();
    }
    const { code, report } = await statusJson();
    assert.equal(code, 3, "stale: exit 3");
    const row = report.workloads.find((w) => w.name === "untailored")!;
    assert.equal(row.pods, 2);
    assert.equal(row.stale, 2, "every pod admitted without mesh-tailor is stale");
    assert.match(row.staleReason ?? "", /admitted without mesh-tailor/);
    // The operator's view is whole: a rollout now tailors them.
    const fix = rollout("--service", "untailored");
    assert.equal(await fix.exited, 0, fix.stderr());
    await waitFor(
      "status to report untailored current",
      60_000,
      async () => ((await statusJson("--service", "untailored")).report.workloads[0]?.stale === 0 ? true : undefined),
      1_000,
    );
    await apps.deleteNamespacedDeployment({ namespace: "shop", name: "untailored" });
  });

  it("rollout while kube-apiserver restarts: it loses track of nothing in flight and restarts nothing twice", async () => {
    await cluster.servePolicy(ALL_IN);
    const before = await generations();
    const run = rollout("--max-in-flight", "2", "--timeout", "3m");
    await waitFor("the third restart to start", 120_000, () => (run.events.filter((e) => e.event === "started").length >= 3 ? true : undefined), 100);
    await cluster.stopApiServer();
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    await cluster.startApiServer();
    const code = await run.exited;
    if (code !== 0) assert.fail(`the rollout finished: ${run.stderr()}\npods:\n${await podsNow()}`);
    const done = run.events
      .filter((e) => e.event === "done")
      .map((e) => e.target!.name)
      .sort();
    assert.deepEqual(done, [...APPS].sort(), "every workload done once");
    const after = await generations();
    for (const name of APPS) assert.equal(after[name], before[name]! + 1, `${name} was restarted exactly once`);
    await waitFor("status to report nothing stale", 60_000, async () => ((await statusJson()).code === 0 ? true : undefined), 1_000);
  });

  it("a rollout killed in the middle: the rerun follows what is still rolling out, finishes the rest, and restarts nothing twice", async () => {
    await cluster.servePolicy(NOTHING);
    const before = await generations();
    const first = rollout("--max-in-flight", "2", "--timeout", "3m");
    await waitFor("two restarts to start", 120_000, () => (first.events.filter((e) => e.event === "started").length >= 2 ? true : undefined), 100);
    first.child.kill("SIGKILL");
    await first.exited;
    const rerun = rollout("--max-in-flight", "2", "--timeout", "3m");
    if ((await rerun.exited) !== 0) assert.fail(`${rerun.stderr()}\npods:\n${await podsNow()}`);
    const after = await generations();
    for (const name of APPS) assert.equal(after[name], before[name]! + 1, `${name} was restarted exactly once across both runs`);
    await waitFor("status to report nothing stale", 60_000, async () => ((await statusJson()).code === 0 ? true : undefined), 1_000);
  });
});
