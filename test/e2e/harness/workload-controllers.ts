import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, type AppsV1Api, type V1Node } from "@kubernetes/client-node";
import type { ControlPlane } from "./control-plane.js";
import { infraBinary } from "./infra.js";
import { GiveUp, startProcess, waitFor, type Started } from "./processes.js";

export interface WorkloadControllers {
  readonly nodes: readonly string[];
  /** Starts kube-controller-manager, kube-scheduler and kwok afresh, as after kube-apiserver restarts in a real cluster. */
  restartAgents(): Promise<void>;
  stop(): Promise<void>;
}

// kwok takes the nodes carrying this annotation (kwok's documented out-of-cluster setup).
const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";

// What kwok does to its objects, as kwok.x-k8s.io/v1alpha1 Stages (the format of kwok's
// --config; each Stage selects objects with jq-like expressions and writes a status from a Go
// template). Three are enough here: a node becomes Ready; a pod bound to one runs and is ready
// at once (init containers done, native sidecars running); a pod being deleted goes.
const KWOK_STAGES = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: mesh-tailor-node-ready}
spec:
  resourceRef: {apiGroup: v1, kind: Node}
  selector:
    matchExpressions:
      - {key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: NotIn, values: ["True"]}
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
        - {type: Ready, status: "True", reason: KubeletReady, message: "kwok simulates this node", lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}
      allocatable: {{ YAML .status.allocatable 1 }}
      capacity: {{ YAML .status.capacity 1 }}
      nodeInfo: {architecture: amd64, operatingSystem: linux, kubeletVersion: kwok, kubeProxyVersion: kwok, containerRuntimeVersion: kwok, kernelVersion: kwok, osImage: "", machineID: "", bootID: "", systemUUID: ""}
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: mesh-tailor-pod-ready}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
      - {key: .metadata.deletionTimestamp, operator: DoesNotExist}
      - {key: .status.phase, operator: In, values: [Pending]}
      - {key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: NotIn, values: ["True"]}
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
        - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
        - {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
        - {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
        - {name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: true, started: true, restartCount: 0, state: {running: {startedAt: {{ $now | Quote }}}}}
      {{ end }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
        {{ if eq .restartPolicy "Always" }}
        - {name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: true, started: true, restartCount: 0, state: {running: {startedAt: {{ $now | Quote }}}}}
        {{ else }}
        - {name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: true, restartCount: 0, state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}}
        {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: mesh-tailor-pod-delete}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
      - {key: .metadata.deletionTimestamp, operator: Exists}
  next:
    delete: true
`;

function fakeNode(name: string): V1Node {
  return {
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: "fake" },
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "topology.kubernetes.io/region": "eu-west1",
        "topology.kubernetes.io/zone": "eu-west1-b",
        type: "kwok",
      },
    },
    // Room for the simulation at --scale 5 and its surge: 20,000+ pods on two nodes, each with a
    // proxy that requests 100m CPU. The suite tests mesh-tailor, not bin packing.
    status: { capacity: { cpu: "10000", memory: "40000Gi", pods: "15000" }, allocatable: { cpu: "10000", memory: "40000Gi", pods: "15000" } },
  };
}

/**
 * What makes the control plane run workloads: kube-controller-manager (Deployments become
 * ReplicaSets and pods, through the real admission chain), kube-scheduler, and kwok, whose
 * simulated nodes run no containers but report every pod bound to them Running and Ready.
 */
export async function startWorkloadControllers(controlPlane: ControlPlane, dir: string, nodeCount = 2): Promise<WorkloadControllers> {
  const kubeconfig = controlPlane.kubeconfigPath;
  const started: Started[] = [];
  const stop = async () => {
    for (const process of started.reverse()) await process.stop();
  };
  try {
    const schedulerConfig = join(dir, "kube-scheduler.yaml");
    writeFileSync(
      schedulerConfig,
      `apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: ${kubeconfig}\n  qps: 300\n  burst: 600\nleaderElection:\n  leaderElect: false\n`,
    );
    const stages = join(dir, "kwok-stages.yaml");
    writeFileSync(stages, KWOK_STAGES);
    const starts = new Map<string, number>();
    // Each start logs to a file of its own: NAME.log, then NAME-2.log, ...
    const logFor = (name: string) => {
      const count = (starts.get(name) ?? 0) + 1;
      starts.set(name, count);
      return join(dir, `${name}${count > 1 ? `-${count}` : ""}.log`);
    };
    const agents: (() => Started)[] = [
      () =>
        // prettier-ignore
        startProcess(infraBinary("kube-controller-manager"), [
          "--kubeconfig", kubeconfig,
          "--authentication-kubeconfig", kubeconfig,
          "--authorization-kubeconfig", kubeconfig,
          "--leader-elect=false",
          "--bind-address", "127.0.0.1",
          "--secure-port", "0",
          "--service-account-private-key-file", controlPlane.pki.serviceAccountKey,
          "--root-ca-file", controlPlane.pki.caCert,
          "--use-service-account-credentials=false",
          // Quick enough for tests: a Deployment's status follows its pods within a second, and
          // thousands of pods (the scale simulation) are not held back by client-side rate limits.
          "--concurrent-deployment-syncs", "10",
          "--concurrent-replicaset-syncs", "10",
          "--kube-api-qps", "300",
          "--kube-api-burst", "600",
          "--v", "1",
        ], logFor("kube-controller-manager")),
      () =>
        // prettier-ignore
        startProcess(infraBinary("kube-scheduler"), [
          "--config", schedulerConfig,
          "--authentication-kubeconfig", kubeconfig,
          "--authorization-kubeconfig", kubeconfig,
          "--bind-address", "127.0.0.1",
          "--secure-port", "0",
          "--v", "1",
        ], logFor("kube-scheduler")),
      () =>
        // prettier-ignore
        startProcess(infraBinary("kwok"), [
          "--kubeconfig", kubeconfig,
          "--config", stages,
          "--manage-all-nodes=false",
          `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
          "--cidr", "10.0.0.0/16",
          "--node-ip", "10.0.0.1",
          "--node-lease-duration-seconds", "40",
        ], logFor("kwok")),
    ];
    for (const start of agents) started.push(start());
    // After kube-apiserver restarts, the agents start afresh, as they do in a real cluster: a
    // kube-scheduler or kube-controller-manager that cannot renew its lease for the renew deadline
    // (10 s by default; these run without leader election) exits and the kubelet restarts it,
    // and kubelets reconnect. Left running instead, they were seen not to resume in time: kwok
    // v0.8 left new pods Pending for 95 s, and a pod created just after the restart was never
    // scheduled within 3 minutes on a busy 2-core machine.
    const restartAgents = async () => {
      for (const agent of started.splice(0)) await agent.stop();
      for (const start of agents) started.push(start());
    };

    const core = controlPlane.kubeConfig.makeApiClient(CoreV1Api);
    const nodes = Array.from({ length: nodeCount }, (_, i) => `kwok-node-${i}`);
    for (const name of nodes) await core.createNode({ body: fakeNode(name) });
    await waitFor(
      `${nodeCount} kwok nodes to be Ready`,
      60_000,
      async () => {
        for (const process of started) if (process.child.exitCode !== null) throw new GiveUp(`${process.child.spawnfile} exited: ${process.tail()}`);
        const ready = (await core.listNode()).items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
        return ready.length >= nodeCount ? true : undefined;
      },
      500,
    );
    return { nodes, stop, restartAgents };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits (two minutes at most) until Deployment NAMESPACE/NAME has REPLICAS replicas, every one updated and available. */
export function deploymentAvailable(apps: AppsV1Api, namespace: string, name: string, replicas: number): Promise<true> {
  return waitFor(
    `deployment ${name} to have ${replicas} available replicas`,
    120_000,
    async () => {
      const d = await apps.readNamespacedDeployment({ namespace, name });
      return d.status?.availableReplicas === replicas && d.status.updatedReplicas === replicas && d.status.replicas === replicas ? true : undefined;
    },
    500,
  );
}
