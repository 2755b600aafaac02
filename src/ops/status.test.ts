import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appPod, classicInjected } from "../../test/fixtures/pods.js";
import { runPipeline } from "../mutations/pipeline.js";
import { loadPolicy, type CompiledPolicy } from "../policy/load.js";
import type { Pod } from "../pod/types.js";
import type { KubeObject } from "../kube/object.js";
import { ApiError } from "../kube/errors.js";
import { planRollout } from "./rollout.js";
import { collectionSizesOf, podAsStatusReadsIt, readStatus, statusFromSnapshot, type WorkloadStatus } from "./status.js";
import { ISTIO_SIDECAR_INJECTOR } from "../../test/fixtures/istio-webhooks.js";

const HEADER = "apiVersion: mesh-tailor.io/v1alpha1\nkind: TailorPolicy\n";
const NONE = loadPolicy(`${HEADER}services: []\n`);
const REVIEWS = loadPolicy(`${HEADER}services:\n  - name: reviews\n`);
const object = (
  kind: string,
  name: string,
  uid: string,
  extra: Record<string, unknown> = {},
  owner?: { kind: string; name: string; uid: string },
): KubeObject => ({
  kind,
  metadata: { name, namespace: "shop", uid, ...(owner ? { ownerReferences: [{ apiVersion: "apps/v1", ...owner, controller: true }] } : {}) },
  ...extra,
});

/** A small cluster: Deployment reviews (RS, 2 pods), CronJob report (Job, 1 pod), one bare pod, all admitted under POLICY. */
function cluster(admittedUnder: CompiledPolicy) {
  const template = appPod();
  const { ownerReferences: _o, generateName: _g, ...templateMeta } = template.metadata!;
  const admit = (pod: Pod, name: string, owner?: { kind: string; name: string; uid: string }): KubeObject => {
    const withOwner = {
      ...pod,
      metadata: { ...pod.metadata, name, namespace: "shop", ownerReferences: owner ? [{ apiVersion: "apps/v1", ...owner, controller: true }] : [] },
    } as Pod;
    const first = runPipeline({ pod: withOwner, namespace: "shop" }, admittedUnder).pod;
    const injected = first.metadata?.labels?.["sidecar.istio.io/inject"] === "true" ? classicInjected(first) : first;
    return runPipeline({ pod: injected, namespace: "shop" }, admittedUnder).pod as unknown as KubeObject;
  };
  const rs = { kind: "ReplicaSet", name: "reviews-7d9f8b6c5d", uid: "rs-1" };
  const job = { kind: "Job", name: "report-29400000", uid: "job-1" };
  const reportTemplate = { metadata: { labels: { app: "report" } }, spec: { containers: [{ name: "main", image: "report:1" }], restartPolicy: "Never" } };
  return {
    namespaces: [{ metadata: { name: "shop", labels: { "mesh-tailor.io/enabled": "true" } } }, { metadata: { name: "other" } }],
    deployments: [object("Deployment", "reviews", "deploy-1", { spec: { template: { ...template, metadata: templateMeta } } })],
    replicaSets: [object("ReplicaSet", rs.name, rs.uid, { spec: { template } }, { kind: "Deployment", name: "reviews", uid: "deploy-1" })],
    cronJobs: [object("CronJob", "report", "cron-1", { spec: { jobTemplate: { spec: { template: reportTemplate } } } })],
    jobs: [object("Job", job.name, job.uid, { spec: { template: reportTemplate } }, { kind: "CronJob", name: "report", uid: "cron-1" })],
    statefulSets: [],
    daemonSets: [],
    pods: [
      admit(template, "reviews-a", rs),
      admit(template, "reviews-b", rs),
      admit(reportTemplate, "report-29400000-x", job),
      admit(appPod({ name: "debug" }), "debug"),
    ],
  };
}

describe("status", () => {
  it("reports each workload of an enabled namespace, its pods found through their controllers", () => {
    const report = statusFromSnapshot(cluster(REVIEWS), REVIEWS);
    assert.deepEqual(
      report.workloads.map((w) => [w.kind, w.name, w.service, w.inMesh, w.pods, w.withProxy, w.stale]),
      [
        ["CronJob", "report", "report", false, 1, 0, 0],
        ["Deployment", "reviews", "reviews", true, 2, 2, 0],
        ["Pod", "(bare pods)", "debug", false, 1, 0, 0],
      ],
    );
    const { pods, ...summary } = report.summary;
    assert.deepEqual(summary, {
      workloads: 3,
      servicesInMesh: 1,
      servicesInAmbient: 0,
      pendingMigration: 0,
      pendingRollback: 0,
      stalePods: 0,
      problems: 0,
      bypassedPods: 0,
    });
    assert.deepEqual(pods, { sidecar: 2, ambient: 0, neither: 2, byRevision: { unknown: 2 } }, "the fixture's sidecar.istio.io/status names no revision");
  });

  it("marks a migrated service stale until restarted, and only it", () => {
    const report = statusFromSnapshot(cluster(NONE), REVIEWS);
    const reviews = report.workloads.find((w) => w.name === "reviews")!;
    assert.deepEqual([reviews.inMesh, reviews.withoutProxy, reviews.stale], [true, 2, 2]);
    assert.match(reviews.staleReason!, /no proxy, but the policy selects it/);
    assert.equal(report.summary.pendingMigration, 1);
    assert.deepEqual(
      report.workloads.filter((w) => w.stale > 0).map((w) => w.name),
      ["reviews"],
    );
  });

  it("leaves out a terminating pod: replaced already, nothing a restart could change", () => {
    const base = cluster(NONE);
    const [first, ...rest] = base.pods;
    const terminating = { ...first!, metadata: { ...first!.metadata, deletionTimestamp: "2026-11-30T12:00:00Z" } };
    const reviews = statusFromSnapshot({ ...base, pods: [terminating, ...rest] }, REVIEWS).workloads.find((w) => w.name === "reviews")!;
    assert.deepEqual([reviews.pods, reviews.stale], [1, 1]);
  });

  it("marks a rolled-back service stale, and filters by service and staleness", () => {
    const report = statusFromSnapshot(cluster(REVIEWS), NONE, { service: "rev*", staleOnly: true });
    assert.deepEqual(
      report.workloads.map((w) => [w.name, w.inMesh, w.withProxy, w.stale]),
      [["reviews", false, 2, 2]],
    );
    assert.equal(report.summary.pendingRollback, 1);
    assert.equal(statusFromSnapshot(cluster(REVIEWS), NONE, { namespace: "other" }).workloads.length, 0);
  });

  it("judges an ambient service: current with no proxy, stale for its dataplane while its pods still run a sidecar, and back", () => {
    const ambient = loadPolicy(`${HEADER}services:\n  - name: reviews\n    dataplane: ambient\n`);
    const moved = statusFromSnapshot(cluster(ambient), ambient);
    const reviews = moved.workloads.find((w) => w.name === "reviews")!;
    assert.deepEqual([reviews.inMesh, reviews.dataplane, reviews.withProxy, reviews.stale], [true, "ambient", 0, 0]);
    assert.equal(moved.summary.servicesInAmbient, 1);
    assert.deepEqual(moved.summary.pods, { sidecar: 0, ambient: 2, neither: 2, byRevision: {} });
    const moving = statusFromSnapshot(cluster(REVIEWS), ambient).workloads.find((w) => w.name === "reviews")!;
    assert.equal(moving.stale, 2);
    assert.match(moving.staleReason!, /a sidecar, but the policy puts it in ambient/);
    assert.deepEqual(moving.staleBy, { policy: 2, dataplane: 2, "proxy-version": 0, "sidecar-mode": 0 });
    // --reason counts only the pods stale for it, and says only it.
    const onlyPolicy = statusFromSnapshot(cluster(REVIEWS), ambient, { reason: "policy" }).workloads.find((w) => w.name === "reviews")!;
    assert.equal(onlyPolicy.stale, 2);
    assert.doesNotMatch(onlyPolicy.staleReason!, /ambient/);
    const edited = loadPolicy(`${HEADER}services:\n  - name: reviews\n    proxyResources: {cpu: 300m}\n`);
    const dataplaneOnly = statusFromSnapshot(cluster(REVIEWS), edited, { reason: "dataplane" }).workloads.find((w) => w.name === "reviews")!;
    assert.deepEqual([dataplaneOnly.stale, dataplaneOnly.staleReason], [0, undefined], "a policy edit is no dataplane move");
    const back = statusFromSnapshot(cluster(ambient), REVIEWS).workloads.find((w) => w.name === "reviews")!;
    assert.equal(back.stale, 2);
    assert.match(back.staleReason!, /in ambient, but the policy gives it a sidecar/);
    assert.equal(back.dataplane, "sidecar");
  });

  it("holds an ambient service to its gates once they are read: a ready ztunnel on its pods' nodes, its waypoint, no HTTP rules by selector", () => {
    const ambient = loadPolicy(`${HEADER}services:\n  - name: reviews\n    dataplane: ambient\n    waypoint: reviews-waypoint\n`);
    const onNode = (pods: KubeObject[]) => pods.map((p) => ({ ...p, spec: { ...(p["spec"] as object), nodeName: "node-a" } }));
    const base = cluster(ambient);
    const ztunnel: KubeObject = {
      metadata: { name: "ztunnel-x", namespace: "istio-system", labels: { app: "ztunnel" } },
      spec: { nodeName: "node-a" },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    };
    const waypoint: KubeObject = {
      metadata: { name: "reviews-waypoint", namespace: "shop" },
      spec: { gatewayClassName: "istio-waypoint" },
      status: { conditions: [{ type: "Programmed", status: "True" }] },
    };
    const problemOf = (extra: Record<string, unknown>) =>
      statusFromSnapshot({ ...base, pods: onNode(base.pods), ...extra }, ambient).workloads.find((w) => w.name === "reviews")!.problem;
    // Not read (a policy with no ambient service): no gate.
    assert.equal(statusFromSnapshot(base, ambient).workloads.find((w) => w.name === "reviews")!.problem, undefined);
    assert.match(problemOf({ gateways: [waypoint], authorizationPolicies: [] })!, /no ztunnel is ready in the cluster/);
    assert.match(
      problemOf({ pods: [...onNode(base.pods), ztunnel], gateways: [waypoint], authorizationPolicies: [] })!,
      /^no istio-cni is ready in the cluster/,
    );
    assert.match(problemOf({ gateways: [], authorizationPolicies: [] })!, /waypoint, Gateway shop\/reviews-waypoint, does not exist/);
    const cni: KubeObject = { ...ztunnel, metadata: { name: "istio-cni-node-x", namespace: "istio-system", labels: { "k8s-app": "istio-cni-node" } } };
    const ready = { pods: [...onNode(base.pods), ztunnel, cni] };
    assert.equal(
      statusFromSnapshot({ ...base, ...ready, gateways: [waypoint], authorizationPolicies: [] }, ambient).workloads.find((w) => w.name === "reviews")!.problem,
      undefined,
    );
    const l7 = {
      metadata: { name: "admin-only", namespace: "shop" },
      spec: { selector: { matchLabels: { app: "reviews" } }, rules: [{ to: [{ operation: { methods: ["POST"] } }] }] },
    };
    const refused = statusFromSnapshot({ ...base, ...ready, gateways: [waypoint], authorizationPolicies: [l7] }, ambient);
    assert.match(
      refused.workloads.find((w) => w.name === "reviews")!.problem!,
      /AuthorizationPolicy shop\/admin-only selects its pods and has HTTP rules \(to\.operation\.methods\)/,
    );
    assert.equal(refused.summary.problems, 1);
  });

  it("judges pods kept as status reads them (no managedFields, of their status only the conditions) as it judges them whole", async () => {
    const ambient = loadPolicy(`${HEADER}services:\n  - name: reviews\n    dataplane: ambient\n`);
    const whole = (pod: KubeObject, node: string): KubeObject => ({
      ...pod,
      metadata: { ...pod.metadata, managedFields: [{ manager: "kube-controller-manager", operation: "Update", fieldsV1: { "f:spec": {} } }] },
      spec: { ...(pod["spec"] as object), nodeName: node },
      status: {
        phase: "Running",
        podIP: "10.0.0.7",
        conditions: [{ type: "Ready", status: "True" }],
        containerStatuses: [{ name: "main", image: "reviews:1", state: { running: { startedAt: "2026-01-01T00:00:00Z" } } }],
      },
    });
    const agent = (name: string, labels: Record<string, string>): KubeObject =>
      whole({ metadata: { name, namespace: "istio-system", labels }, spec: {} }, "node-a");
    const agents = [agent("ztunnel-a", { app: "ztunnel" }), agent("istio-cni-node-a", { "k8s-app": "istio-cni-node" })];
    for (const [admittedUnder, judgedBy] of [
      [REVIEWS, REVIEWS],
      [REVIEWS, ambient],
      [ambient, ambient],
    ] as const) {
      const base = cluster(admittedUnder);
      const pods = [...base.pods.map((pod) => whole(pod, "node-a")), ...agents];
      const snapshot = { ...base, pods, gateways: [], authorizationPolicies: [] };
      const kept = { ...snapshot, pods: pods.map(podAsStatusReadsIt) };
      assert.deepEqual(statusFromSnapshot(kept, judgedBy), statusFromSnapshot(snapshot, judgedBy));
    }
    const kept = podAsStatusReadsIt(whole(cluster(REVIEWS).pods[0]!, "node-a"));
    assert.deepEqual([kept.metadata.managedFields, kept["status"]], [undefined, { conditions: [{ type: "Ready", status: "True" }] }]);
    assert.equal((kept["spec"] as { nodeName?: string }).nodeName, "node-a");
    // readStatus asks its client to keep pods so, and every other object without its managedFields.
    const keeps = new Map<string, ((o: KubeObject) => KubeObject) | undefined>();
    const api = {
      list: (path: string, _query?: unknown, options?: { keep?: (o: KubeObject) => KubeObject }) => {
        keeps.set(path, options?.keep);
        return Promise.resolve({ items: [], resourceVersion: "1" }) as never;
      },
      get: (path: string) => Promise.reject(new ApiError(404, "NotFound", `not found: ${path}`)),
    };
    await readStatus(api, REVIEWS);
    assert.equal(keeps.get("/api/v1/pods"), podAsStatusReadsIt);
    const deployment = { metadata: { name: "d", managedFields: [{ manager: "kubectl" }], labels: { app: "d" } }, spec: { replicas: 2 } };
    assert.deepEqual(keeps.get("/apis/apps/v1/deployments")?.(deployment), { metadata: { name: "d", labels: { app: "d" } }, spec: { replicas: 2 } });
  });

  it("reads and judges the gates of a workload whose template enrols itself in ambient, though the policy names no ambient service", async () => {
    const base = cluster(REVIEWS);
    const selfEnrolled = base.deployments.map((d) => {
      const spec = d["spec"] as { template: Pod };
      const labels = { ...spec.template.metadata?.labels, "istio.io/dataplane-mode": "ambient" };
      return { ...d, spec: { template: { ...spec.template, metadata: { ...spec.template.metadata, labels } } } };
    });
    const collections: Record<string, KubeObject[]> = {
      "/api/v1/namespaces": base.namespaces,
      "/api/v1/pods": base.pods,
      "/apis/apps/v1/replicasets": base.replicaSets,
      "/apis/apps/v1/deployments": selfEnrolled,
      "/apis/batch/v1/jobs": base.jobs,
      "/apis/batch/v1/cronjobs": base.cronJobs,
      "/apis/gateway.networking.k8s.io/v1/gateways": [],
      "/apis/security.istio.io/v1/authorizationpolicies": [],
    };
    const asked: string[] = [];
    const api = {
      list: (path: string) => {
        asked.push(path);
        return Promise.resolve({ items: collections[path] ?? [], resourceVersion: "1" }) as never;
      },
      get: (path: string) => Promise.reject(new ApiError(404, "NotFound", `not found: ${path}`)),
    };
    const report = await readStatus(api, REVIEWS);
    const reviews = report.workloads.find((w) => w.name === "reviews")!;
    assert.equal(reviews.dataplane, "ambient");
    assert.match(reviews.problem!, /no ztunnel is ready in the cluster/);
    assert.ok(asked.includes("/apis/security.istio.io/v1/authorizationpolicies"), asked.join(", "));
    // A policy and cluster with no ambient: the gates' collections are never read.
    collections["/apis/apps/v1/deployments"] = base.deployments;
    asked.length = 0;
    await readStatus({ list: api.list, get: api.get }, NONE);
    assert.ok(!asked.some((path) => path.includes("gateway") || path.includes("authorization")), asked.join(", "));
  });

  it("counts an Istio upgrade: pods whose proxy is older than their revision injects now, read from its injector ConfigMap", async () => {
    const base = cluster(REVIEWS);
    const values = (tag: string, env: Record<string, unknown>) => JSON.stringify({ global: { hub: "docker.io/istio", tag }, pilot: { env } });
    let injectorValues = values("1.27.0", { ENABLE_NATIVE_SIDECARS: "false" });
    let forbidden = false;
    const collections: Record<string, KubeObject[]> = {
      "/api/v1/namespaces": [{ metadata: { name: "shop", labels: { "mesh-tailor.io/enabled": "true", "istio-injection": "enabled" } } }],
      "/api/v1/pods": base.pods,
      "/apis/apps/v1/replicasets": base.replicaSets,
      "/apis/apps/v1/deployments": base.deployments,
      "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations": [ISTIO_SIDECAR_INJECTOR],
    };
    const asked: string[] = [];
    const api = {
      list: (path: string) => {
        asked.push(path);
        return Promise.resolve({ items: collections[path] ?? [], resourceVersion: "1" }) as never;
      },
      get: (path: string, _query?: unknown, options?: { accept?: string }) => {
        asked.push(path);
        // The nodes as kube-apiserver's table: only the kubelet versions are read.
        if (path === "/api/v1/nodes" && options?.accept?.includes("as=Table"))
          return Promise.resolve({
            columnDefinitions: [{ name: "Name" }, { name: "Version" }],
            rows: [{ cells: ["node-1", "v1.34.1"] }],
            metadata: {},
          }) as never;
        if (path.includes("istio-sidecar-injector-default")) return Promise.reject(new ApiError(404, "NotFound", "not found"));
        if (forbidden) return Promise.reject(new ApiError(403, "Forbidden", "forbidden"));
        return path === "/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector"
          ? (Promise.resolve({ data: { values: injectorValues } }) as never)
          : Promise.reject(new ApiError(404, "NotFound", "not found"));
      },
    };
    const reviews = async (filter = {}) => (await readStatus(api, REVIEWS, filter)).workloads.find((w) => w.name === "reviews")!;
    assert.deepEqual([(await reviews()).stale, asked.includes("/api/v1/nodes")], [0, false], "current; the nodes are not read when no revision goes by them");
    // The revision now injects 1.28.0, and native sidecars where every kubelet is 1.33 or newer.
    injectorValues = values("1.28.0", {});
    const upgraded = await reviews();
    assert.deepEqual([upgraded.stale, upgraded.staleBy], [2, { policy: 0, dataplane: 0, "proxy-version": 2, "sidecar-mode": 2 }]);
    assert.match(
      upgraded.staleReason!,
      /runs proxy docker.io\/istio\/proxyv2:1.27.0; revision default injects docker.io\/istio\/proxyv2:1.28.0 now; a classic sidecar/,
    );
    assert.ok(asked.includes("/api/v1/nodes"));
    // What each revision injects now, as read, is in the report for whoever gates on it.
    assert.deepEqual((await readStatus(api, REVIEWS)).injecting, { default: { image: "docker.io/istio/proxyv2:1.28.0", nativeSidecars: "auto" } });
    const byVersion = await reviews({ reason: "proxy-version" });
    assert.deepEqual(
      [byVersion.stale, byVersion.staleReason],
      [2, "runs proxy docker.io/istio/proxyv2:1.27.0; revision default injects docker.io/istio/proxyv2:1.28.0 now"],
    );
    assert.equal((await reviews({ reason: "policy" })).stale, 0, "an upgrade is no policy edit");
    // A user who may not read the ConfigMap: nothing judged on it, and told so.
    forbidden = true;
    const blind = await readStatus(api, REVIEWS);
    assert.equal(blind.workloads.find((w) => w.name === "reviews")!.stale, 0);
    assert.deepEqual(blind.unjudged, [
      'revision default: ConfigMap istio-system/istio-sidecar-injector is forbidden to this user (grant it: README, "Cluster commands")',
    ]);
  });

  it("shows the connection switches a workload's pods get in the mesh, and none for one out of it", () => {
    const switches = loadPolicy(
      `${HEADER}defaults:\n  connection: {idleTimeout: 2h}\nservices:\n  - name: reviews\n    connection: {http10: true, localPortRange: "15100-65000", appKeepAlive: {env: KEEP_ALIVE}}\n`,
    );
    const report = statusFromSnapshot(cluster(switches), switches);
    assert.deepEqual(
      report.workloads.map((w) => [w.name, w.connection]),
      [
        ["report", undefined],
        ["reviews", "HTTP/1.0, source ports 15100-65000, idle timeout 2h, app keep-alive from env KEEP_ALIVE"],
        ["(bare pods)", undefined],
      ],
    );
    assert.equal(statusFromSnapshot(cluster(REVIEWS), REVIEWS).workloads.find((w) => w.name === "reviews")!.connection, undefined);
  });
});

describe("pods that bypassed tailoring while Istio injected them", () => {
  const ROLLED_BACK = loadPolicy(`${HEADER}mesh:\n  enabled: false\nservices:\n  - name: reviews\n`);
  const SKIP = { "mesh-tailor.io/skip": "true", "sidecar.istio.io/inject": "true" };
  /** Deployment legacy (labelled to be skipped, asking Istio for its proxy) and its pods, admitted as kube-apiserver would under POLICY. */
  function withLegacy(admittedUnder: CompiledPolicy, labels: Record<string, string> = SKIP, webhookUp = true) {
    const template: Pod = { metadata: { labels: { app: "legacy", ...labels } }, spec: { containers: [{ name: "app", image: "legacy:1" }] } };
    const rs = { kind: "ReplicaSet", name: "legacy-6b7c8d9f5", uid: "rs-legacy" };
    const pod = (name: string): KubeObject => {
      const created = {
        ...template,
        metadata: { ...template.metadata, name, namespace: "shop", ownerReferences: [{ apiVersion: "apps/v1", ...rs, controller: true }] },
      };
      const first = webhookUp ? runPipeline({ pod: created, namespace: "shop" }, admittedUnder).pod : created;
      // Istio's object webhook injects a pod labelled "true", whoever labelled it.
      const injected = first.metadata?.labels?.["sidecar.istio.io/inject"] === "true" ? classicInjected(first) : first;
      return (webhookUp ? runPipeline({ pod: injected, namespace: "shop" }, admittedUnder).pod : injected) as unknown as KubeObject;
    };
    const base = cluster(REVIEWS);
    return {
      ...base,
      deployments: [...base.deployments, object("Deployment", "legacy", "deploy-legacy", { spec: { template } })],
      replicaSets: [
        ...base.replicaSets,
        object("ReplicaSet", rs.name, rs.uid, { spec: { template } }, { kind: "Deployment", name: "legacy", uid: "deploy-legacy" }),
      ],
      pods: [...base.pods, pod("legacy-a"), pod("legacy-b")],
    };
  }
  const legacy = (report: ReturnType<typeof statusFromSnapshot>) => report.workloads.find((w) => w.name === "legacy")!;

  it("lists skip-labelled pods Istio injected, never stale while the mesh is enabled, and rollout leaves them", () => {
    const report = statusFromSnapshot(withLegacy(REVIEWS), REVIEWS);
    const row = legacy(report);
    assert.deepEqual([row.inMesh, row.pods, row.withProxy, row.stale, row.bypassed], [undefined, 2, 2, 0, 2]);
    assert.equal(row.bypassReason, 'labelled mesh-tailor.io/skip: "true"');
    assert.equal(report.summary.bypassedPods, 2);
    assert.equal(report.summary.stalePods, 0, "nothing to restart: a restart would change nothing");
    assert.deepEqual(planRollout(report).restart, []);
  });

  it("under the rollback, makes stale the skip-labelled pods that run a proxy, and only those", () => {
    const report = statusFromSnapshot(withLegacy(REVIEWS), ROLLED_BACK);
    const row = legacy(report);
    assert.deepEqual([row.inMesh, row.stale, row.bypassed], [false, 2, 2]);
    assert.equal(row.staleReason, "a proxy, but the policy leaves it out");
    assert.ok(planRollout(report).restart.some((t) => t.name === "legacy"));
    // Labelled to be skipped, but not asking for a proxy: nothing for the rollback to take out.
    const quiet = legacy(statusFromSnapshot(withLegacy(REVIEWS, { "mesh-tailor.io/skip": "true" }), ROLLED_BACK));
    assert.deepEqual([quiet.withProxy, quiet.stale, quiet.bypassed], [0, 0, 0]);
    // Once restarted under the rollback, they are current: no proxy, tailored.
    const restarted = legacy(statusFromSnapshot(withLegacy(ROLLED_BACK), ROLLED_BACK));
    assert.deepEqual([restarted.withProxy, restarted.stale, restarted.bypassed], [0, 0, 0]);
  });

  it("counts pods admitted without mesh-tailor that Istio injected, which are stale as well", () => {
    const report = statusFromSnapshot(withLegacy(REVIEWS, { "sidecar.istio.io/inject": "true" }, false), REVIEWS);
    const row = legacy(report);
    assert.deepEqual([row.withProxy, row.stale, row.bypassed], [2, 2, 2]);
    assert.equal(row.bypassReason, "admitted without mesh-tailor");
    assert.match(row.staleReason!, /admitted without mesh-tailor/);
  });
});

describe("the rollout plan", () => {
  it("restarts stale Deployments, StatefulSets and DaemonSets, and reports the rest it will not touch", () => {
    // Every workload's pods carry their branch: a new default branch makes them stale. The bare
    // pod (its own template, its branch looking like its own) is made stale by migrating it.
    const report = statusFromSnapshot(
      cluster(REVIEWS),
      loadPolicy(`${HEADER}sandbox:\n  defaultBranch: main\nservices:\n  - name: reviews\n  - name: debug\n`),
    );
    const plan = planRollout(report);
    assert.deepEqual(plan.restart, [{ namespace: "shop", kind: "Deployment", name: "reviews" }]);
    assert.deepEqual(
      plan.skipped.map((s) => [s.target.kind, s.reason.split(":")[0]]),
      [
        ["CronJob", "not restarted"],
        ["Pod", "not deleted"],
      ],
    );
    assert.deepEqual(planRollout(statusFromSnapshot(cluster(REVIEWS), REVIEWS)).restart, [], "nothing stale, nothing to do");
    assert.equal(planRollout(statusFromSnapshot(cluster(REVIEWS), REVIEWS), true).restart.length, 1, "--all restarts what it can regardless");
  });

  it("refuses only what it would restart: a stale Job or bare pods that cannot take effect are listed, and stop nothing", () => {
    const report = statusFromSnapshot(cluster(REVIEWS), REVIEWS);
    const problem = "no Istio injection webhook serves revision canary";
    const stale = (w: WorkloadStatus): WorkloadStatus => ({ ...w, stale: 1, problem });
    const plan = planRollout({ ...report, workloads: report.workloads.map(stale) });
    assert.deepEqual(
      plan.refused.map((r) => r.target.kind),
      ["Deployment"],
    );
    assert.deepEqual(
      plan.skipped.map((s) => s.target.kind),
      ["CronJob", "Pod"],
    );
  });
});

describe("the injection status judges", () => {
  const CANARY = loadPolicy(`${HEADER}services:\n  - name: reviews\n    revision: canary\n`);
  const withIstio = (namespaceLabels: Record<string, string>) => ({
    ...cluster(REVIEWS),
    namespaces: [{ metadata: { name: "shop", labels: { "mesh-tailor.io/enabled": "true", ...namespaceLabels } } }],
    webhookConfigurations: [ISTIO_SIDECAR_INJECTOR],
  });

  it("is a problem a restart cannot fix when no Istio webhook serves the revision", () => {
    const report = statusFromSnapshot(withIstio({}), CANARY);
    const reviews = report.workloads.find((w) => w.name === "reviews")!;
    assert.match(reviews.problem ?? "", /no Istio injection webhook injects it: revision "canary" has none/);
    assert.equal(report.summary.problems, 1);
    assert.deepEqual(
      planRollout(report).refused.map((r) => r.target.name),
      ["reviews"],
    );
    assert.deepEqual(report.injectors, { default: "default" });
  });

  it("is a problem, and its pods stale, where a namespace label sends the pods to another revision", () => {
    const report = statusFromSnapshot(withIstio({ "istio-injection": "enabled" }), CANARY);
    const reviews = report.workloads.find((w) => w.name === "reviews")!;
    assert.match(reviews.problem ?? "", /injected by revision default, not revision "canary": namespace shop's Istio label overrides the revision/);
  });

  it("says nothing of injection when the webhook configurations cannot be read", () => {
    const report = statusFromSnapshot({ ...withIstio({}), webhookConfigurations: undefined }, CANARY);
    assert.equal(report.summary.problems, 0);
    assert.equal(report.injectors, undefined);
  });
});

describe("the sizes of the collections rollout may LIST", () => {
  it("counts every Deployment, StatefulSet and DaemonSet by namespace and kind, whatever a filter shows", () => {
    const object = (namespace: string, name: string) => ({ metadata: { namespace, name } });
    const sizes = collectionSizesOf({
      deployments: [object("shop", "a"), object("shop", "b"), object("data", "c")],
      statefulSets: [object("shop", "db")],
      daemonSets: [],
    });
    assert.deepEqual(Object.fromEntries(sizes), { "shop/Deployment": 2, "data/Deployment": 1, "shop/StatefulSet": 1 });
  });
});
