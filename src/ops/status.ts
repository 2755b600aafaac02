import type { Pod } from "../pod/types.js";
import { compileGlob } from "../policy/glob.js";
import { ambientServices } from "../policy/dataplane.js";
import type { Dataplane } from "../policy/schema.js";
import { selectorMatches } from "../kube/label-selector.js";
import { authorizationProblem, nodeAgentProblem, nodeAgents, nodesOf, waypointProblem } from "./ambient-gates.js";
import type { CompiledPolicy } from "../policy/load.js";
import type { KubeObject } from "../kube/object.js";
import type { KubeApi } from "../kube/client.js";
import { injectedRevision, injectionProblem } from "../namespaces/injection.js";
import * as istio from "../keys/istio.js";
import { isEnabled } from "../namespaces/namespace-labels.js";
import { injectableRevisions, istioInjectorsFor, type MutatingWebhookConfiguration } from "../namespaces/webhook-configurations.js";
import { bypassOf } from "./bypass.js";
import { judgePod, judgeTemplate, withoutOwnDecision, type TemplateVerdict } from "./pod-state.js";
import { reasonOf, STALE_REASONS, type StaleReasonName } from "./stale-reasons.js";
import { readSnapshot, withoutManagedFields, type Snapshot } from "./snapshot.js";
import { readIstioInjection } from "./injector-reads.js";
import type { IstioInjectors } from "./proxy-staleness.js";
import { proxyImageOf, type RevisionInjection } from "../namespaces/revision-injection.js";

/** The kinds `status` reports; bare pods are grouped per namespace as "Pod". */
export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet" | "CronJob" | "Job" | "ReplicaSet" | "Pod";

export interface WorkloadStatus {
  readonly namespace: string;
  readonly kind: WorkloadKind;
  /** The workload's name; "(bare pods)" for a namespace's pods that no controller owns. */
  readonly name: string;
  readonly service: string | undefined;
  /** What the current policy decides for the workload's template: in, out, or not tailored (undefined). */
  readonly inMesh: boolean | undefined;
  readonly revision: string | undefined;
  readonly pods: number;
  readonly withProxy: number;
  readonly withoutProxy: number;
  readonly stale: number;
  /** Its stale pods by why (a pod may count under more than one reason). */
  readonly staleBy: Readonly<Record<StaleReasonName, number>>;
  /** Why its first stale pod is stale. */
  readonly staleReason: string | undefined;
  /**
   * Its pods that run Istio's proxy without mesh-tailor's tailoring (no mesh-tailor.io/tailoring
   * record): labelled mesh-tailor.io/skip, or admitted without mesh-tailor (those are stale too).
   */
  readonly bypassed: number;
  /** Why, each reason once, in the order its pods give them. */
  readonly bypassReason: string | undefined;
  /**
   * What keeps its pods from the injection the policy asks for (no Istio webhook injects them,
   * or a namespace label sends them to another revision): a restart cannot fix it.
   */
  readonly problem?: string | undefined;
  /** The services entry that decides for its template, by its index in the policy. */
  readonly entryIndex?: number | undefined;
  /** The connection switches its pods get in the mesh, in words (README, "Connections"). */
  readonly connection?: string | undefined;
  /** How its pods join the mesh when they do: a sidecar each, or ambient. */
  readonly dataplane?: Dataplane | undefined;
}

export interface StatusSummary {
  readonly workloads: number;
  readonly servicesInMesh: number;
  /** Of those, the ones in ambient. */
  readonly servicesInAmbient: number;
  /** Workloads the policy puts in the mesh with pods still to restart. */
  readonly pendingMigration: number;
  /** Workloads the policy leaves out with pods still to restart. */
  readonly pendingRollback: number;
  readonly stalePods: number;
  /** Workloads the policy cannot take effect on as it stands (a WorkloadStatus problem). */
  readonly problems: number;
  /** Pods that run Istio's proxy without mesh-tailor's tailoring (a WorkloadStatus bypassed). */
  readonly bypassedPods: number;
  /**
   * The pods of the workloads shown by dataplane, and those with a sidecar by the Istio revision
   * that injected them: an upgrade's or an ambient migration's progress at a glance.
   */
  readonly pods: { readonly sidecar: number; readonly ambient: number; readonly neither: number; readonly byRevision: Readonly<Record<string, number>> };
}

export interface StatusReport {
  readonly policyRevision: string;
  /** Every Istio revision and tag with an injection webhook, to the revision it injects; absent when unreadable. */
  readonly injectors?: Readonly<Record<string, string>> | undefined;
  /**
   * Each revision's proxy image and native sidecars as it injects them now (its injector
   * ConfigMap), where read; what could not be read, in words, is in `unjudged`: pods are not
   * judged stale for it.
   */
  readonly injecting?: Readonly<Record<string, { readonly image: string | undefined; readonly nativeSidecars: string }>> | undefined;
  readonly unjudged?: readonly string[] | undefined;
  readonly workloads: readonly WorkloadStatus[];
  readonly summary: StatusSummary;
}

export interface StatusFilter {
  /** Globs, as in the policy. */
  readonly namespace?: string | undefined;
  readonly service?: string | undefined;
  readonly staleOnly?: boolean | undefined;
  /** Count a pod stale only for this reason (status --reason, rollout --reason). */
  readonly reason?: StaleReasonName | undefined;
  /** Every namespace but kube-system, enabled or not: what the policy would do if they were. */
  readonly allNamespaces?: boolean | undefined;
}

export const BARE_PODS = "(bare pods)";

/** A snapshot, with what Istio's revisions inject now when it could be read (readStatusSnapshot). */
export type StatusSnapshot = Snapshot & {
  readonly injections?: ReadonlyMap<string, RevisionInjection>;
  readonly kubelets?: readonly string[] | undefined;
  /** What of Istio's injection could not be read, and so is not judged, in words. */
  readonly unjudged?: readonly string[];
};

/** What the snapshot says of Istio's injection; undefined when its webhooks could not be read. */
export function injectorsOf(snapshot: StatusSnapshot): IstioInjectors | undefined {
  if (!snapshot.webhookConfigurations) return undefined;
  const configurations = snapshot.webhookConfigurations as MutatingWebhookConfiguration[];
  return {
    revisions: injectableRevisions(configurations),
    configurations,
    namespaces: new Map((snapshot.namespaces ?? []).map((n) => [n.metadata.name, n])),
    ...(snapshot.injections ? { injections: snapshot.injections } : {}),
    kubelets: snapshot.kubelets,
  };
}

const templateAt = (object: KubeObject, kind: WorkloadKind): Pod | undefined => {
  const spec = object["spec"] as { template?: Pod; jobTemplate?: { spec?: { template?: Pod } } } | undefined;
  return kind === "CronJob" ? spec?.jobTemplate?.spec?.template : spec?.template;
};

const controllerOf = (object: KubeObject) => object.metadata.ownerReferences?.find((o) => o.controller === true);

/**
 * One row per workload in the namespaces mesh-tailor tailors, from one paged LIST per kind:
 * what the current policy decides for its pod template (the webhook's own pipeline), and how its
 * pods stand against that (with and without a proxy, stale, injected by Istio without being
 * tailored). Pure: the snapshot in, the report out.
 */
export function statusFromSnapshot(snapshot: StatusSnapshot, policy: CompiledPolicy, filter: StatusFilter = {}): StatusReport {
  const matchesNamespace = filter.namespace ? compileGlob(filter.namespace).matches : () => true;
  const matchesService = filter.service ? compileGlob(filter.service).matches : () => true;
  const enabled = new Set(
    (snapshot.namespaces ?? [])
      .filter((n) => (filter.allNamespaces ? n.metadata.name !== "kube-system" : isEnabled(n)) && matchesNamespace(n.metadata.name))
      .map((n) => n.metadata.name),
  );
  // Istio's injection webhooks, as kube-apiserver calls them: which revision injects what.
  const configurations = (snapshot.webhookConfigurations ?? []) as MutatingWebhookConfiguration[];
  const injectors = injectorsOf(snapshot);
  const revisions = injectors?.revisions ?? new Map<string, string>();
  const namespaceObjects = new Map((snapshot.namespaces ?? []).map((n) => [n.metadata.name, n]));
  // What ambient pods need, when the policy puts any service there (readStatus reads it then).
  const ambientRead = "gateways" in snapshot;
  let agents: ReturnType<typeof nodeAgents> | undefined;
  const ambientProblemOf = (verdict: TemplateVerdict, namespace: string, pods: readonly KubeObject[]): string | undefined => {
    if (!ambientRead) return undefined;
    agents ??= nodeAgents(snapshot.pods ?? []);
    const nodes = nodesOf(pods);
    const waypoint = verdict.entryIndex === undefined ? undefined : policy.policy.services[verdict.entryIndex]?.waypoint;
    const problems = [
      nodeAgentProblem(agents, nodes),
      waypoint === undefined ? undefined : waypointProblem(snapshot.gateways, namespace, waypoint),
      authorizationProblem(snapshot.authorizationPolicies, namespace, verdict.labels, selectorMatches),
    ].filter((problem): problem is string => problem !== undefined);
    return problems.length > 0 ? problems.join("; ") : undefined;
  };
  const problemOf = (verdict: TemplateVerdict | undefined, namespace: string, pods: readonly KubeObject[]): string | undefined => {
    if (verdict?.dataplane === "ambient") return ambientProblemOf(verdict, namespace, pods);
    const namespaceObject = namespaceObjects.get(namespace);
    // An ambient pod needs no injector.
    if (verdict?.dataplane !== "sidecar" || !namespaceObject || !snapshot.webhookConfigurations) return undefined;
    return injectionProblem(verdict.revision, istioInjectorsFor(configurations, namespaceObject, verdict.labels), namespace)?.text;
  };

  // Every pod's workload, through the controllers in between (ReplicaSet → Deployment, Job → CronJob).
  const byUid = new Map<string, { object: KubeObject; kind: string }>();
  for (const [kind, list] of [
    ["ReplicaSet", snapshot.replicaSets],
    ["Job", snapshot.jobs],
    ["Deployment", snapshot.deployments],
    ["StatefulSet", snapshot.statefulSets],
    ["DaemonSet", snapshot.daemonSets],
    ["CronJob", snapshot.cronJobs],
  ] as const) {
    for (const object of list ?? []) if (enabled.has(object.metadata.namespace ?? "")) byUid.set(object.metadata.uid ?? "", { object, kind });
  }
  const workloadKey = (namespace: string, kind: string, name: string) => `${namespace}/${kind}/${name}`;
  const workloadOfPod = (pod: KubeObject): string => {
    const namespace = pod.metadata.namespace ?? "";
    let owner = controllerOf(pod);
    for (let depth = 0; owner && depth < 2; depth++) {
      const found = byUid.get(owner.uid);
      if (!found) break;
      if (found.kind === "ReplicaSet" || found.kind === "Job") {
        const parent = controllerOf(found.object);
        if (parent && byUid.has(parent.uid)) {
          owner = parent;
          continue;
        }
        // A ReplicaSet of its own is a workload of its own only as a Job is: report it as such.
        return workloadKey(namespace, found.kind === "Job" ? "Job" : "ReplicaSet", found.object.metadata.name);
      }
      return workloadKey(namespace, found.kind, found.object.metadata.name);
    }
    return workloadKey(namespace, "Pod", BARE_PODS);
  };
  const podsOf = new Map<string, KubeObject[]>();
  for (const pod of snapshot.pods ?? []) {
    // A terminating pod is on its way out, replaced already: no restart could change it, and a
    // rerun of rollout would otherwise restart its workload again.
    if (!enabled.has(pod.metadata.namespace ?? "") || pod.metadata.deletionTimestamp) continue;
    const key = workloadOfPod(pod);
    const list = podsOf.get(key);
    if (list) list.push(pod);
    else podsOf.set(key, [pod]);
  }

  const rows: WorkloadStatus[] = [];
  const podCounts = { sidecar: 0, ambient: 0, neither: 0, byRevision: {} as Record<string, number> };
  // Enrolled in ambient as Istio's CNI decides it by default: the pod's label, else its namespace's
  // unless the pod says "none"; never a pod with a sidecar (cni/pkg/util/enablement_selector.go).
  const inAmbient = (pod: KubeObject): boolean => {
    const own = pod.metadata.labels?.[istio.DATAPLANE_MODE];
    if (own !== undefined) return own === istio.DATAPLANE_AMBIENT;
    return namespaceObjects.get(pod.metadata.namespace ?? "")?.metadata.labels?.[istio.DATAPLANE_MODE] === istio.DATAPLANE_AMBIENT;
  };
  const countPod = (pod: KubeObject, hasProxy: boolean) => {
    if (hasProxy) {
      podCounts.sidecar += 1;
      const revision = injectedRevision(pod.metadata.annotations?.[istio.SIDECAR_STATUS]) ?? "unknown";
      podCounts.byRevision[revision] = (podCounts.byRevision[revision] ?? 0) + 1;
    } else if (inAmbient(pod)) podCounts.ambient += 1;
    else podCounts.neither += 1;
  };
  const addRow = (namespace: string, kind: WorkloadKind, name: string, template: Pod | undefined) => {
    const pods = podsOf.get(workloadKey(namespace, kind, name)) ?? [];
    const verdict = template ? judgeTemplate({ ...template, metadata: { ...template.metadata, namespace } }, namespace, policy, { kind, name }) : undefined;
    let withProxy = 0;
    let stale = 0;
    let staleReason: string | undefined;
    const staleBy = Object.fromEntries(STALE_REASONS.map((r) => [r, 0])) as Record<StaleReasonName, number>;
    const counted: [pod: KubeObject, hasProxy: boolean][] = [];
    let bypassed = 0;
    const bypassReasons = new Set<string>();
    let service = verdict?.service;
    let inMesh = verdict?.selected;
    let entryIndex = verdict?.entryIndex;
    // Bare pods have no template: the verdict on the first of them stands for the row.
    let rowVerdict = verdict;
    for (const pod of pods) {
      const judged = judgePod(pod, template, true, policy, verdict, injectors);
      if (judged.hasProxy) withProxy += 1;
      counted.push([pod, judged.hasProxy]);
      const why = filter.reason === undefined ? judged.why : judged.why.filter((w) => reasonOf(w.kind) === filter.reason);
      if (why.length > 0) {
        stale += 1;
        staleReason ??= why.map((w) => w.text).join("; ");
        for (const reason of new Set(why.map((w) => reasonOf(w.kind)))) staleBy[reason] += 1;
      }
      const bypass = bypassOf(pod);
      if (bypass) {
        bypassed += 1;
        bypassReasons.add(bypass.text);
      }
      service ??= judged.verdict.service;
      if (!template && inMesh === undefined) inMesh = judged.verdict.selected;
      entryIndex ??= judged.verdict.entryIndex;
      rowVerdict ??= judged.verdict;
    }
    if (!matchesService(service ?? "")) return;
    for (const [pod, hasProxy] of counted) countPod(pod, hasProxy);
    rows.push({
      namespace,
      kind,
      name,
      service,
      inMesh,
      revision: verdict?.revision,
      pods: pods.length,
      withProxy,
      withoutProxy: pods.length - withProxy,
      stale,
      staleBy,
      staleReason,
      bypassed,
      bypassReason: bypassed > 0 ? [...bypassReasons].join("; ") : undefined,
      problem: problemOf(rowVerdict, namespace, pods),
      entryIndex,
      connection: rowVerdict?.connection,
      dataplane: inMesh ? rowVerdict?.dataplane : undefined,
    });
  };
  for (const [kind, list] of [
    ["Deployment", snapshot.deployments],
    ["StatefulSet", snapshot.statefulSets],
    ["DaemonSet", snapshot.daemonSets],
    ["CronJob", snapshot.cronJobs],
  ] as const) {
    for (const object of list ?? []) {
      const namespace = object.metadata.namespace ?? "";
      if (enabled.has(namespace)) addRow(namespace, kind, object.metadata.name, templateAt(object, kind));
    }
  }
  // Workloads found only through their pods: Jobs of no CronJob, ReplicaSets of no Deployment, bare pods.
  const listed = new Set(rows.map((r) => workloadKey(r.namespace, r.kind, r.name)));
  for (const [key, pods] of podsOf) {
    if (listed.has(key)) continue;
    const [namespace, kind, ...rest] = key.split("/");
    const name = rest.join("/");
    if (kind === "Pod") {
      // Bare pods have no template: each is judged on itself, less the inject label mesh-tailor wrote.
      addRow(namespace!, "Pod", name, undefined);
    } else {
      const owner = byUid.get(controllerOf(pods[0]!)?.uid ?? "")?.object;
      addRow(namespace!, kind as WorkloadKind, name, owner ? templateAt(owner, "Job") : withoutOwnDecision(pods[0] as unknown as Pod));
    }
  }
  rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));

  const shown = filter.staleOnly ? rows.filter((r) => r.stale > 0) : rows;
  const servicesInMesh = new Set(rows.filter((r) => r.inMesh && r.service).map((r) => `${r.namespace}/${r.service}`)).size;
  return {
    policyRevision: policy.revision,
    injectors: snapshot.webhookConfigurations ? Object.fromEntries(revisions) : undefined,
    injecting: snapshot.injections
      ? Object.fromEntries([...snapshot.injections].map(([revision, i]) => [revision, { image: proxyImageOf(i, {}), nativeSidecars: i.nativeSidecars }]))
      : undefined,
    unjudged: snapshot.unjudged && snapshot.unjudged.length > 0 ? snapshot.unjudged : undefined,
    workloads: shown,
    summary: {
      workloads: rows.length,
      servicesInMesh,
      servicesInAmbient: new Set(rows.filter((r) => r.inMesh && r.service && r.dataplane === "ambient").map((r) => `${r.namespace}/${r.service}`)).size,
      pendingMigration: rows.filter((r) => r.inMesh && r.stale > 0).length,
      pendingRollback: rows.filter((r) => r.inMesh === false && r.stale > 0).length,
      stalePods: rows.reduce((sum, r) => sum + r.stale, 0),
      problems: rows.filter((r) => r.problem !== undefined).length,
      bypassedPods: rows.reduce((sum, r) => sum + r.bypassed, 0),
      pods: podCounts,
    },
  };
}

/** What status reads besides, when the policy puts a service in ambient. */
export const AMBIENT_COLLECTIONS = ["gateways", "authorizationPolicies"] as const;

/** The collections status reads: one paged cluster-wide LIST each. */
export const STATUS_COLLECTIONS = [
  "namespaces",
  "pods",
  "replicaSets",
  "deployments",
  "statefulSets",
  "daemonSets",
  "jobs",
  "cronJobs",
  "webhookConfigurations",
] as const;

/**
 * A pod as status reads it: its metadata and spec, and of its status only the conditions (an
 * ambient node agent's Ready). The rest of its status (container states, addresses) is about a
 * kilobyte a pod that status never reads, and every pod is held until all are judged.
 */
export function podAsStatusReadsIt(pod: KubeObject): KubeObject {
  const conditions = (pod["status"] as { conditions?: unknown } | undefined)?.conditions;
  return { metadata: withoutManagedFields(pod).metadata, spec: pod["spec"], ...(conditions === undefined ? {} : { status: { conditions } }) };
}

/**
 * The snapshot status judges POLICY by: one paged cluster-wide LIST per kind. ReplicaSets only
 * link pods to Deployments (the Deployment's template is the one judged), and a cluster keeps
 * several per Deployment: their metadata is all status reads. Without the right to read webhook
 * configurations, status still reports: it cannot then tell which revision injects what, and
 * says nothing about it. An ambient service's gates read Gateways and AuthorizationPolicies: only
 * a policy that puts some service in ambient pays for them. Their APIs may not be served (none
 * then), and one the caller may not read is a gate that cannot pass (ambient-gates.ts). Each
 * revision's injector ConfigMap (a GET each) says what it injects now; the nodes are listed only
 * when a revision decides native sidecars by them.
 */
export async function readStatusSnapshot(api: Pick<KubeApi, "list" | "get">, policy: CompiledPolicy): Promise<StatusSnapshot> {
  const { names, byDefault } = ambientServices(policy.policy);
  const ambient = byDefault || names.length > 0;
  const extra = ambient ? AMBIENT_COLLECTIONS : [];
  const snapshot = await readSnapshot(api, [...STATUS_COLLECTIONS, ...extra], {
    metadataOnly: ["replicaSets"],
    keep: { pods: podAsStatusReadsIt },
    ifAllowed: ["webhookConfigurations", ...extra],
    optional: extra,
  });
  if (!snapshot.webhookConfigurations) return snapshot;
  // What each revision injects now, and, where istiod decides native sidecars by the nodes, the
  // nodes' kubelets: the proxy-version and sidecar-mode of each pod.
  const { injections, kubelets, unjudged } = await readIstioInjection(api, snapshot.webhookConfigurations, snapshot.deployments ?? []);
  return { ...snapshot, injections, kubelets, unjudged };
}

/** A namespace's collection of one kind of workload: what one LIST reads. */
export const collectionKey = (t: { readonly namespace: string; readonly kind: string }): string => `${t.namespace}/${t.kind}`;

/**
 * How many Deployments, StatefulSets and DaemonSets each namespace holds (by collectionKey),
 * whatever a filter shows: what a LIST of one namespace's collection returns.
 */
export function collectionSizesOf(snapshot: Pick<StatusSnapshot, "deployments" | "statefulSets" | "daemonSets">): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const [kind, list] of [
    ["Deployment", snapshot.deployments],
    ["StatefulSet", snapshot.statefulSets],
    ["DaemonSet", snapshot.daemonSets],
  ] as const) {
    for (const object of list ?? []) {
      const key = collectionKey({ namespace: object.metadata.namespace ?? "", kind });
      sizes.set(key, (sizes.get(key) ?? 0) + 1);
    }
  }
  return sizes;
}

/** Status read from the cluster (readStatusSnapshot), judged by POLICY, with what it read of Istio's injection. */
export async function readStatusAndInjectors(
  api: Pick<KubeApi, "list" | "get">,
  policy: CompiledPolicy,
  filter: StatusFilter = {},
): Promise<{ report: StatusReport; injectors: IstioInjectors | undefined; collectionSizes: Map<string, number> }> {
  const snapshot = await readStatusSnapshot(api, policy);
  const report = statusFromSnapshot(snapshot, policy, filter);
  const collectionSizes = collectionSizesOf(snapshot);
  if ("gateways" in snapshot || !report.workloads.some((w) => w.dataplane === "ambient")) return { report, injectors: injectorsOf(snapshot), collectionSizes };
  // A pod template that enrols itself in ambient, under a policy that puts no service there: its
  // gates are read and judged all the same.
  const gates = await readSnapshot(api, AMBIENT_COLLECTIONS, { ifAllowed: AMBIENT_COLLECTIONS, optional: AMBIENT_COLLECTIONS });
  return { report: statusFromSnapshot({ ...snapshot, ...gates }, policy, filter), injectors: injectorsOf(snapshot), collectionSizes };
}

/** Status read from the cluster (readStatusSnapshot), judged by POLICY. */
export async function readStatus(api: Pick<KubeApi, "list" | "get">, policy: CompiledPolicy, filter: StatusFilter = {}): Promise<StatusReport> {
  return (await readStatusAndInjectors(api, policy, filter)).report;
}
