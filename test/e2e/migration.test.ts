import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { AppsV1Api, PatchStrategy, setHeaderOptions, type KubernetesObject, type V1Deployment, type V1Pod } from "@kubernetes/client-node";
import type { RolloutTarget } from "../../src/ops/rollout.js";
import type { StatusReport } from "../../src/ops/status.js";
import { startMeshCluster, type MeshCluster } from "./harness/mesh-cluster.js";
import { jsonLines, waitFor } from "./harness/processes.js";
import { CLI } from "../fixtures/serve-process.js";
import { deploymentAvailable } from "./harness/workload-controllers.js";

// Nothing migrated yet: every service in shop runs without a proxy.
const NOTHING = `apiVersion: mesh-tailor.io/v1alpha1
kind: TailorPolicy
services: []
`;
const REVIEWS = `apiVersion: mesh-tailor.io/v1alpha1
kind: TailorPolicy
services:
  - name: reviews
`;
// A migration with connection switches: the proxy's idle timeout, and the app's keep-alive read from its env.
const REVIEWS_CONNECTION = `${REVIEWS}    connection: {idleTimeout: 2h, appKeepAlive: {env: KEEP_ALIVE_TIMEOUT}}
`;
const REVIEWS_AMBIENT = `${REVIEWS}    dataplane: ambient
`;
const REVIEWS_WAYPOINT = `${REVIEWS_AMBIENT}    waypoint: reviews-waypoint
`;
// ztunnel as Istio's chart runs it: a DaemonSet of pods labelled app=ztunnel (kwok runs them Ready).
// An object of any kind, as applied.
type Manifest = KubernetesObject & Record<string, unknown>;
const ZTUNNEL: Manifest = {
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name: "ztunnel", namespace: "istio-system" },
  spec: {
    selector: { matchLabels: { app: "ztunnel" } },
    template: { metadata: { labels: { app: "ztunnel" } }, spec: { containers: [{ name: "istio-proxy", image: "istio/ztunnel:1.31" }] } },
  },
};
// istio-cni's node agent as its chart runs it: pods labelled k8s-app=istio-cni-node.
const ISTIO_CNI: Manifest = {
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name: "istio-cni-node", namespace: "istio-system" },
  spec: {
    selector: { matchLabels: { "k8s-app": "istio-cni-node" } },
    template: { metadata: { labels: { "k8s-app": "istio-cni-node" } }, spec: { containers: [{ name: "install-cni", image: "istio/install-cni:1.31" }] } },
  },
};
const HTTP_RULES_BY_SELECTOR: Manifest & { spec: Record<string, unknown> } = {
  apiVersion: "security.istio.io/v1",
  kind: "AuthorizationPolicy",
  metadata: { name: "reviews-get-only", namespace: "shop" },
  spec: { selector: { matchLabels: { app: "reviews" } }, action: "ALLOW", rules: [{ to: [{ operation: { methods: ["GET"] } }] }] },
};
const WAVE = `apiVersion: mesh-tailor.io/v1alpha1
kind: TailorPolicy
services:
  - name: blocked
  - name: ratings
`;

const deployment = (
  name: string,
  replicas: number,
  extra: Partial<NonNullable<V1Deployment["spec"]>> = {},
  podSpec: Partial<NonNullable<V1Pod["spec"]>> = {},
): V1Deployment => ({
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    // Quick roll-outs: one pod at a time, old ones gone at once (kwok pods stop immediately).
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    ...extra,
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "app", image: `${name}:1`, lifecycle: { preStop: { exec: { command: ["sleep", "5"] } } } }], ...podSpec },
    },
  },
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
/** One JSON line `rollout` prints off a terminal: an event about a target, or the closing summary. */
interface RolloutLine {
  readonly event: string;
  readonly target?: RolloutTarget;
  readonly reason?: string;
  readonly interrupted?: boolean;
  readonly notStarted?: readonly RolloutTarget[];
}
const events = (run: Run): RolloutLine[] => jsonLines<RolloutLine>(run.stdout);

describe("migration at scale: status and a paced rollout on a cluster that runs workloads", { timeout: 900_000 }, () => {
  let cluster: MeshCluster;
  let apps: AppsV1Api;

  const podsOf = async (app: string) =>
    (await cluster.core.listNamespacedPod({ namespace: "shop", labelSelector: `app=${app}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const available = (name: string, replicas: number) => deploymentAvailable(apps, "shop", name, replicas);
  const status = (...args: string[]) => cluster.cli(["status", "--namespace", "shop", ...args]);
  const statusJson = async () => JSON.parse((await status("-o", "json")).stdout) as StatusReport;
  const row = (report: StatusReport, name: string) => report.workloads.find((w) => w.name === name)!;
  const hasProxy = (pod: V1Pod) => pod.spec?.containers.some((c) => c.name === "istio-proxy") ?? false;

  before(
    async () => {
      cluster = await startMeshCluster(NOTHING, { workloads: true, injectorServer: true });
      apps = cluster.controlPlane.kubeConfig.makeApiClient(AppsV1Api);
      await cluster.createNamespace("shop", { "mesh-tailor.io/enabled": "true" });
      for (const body of [deployment("reviews", 2), deployment("ratings", 2)]) await apps.createNamespacedDeployment({ namespace: "shop", body });
      await available("reviews", 2);
      await available("ratings", 2);
    },
    { timeout: 300_000 },
  );

  after(async () => {
    await cluster?.stop();
  });

  it("reports every workload current before any change (exit 0)", async () => {
    const result = await status();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^shop\s+Deployment\s+reviews\s+reviews\s+OUT\s+2\s+0\s+2\s+0$/m);
    assert.match(result.stdout, /2 workloads: 0 services in the mesh, 0 pending migration, 0 pending rollback, 0 stale pods/);
  });

  it("migrates one service: the edit makes only its pods stale, rollout restarts it, and its new pods have the proxy and the customizations", async () => {
    await cluster.servePolicy(REVIEWS);
    const stale = await status("--stale");
    assert.equal(stale.code, 3, `status exits 3 while something is stale: ${stale.stderr}`);
    assert.match(stale.stdout, /^shop\s+Deployment\s+reviews\s+reviews\s+IN\s+2\s+0\s+2\s+2$/m);
    assert.doesNotMatch(stale.stdout, /ratings/, "another service's pods are not stale: the edit does not reach them");
    assert.match(stale.stdout, /1 services in the mesh, 1 pending migration, 0 pending rollback, 2 stale pods/);

    const rollout = await cluster.cli(["rollout", "--namespace", "shop", "--max-in-flight", "2", "--timeout", "2m", "--yes"]);
    assert.equal(rollout.code, 0, rollout.stderr);
    const started = events(rollout)
      .filter((e) => e["event"] === "started")
      .map((e) => e["target"]!["name"]);
    assert.deepEqual(started, ["reviews"]);
    assert.ok(events(rollout).some((e) => e["event"] === "done" && e["target"]!["name"] === "reviews"));
    await available("reviews", 2);
    const pods = await waitFor("only new reviews pods", 60_000, async () => {
      const current = await podsOf("reviews");
      return current.length === 2 && current.every(hasProxy) ? current : undefined;
    });
    for (const pod of pods) {
      assert.equal(pod.metadata?.labels?.["sidecar.istio.io/inject"], "true");
      assert.ok(pod.metadata?.annotations?.["sidecar.istio.io/status"], "Istio's injector injected it");
      assert.deepEqual(pod.metadata?.annotations?.["mesh-tailor.io/applied"]?.split(","), ["inject", "hold", "prestop", "branch"]);
      assert.equal(pod.status?.phase, "Running");
    }
    const clean = await status();
    assert.equal(clean.code, 0, clean.stdout);
    assert.match(clean.stdout, /^shop\s+Deployment\s+reviews\s+reviews\s+IN\s+2\s+2\s+0\s+0$/m);
  });

  it("rolls it back the same way", async () => {
    await cluster.servePolicy(NOTHING);
    const report = await statusJson();
    assert.equal(row(report, "reviews").stale, 2);
    assert.equal(row(report, "reviews").inMesh, false);
    assert.equal(report.summary.pendingRollback, 1);
    const rollout = await cluster.cli(["rollout", "--namespace", "shop", "--yes"]);
    assert.equal(rollout.code, 0, rollout.stderr);
    await available("reviews", 2);
    await waitFor("reviews pods without a proxy", 60_000, async () => {
      const current = await podsOf("reviews");
      return current.length === 2 && !current.some(hasProxy) ? true : undefined;
    });
    assert.equal((await status()).code, 0);
    const again = await cluster.cli(["rollout", "--namespace", "shop", "--yes"]);
    assert.equal(again.code, 0);
    assert.deepEqual(
      events(again).filter((e) => e["event"] === "started"),
      [],
      "a rerun finds nothing stale and restarts nothing",
    );
  });

  it("migrates a service with connection switches: status and explain show them, and its new pods carry them", async () => {
    await cluster.servePolicy(REVIEWS_CONNECTION);
    const before = await status();
    assert.equal(before.code, 3, before.stderr);
    assert.match(before.stdout, /^NAMESPACE .* STALE\s+CONNECTION$/m);
    assert.match(before.stdout, /^shop\s+Deployment\s+reviews\s+reviews\s+IN\s+2\s+0\s+2\s+2\s+idle timeout 2h, app keep-alive from env KEEP_ALIVE_TIMEOUT$/m);
    assert.match(before.stdout, /^shop\s+Deployment\s+ratings\s+ratings\s+OUT\s+2\s+0\s+2\s+0\s+-$/m);
    // The app declares a 5 s keep-alive: a release of it is what restarts it here.
    await apps.patchNamespacedDeployment(
      {
        namespace: "shop",
        name: "reviews",
        body: [{ op: "add", path: "/spec/template/spec/containers/0/env", value: [{ name: "KEEP_ALIVE_TIMEOUT", value: "5" }] }],
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    const explained = await cluster.cli(["explain", "-n", "shop", "deployment/reviews"]);
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(explained.stdout, /^ {2}connection: {10}idle timeout 2h, app keep-alive from env KEEP_ALIVE_TIMEOUT$/m);
    assert.match(
      explained.stdout,
      /note: .*container "app" closes idle connections after 5s \(env KEEP_ALIVE_TIMEOUT\).*connectionPool\.http\.idleTimeout under 5s/,
    );
    await available("reviews", 2);
    const pods = await waitFor("new reviews pods with a proxy", 60_000, async () => {
      const current = await podsOf("reviews");
      return current.length === 2 && current.every(hasProxy) ? current : undefined;
    });
    for (const pod of pods) {
      const proxy = pod.spec!.containers.find((c) => c.name === "istio-proxy")!;
      assert.ok(
        proxy.env?.some((e) => e.name === "ISTIO_META_IDLE_TIMEOUT" && e.value === "2h"),
        `Istio's injector put the idle timeout in the proxy's env: ${JSON.stringify(proxy.env)}`,
      );
    }
    // Back to where the next test starts: nothing migrated.
    await cluster.servePolicy(NOTHING);
    const back = await cluster.cli(["rollout", "--namespace", "shop", "--yes"]);
    assert.equal(back.code, 0, back.stderr);
    await waitFor("reviews pods without a proxy", 60_000, async () => {
      const current = await podsOf("reviews");
      return current.length === 2 && !current.some(hasProxy) ? true : undefined;
    });
  });

  it("moves a service from its sidecar to ambient and back, paced by status and rollout", async () => {
    await cluster.servePolicy(REVIEWS);
    assert.equal((await cluster.cli(["rollout", "--namespace", "shop", "--yes"])).code, 0);
    await waitFor("reviews pods with a sidecar", 60_000, async () => {
      const current = await podsOf("reviews");
      return current.length === 2 && current.every(hasProxy) ? true : undefined;
    });

    // Each gate stops the move, naming the cause; nothing is restarted until it passes.
    const refused = async (policy: string, cause: RegExp) => {
      await cluster.servePolicy(policy);
      const gated = await status();
      assert.equal(gated.code, 1, `a gate that fails is a problem a restart cannot fix: ${gated.stdout}`);
      assert.match(gated.stderr + gated.stdout, cause);
      const generation = (await apps.readNamespacedDeployment({ namespace: "shop", name: "reviews" })).metadata?.generation;
      const stopped = await cluster.cli(["rollout", "--namespace", "shop", "--yes"]);
      assert.equal(stopped.code, 1, stopped.stdout);
      assert.match(stopped.stderr + stopped.stdout, /refuse shop\/deployment\/reviews: service reviews: /);
      assert.match(stopped.stderr, /nothing was restarted[^]*mesh-tailor rollout --namespace shop --yes/);
      assert.equal((await apps.readNamespacedDeployment({ namespace: "shop", name: "reviews" })).metadata?.generation, generation);
    };
    await refused(REVIEWS_AMBIENT, /no ztunnel is ready in the cluster/);
    // doctor says the same of the whole cluster: istio-cni and ztunnel are missing.
    const ambientCheck = async () => {
      const run = await cluster.cli(["doctor", "-o", "json", "--config", cluster.policyFile]);
      return (JSON.parse(run.stdout) as { checks: { check: string; status: string; detail: string }[] }).checks.find((c) => c.check === "ambient")!;
    };
    const missing = await ambientCheck();
    assert.equal(missing.status, "error");
    assert.match(missing.detail, /services reviews: in ambient, but no ztunnel .* and no istio-cni/);
    const readyOnEachNode = (selector: string) =>
      waitFor(`a pod ${selector} Ready on each node`, 60_000, async () => {
        const pods = (await cluster.core.listNamespacedPod({ namespace: "istio-system", labelSelector: selector })).items;
        return pods.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length >= 2 ? true : undefined;
      });
    await cluster.applyServerSide(ZTUNNEL);
    await readyOnEachNode("app=ztunnel");
    assert.match((await ambientCheck()).detail, /in ambient, but no istio-cni/);
    await refused(REVIEWS_AMBIENT, /: no istio-cni is ready in the cluster/);
    await cluster.applyServerSide(ISTIO_CNI);
    await readyOnEachNode("k8s-app=istio-cni-node");
    assert.equal((await ambientCheck()).status, "ok");
    await refused(REVIEWS_WAYPOINT, /its waypoint, Gateway shop\/reviews-waypoint, does not exist/);
    await cluster.applyServerSide(HTTP_RULES_BY_SELECTOR);
    await refused(
      REVIEWS_AMBIENT,
      /AuthorizationPolicy shop\/reviews-get-only selects its pods and has HTTP rules \(to\.operation\.methods\): ztunnel drops those rules/,
    );
    const gates = await cluster.cli(["explain", "-n", "shop", "deployment/reviews"]);
    assert.match(gates.stdout, /^ {2}ambient gate: {8}ztunnel and istio-cni on its pods' nodes: passes$/m);
    assert.match(gates.stdout, /^ {2}ambient gate: {8}no HTTP rules by selector: FAILS: AuthorizationPolicy shop\/reviews-get-only /m);
    // The same policy attached to the Service, where a waypoint enforces it: no longer ztunnel's.
    const attached: Record<string, unknown> = { ...HTTP_RULES_BY_SELECTOR.spec, targetRefs: [{ kind: "Service", group: "", name: "reviews" }] };
    delete attached["selector"];
    const onService: Manifest = { ...HTTP_RULES_BY_SELECTOR, spec: attached };
    await cluster.applyServerSide(onService);

    await cluster.servePolicy(REVIEWS_AMBIENT);
    const toAmbient = await status();
    assert.equal(toAmbient.code, 3, toAmbient.stderr);
    // Stale for two reasons, each its own column: their tailoring, and their dataplane.
    assert.match(toAmbient.stdout, /^NAMESPACE .* STALE\s+STALE POLICY\s+STALE DATAPLANE$/m);
    assert.match(toAmbient.stdout, /^shop\s+Deployment\s+reviews\s+reviews\s+IN \(ambient\)\s+2\s+2\s+0\s+2\s+2\s+2$/m);
    assert.match(toAmbient.stdout, /^pods: 2 with a sidecar \(by revision: default 2\), 0 in ambient, 2 with neither$/m);
    assert.match(toAmbient.stdout, /1 services in the mesh \(1 in ambient\), 1 pending migration/);
    assert.match(row(await statusJson(), "reviews").staleReason!, /a sidecar, but the policy puts it in ambient/);
    const explained = await cluster.cli(["explain", "-n", "shop", "deployment/reviews"]);
    assert.match(explained.stdout, /decision: +INTO the mesh \(ambient: no sidecar, its traffic through the node's ztunnel\), because .*dataplane: ambient/);
    const moved = await cluster.cli(["rollout", "--namespace", "shop", "--reason", "dataplane", "--yes"]);
    assert.equal(moved.code, 0, moved.stderr);
    const ambientPods = await waitFor("reviews pods in ambient, without a sidecar", 60_000, async () => {
      const current = await podsOf("reviews");
      return current.length === 2 && !current.some(hasProxy) ? current : undefined;
    });
    for (const pod of ambientPods) {
      assert.equal(pod.metadata?.labels?.["istio.io/dataplane-mode"], "ambient");
      assert.equal(pod.metadata?.labels?.["sidecar.istio.io/inject"], "false");
    }
    const settled = await status();
    assert.equal(settled.code, 0, settled.stdout);
    assert.match(settled.stdout, /^shop\s+Deployment\s+reviews\s+reviews\s+IN \(ambient\)\s+2\s+0\s+2\s+0$/m);
    assert.match(settled.stdout, /^pods: 0 with a sidecar, 2 in ambient, 2 with neither$/m);

    await cluster.servePolicy(REVIEWS);
    assert.match(row(await statusJson(), "reviews").staleReason!, /in ambient, but the policy gives it a sidecar/);
    assert.equal((await cluster.cli(["rollout", "--namespace", "shop", "--yes"])).code, 0);
    const back = await waitFor("reviews pods with a sidecar again, out of ambient", 60_000, async () => {
      const current = await podsOf("reviews");
      return current.length === 2 && current.every(hasProxy) ? current : undefined;
    });
    for (const pod of back) assert.equal(pod.metadata?.labels?.["istio.io/dataplane-mode"], undefined);

    // Back to where the next test starts: nothing migrated.
    await cluster.servePolicy(NOTHING);
    assert.equal((await cluster.cli(["rollout", "--namespace", "shop", "--yes"])).code, 0);
    await waitFor("reviews pods without a proxy", 60_000, async () => {
      const current = await podsOf("reviews");
      return current.length === 2 && !current.some(hasProxy) ? true : undefined;
    });
  });

  it("stops a wave at a Deployment whose pods cannot schedule, says why and how to resume; a rerun after the fix finishes", async () => {
    // Its pods ask for a node that does not exist: its roll-out can never finish.
    await apps.createNamespacedDeployment({
      namespace: "shop",
      body: deployment("blocked", 1, { progressDeadlineSeconds: 5 }, { nodeSelector: { "example.com/pool": "none" } }),
    });
    await cluster.servePolicy(WAVE);
    const report = await statusJson();
    assert.equal(row(report, "blocked").stale, 1);
    assert.equal(row(report, "ratings").stale, 2);

    const dryRun = await cluster.cli(["rollout", "--namespace", "shop", "--dry-run"]);
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.match(
      dryRun.stdout,
      /restart 2 workload\(s\):\n {2}shop\/deployment\/blocked\n {2}shop\/deployment\/ratings/,
      "the plan is what --dry-run was asked for: on stdout",
    );

    const wave = await cluster.cli(["rollout", "--namespace", "shop", "--max-in-flight", "1", "--timeout", "60s", "--yes"]);
    assert.equal(wave.code, 1, `a failed wave exits 1: ${wave.stderr}`);
    const failed = events(wave).find((e) => e["event"] === "failed");
    assert.equal(failed?.["target"]!["name"], "blocked");
    assert.match(failed["reason"]!, /progress deadline exceeded|timed out/);
    assert.match(failed["reason"]!, /1 pod\(s\) not scheduled: Unschedulable: .*node/, "the failure says why: the pods' scheduling");
    assert.deepEqual(
      events(wave)
        .filter((e) => e["event"] === "started")
        .map((e) => e["target"]!["name"]),
      ["blocked"],
      "nothing new starts after the failure",
    );
    assert.match(wave.stderr, /rollout: 0 done, 1 failed, 0 still rolling out, 1 not started/);
    assert.match(wave.stderr, /failed shop\/deployment\/blocked: /);
    assert.match(wave.stderr, /resume, once the cause is fixed, with:\n {2}mesh-tailor rollout --namespace shop --max-in-flight 1 --timeout 60s --yes/);
    assert.equal(row(await statusJson(), "ratings").stale, 2, "ratings was never restarted");

    // The fix: the pods may run anywhere. Its own roll-out brings its pods up under the current policy.
    await apps.patchNamespacedDeployment(
      { namespace: "shop", name: "blocked", body: [{ op: "remove", path: "/spec/template/spec/nodeSelector" }] },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    await available("blocked", 1);
    const resumed = await cluster.cli(["rollout", "--namespace", "shop", "--max-in-flight", "1", "--timeout", "60s", "--yes"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(
      events(resumed)
        .filter((e) => e["event"] === "started")
        .map((e) => e["target"]!["name"]),
      ["ratings"],
    );
    await available("ratings", 2);
    const clean = await status();
    assert.equal(clean.code, 0, clean.stdout);
    assert.match(clean.stdout, /3 workloads: 2 services in the mesh, 0 pending migration, 0 pending rollback, 0 stale pods/);
  });

  it("on Ctrl-C starts nothing new and exits 130 with a summary", async () => {
    // Every workload (--all), one at a time: the interrupt lands while the first rolls out.
    const child = spawn(process.execPath, [CLI, "rollout", "--namespace", "shop", "--all", "--max-in-flight", "1", "--yes"], {
      env: { ...process.env, KUBECONFIG: cluster.controlPlane.kubeconfigPath },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await waitFor("the first restart to start", 60_000, () => (stdout.includes('"event":"started"') ? true : undefined));
    child.kill("SIGINT");
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /interrupted: starting nothing new/);
    assert.match(stderr, /rollout: \d+ done, 0 failed, \d+ still rolling out, \d+ not started \(interrupted\)/);
    const summary = events({ code: 130, stdout, stderr }).find((e) => e["event"] === "summary")!;
    assert.equal(summary["interrupted"], true);
    assert.equal(events({ code: 130, stdout, stderr }).filter((e) => e["event"] === "started").length, 1, "nothing started after the interrupt");
    assert.ok(summary["notStarted"]!.length >= 1);
  });
});
