import * as meshTailor from "../keys/mesh-tailor.js";
import { runPipeline } from "../mutations/pipeline.js";
import { isPodLike, type Pod } from "../pod/types.js";
import { workloadOf, type Workload } from "../pod/workload.js";
import { describeConnection } from "../policy/connection.js";
import type { CompiledPolicy } from "../policy/load.js";
import type { Dataplane, ServiceEntry } from "../policy/schema.js";
import { type KubeObject } from "../kube/object.js";
import { ApiError, isNotFound } from "../kube/errors.js";
import { type KubeApi } from "../kube/client.js";
import { type LabelSelector, selectorMatches, selectorQuery } from "../kube/label-selector.js";
import { isEnabled, istioLabelWarning, istioNamespaceLabels } from "../namespaces/namespace-labels.js";
import { KINDS, KINDS_FOR_A_NAME, type Target } from "./explain-target.js";
import { COLLECTIONS, listOrAbsent } from "./snapshot.js";
import { authorizationProblem, NODE_AGENTS, nodeAgentProblem, nodeAgents, nodesOf, waypointProblem } from "./ambient-gates.js";
import { injectableRevisions, isIstioInjector, selectorLabelsOf, type MutatingWebhookConfiguration } from "../namespaces/webhook-configurations.js";
import { readIstioInjection } from "./injector-reads.js";
import { judgePod, ownerTemplate, withoutOwnDecision } from "./pod-state.js";

export interface InjectorVerdict {
  readonly configuration: string;
  readonly webhook: string;
  readonly injects: boolean;
  /** Which selector rules it out, when it does not inject. */
  readonly why: string;
}

export interface Explanation {
  readonly target: string;
  readonly namespace: { readonly name: string; readonly enabled: boolean; readonly istioLabels: readonly string[]; readonly warning?: string | undefined };
  readonly policy: { readonly origin: string; readonly revision: string };
  readonly service: string | undefined;
  readonly workload: string | undefined;
  readonly entry: { readonly index: number; readonly entry: ServiceEntry; readonly matchedBy: string | undefined } | undefined;
  readonly decision: { readonly selected: boolean; readonly dataplane?: Dataplane | undefined; readonly reason: string } | undefined;
  /** Why mesh-tailor does not tailor it at all, when it does not. */
  readonly untailored?: string | undefined;
  readonly meshTailorWebhookCalled: boolean;
  readonly injectors: readonly InjectorVerdict[];
  /** Labels and annotations mesh-tailor sets before Istio's injector runs. */
  readonly sets: Record<string, string>;
  readonly customizations: readonly string[];
  /** The connection switches its pods get in the mesh, in words (README, "Connections"). */
  readonly connection: string | undefined;
  /** For a service in ambient: each gate a restart must pass, and its verdict (undefined: it passes). */
  readonly ambientGates?: readonly { readonly gate: string; readonly problem: string | undefined }[] | undefined;
  readonly warnings: readonly string[];
  readonly pods: {
    readonly total: number;
    readonly withProxy: number;
    readonly stale: readonly { readonly name: string; readonly reasons: readonly string[] }[];
    /** What of Istio's injection could not be read when it has pods with a proxy, in words: they are not judged for it. */
    readonly unjudged?: readonly string[] | undefined;
  };
}

function at(object: KubeObject, path: readonly string[]): unknown {
  let current: unknown = object;
  for (const key of path) current = current && typeof current === "object" ? (current as Record<string, unknown>)[key] : undefined;
  return current;
}

function selectorVerdict(
  namespaceSelector: LabelSelector | undefined,
  objectSelector: LabelSelector | undefined,
  namespaceLabels: Record<string, string>,
  podLabels: Record<string, string>,
): string | undefined {
  if (!selectorMatches(namespaceSelector, namespaceLabels)) return "its namespaceSelector does not match the namespace";
  if (!selectorMatches(objectSelector, podLabels)) return "its objectSelector does not match the pod's labels";
  return undefined;
}

/**
 * Everything that decides what happens to TARGET's next pod, read from the live cluster: the
 * namespace, the policy entry and decision (the webhook's own pipeline run on the pod template),
 * which webhooks kube-apiserver will call (their real selectors against the labels mesh-tailor
 * sets first), and whether the running pods are as the current policy would make them.
 */
export async function explain(api: KubeApi, namespaceName: string, asked: Target, policy: CompiledPolicy, origin: string): Promise<Explanation> {
  const [namespace, found, configurations] = await Promise.all([
    api.get(`/api/v1/namespaces/${namespaceName}`).catch((error) => {
      throw isNotFound(error) ? new ApiError(404, "NotFound", `namespace ${namespaceName} not found`) : error;
    }),
    findTarget(api, namespaceName, asked),
    api.list<MutatingWebhookConfiguration>(COLLECTIONS.webhookConfigurations),
  ]);
  const { target, object } = found;
  const spec = KINDS[target.kind]!;
  const template = (spec.template.length === 0 ? object : at(object, spec.template)) as Pod | undefined;
  if (!isPodLike(template)) throw new ApiError(422, "Invalid", `${target.kind}/${target.name} has no pod template`);
  const workload: Workload | undefined = spec.kind === "Pod" ? workloadOf(object as unknown as Pod) : { kind: spec.kind, name: target.name };

  // A pod is explained as its template would be admitted now; the pod itself is among the running pods below.
  const ownersTemplate = spec.kind === "Pod" ? await podTemplate(api, object) : undefined;
  const subject: Pod =
    spec.kind === "Pod" ? (ownersTemplate ?? withoutOwnDecision(template)) : { ...template, metadata: { ...template.metadata, namespace: namespaceName } };
  const result = runPipeline({ pod: subject, namespace: namespaceName, workload }, policy);
  const namespaceLabels = selectorLabelsOf(namespace);
  const enabled = isEnabled(namespace);

  const injectors: InjectorVerdict[] = [];
  let meshTailorWebhookCalled = false;
  const podLabelsAfter = enabled && !result.skipped ? (result.pod.metadata?.labels ?? {}) : (subject.metadata?.labels ?? {});
  for (const configuration of configurations.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    for (const webhook of configuration.webhooks ?? []) {
      if (webhook.name === "pods.mesh-tailor.io") {
        meshTailorWebhookCalled =
          selectorVerdict(webhook.namespaceSelector, webhook.objectSelector, namespaceLabels, subject.metadata?.labels ?? {}) === undefined;
        continue;
      }
      if (!isIstioInjector(webhook.name)) continue;
      const why = selectorVerdict(webhook.namespaceSelector, webhook.objectSelector, namespaceLabels, podLabelsAfter);
      injectors.push({ configuration: configuration.metadata.name, webhook: webhook.name, injects: why === undefined, why: why ?? "both selectors match" });
    }
  }

  const sets: Record<string, string> = {};
  if (enabled && !result.skipped) {
    for (const field of ["labels", "annotations"] as const) {
      const before = subject.metadata?.[field] ?? {};
      for (const [key, value] of Object.entries(result.pod.metadata?.[field] ?? {})) if (before[key] !== value) sets[key] = value;
    }
  }

  const [running, injection] = await Promise.all([runningPods(api, namespaceName, spec.kind, object), readIstioInjection(api, configurations.items)]);
  // Judged as status judges them: the proxy Istio injects now, too.
  const istio = {
    revisions: injectableRevisions(configurations.items),
    configurations: configurations.items,
    namespaces: new Map([[namespaceName, namespace]]),
    injections: injection.injections,
    kubelets: injection.kubelets,
  };
  const stale: { name: string; reasons: readonly string[] }[] = [];
  let withProxy = 0;
  for (const pod of running) {
    const verdict = judgePod(pod, spec.kind === "Pod" ? ownersTemplate : subject, enabled, policy, undefined, istio);
    if (verdict.hasProxy) withProxy += 1;
    if (verdict.stale) stale.push({ name: pod.metadata.name, reasons: verdict.reasons });
  }

  const entry = result.decision?.entry;
  const ambientGates =
    enabled && !result.skipped && result.decision?.dataplane === "ambient"
      ? await readAmbientGates(api, namespaceName, running, result.pod.metadata?.labels ?? {}, entry?.waypoint)
      : undefined;
  return {
    target: `${target.kind}/${target.name}`,
    namespace: { name: namespaceName, enabled, istioLabels: istioNamespaceLabels(namespace), warning: enabled ? istioLabelWarning(namespace) : undefined },
    policy: { origin, revision: policy.revision },
    service: result.serviceName,
    workload: workload ? `${workload.kind}/${workload.name}` : undefined,
    entry: entry ? { index: policy.policy.services.indexOf(entry), entry, matchedBy: result.decision?.matchedBy } : undefined,
    decision: result.decision ? { selected: result.decision.selected, dataplane: result.decision.dataplane, reason: result.decision.reason } : undefined,
    untailored: !enabled ? `namespace ${namespaceName} is not enabled (label ${meshTailor.ENABLED}=true)` : result.skipped,
    meshTailorWebhookCalled,
    injectors,
    sets,
    customizations: enabled && !result.skipped ? result.applied : [],
    connection: enabled && !result.skipped && result.decision?.dataplane === "sidecar" ? describeConnection(result.decision.entry, policy.policy) : undefined,
    ambientGates,
    warnings: enabled ? result.warnings : [],
    pods: { total: running.length, withProxy, stale, unjudged: withProxy > 0 && injection.unjudged.length > 0 ? injection.unjudged : undefined },
  };
}

const objectPath = (namespace: string, kind: string, name: string): string => {
  const spec = KINDS[kind]!;
  return `${spec.path}/namespaces/${namespace}/${spec.kind.toLowerCase()}s/${name}`;
};

/** The object TARGET names; a bare name is a pod of that name, else the first workload of that name. */
async function findTarget(api: KubeApi, namespace: string, target: Target): Promise<{ target: Target; object: KubeObject }> {
  const kinds = target.bare ? ["pod", ...KINDS_FOR_A_NAME] : [target.kind];
  for (const kind of kinds) {
    try {
      return { target: { kind, name: target.name }, object: await api.get(objectPath(namespace, kind, target.name)) };
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  const where = target.bare ? `no pod, ${KINDS_FOR_A_NAME.join(", ")} named ${target.name}` : `${target.kind}/${target.name} not found`;
  throw new ApiError(404, "NotFound", `${where} in namespace ${namespace}`);
}

// The controllers whose template a pod is made from, by the kind in its owner reference.
const OWNER_PATHS: Record<string, string> = { ReplicaSet: "/apis/apps/v1", StatefulSet: "/apis/apps/v1", DaemonSet: "/apis/apps/v1", Job: "/apis/batch/v1" };

/** The template POD was made from, read from its owning controller (one GET), if it has one. */
async function podTemplate(api: KubeApi, pod: KubeObject): Promise<Pod | undefined> {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller === true);
  const path = owner ? OWNER_PATHS[owner.kind] : undefined;
  if (!owner || !path) return undefined;
  try {
    const object = await api.get(`${path}/namespaces/${pod.metadata.namespace}/${owner.kind.toLowerCase()}s/${owner.name}`);
    return ownerTemplate(pod, new Map([[owner.uid, object]]));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The pods TARGET runs now: itself for a pod, else those its selector picks (one paged LIST). */
async function runningPods(api: KubeApi, namespace: string, kind: string, object: KubeObject): Promise<KubeObject[]> {
  if (kind === "Pod") return [object];
  const selector = (kind === "CronJob" ? undefined : at(object, ["spec", "selector"])) as LabelSelector | undefined;
  if (!selector) {
    // A CronJob's pods carry no label of its own: its Jobs' pods are found by job-name prefix.
    const { items } = await api.list(`/api/v1/namespaces/${namespace}/pods`);
    return items.filter((pod) => workloadOf(pod as unknown as Pod)?.kind === "CronJob" && workloadOf(pod as unknown as Pod)?.name === object.metadata.name);
  }
  const { items } = await api.list(`/api/v1/namespaces/${namespace}/pods`, { labelSelector: selectorQuery(selector) });
  return items;
}

// Gates read what they may: an API not served is none, a forbidden one a gate that cannot pass.
const gateList = (api: KubeApi, path: string, query: Record<string, string> = {}) => listOrAbsent(api, path, query, { optional: true, ifAllowed: true });

/** The gates of ambient-gates.ts for one workload, read with four LISTs: the node agents' pods, and the namespace's Gateways and AuthorizationPolicies. */
async function readAmbientGates(
  api: KubeApi,
  namespace: string,
  running: readonly KubeObject[],
  labels: Readonly<Record<string, string>>,
  waypoint: string | undefined,
): Promise<{ gate: string; problem: string | undefined }[]> {
  const [agentPods, gateways, policies] = await Promise.all([
    // Ambient's node agents, wherever they run: one label-selected LIST each.
    Promise.all(NODE_AGENTS.map((agent) => gateList(api, "/api/v1/pods", { labelSelector: `${agent.key}=${agent.value}` }))).then((lists) =>
      lists.some((list) => list === undefined) ? undefined : lists.flatMap((list) => list ?? []),
    ),
    waypoint === undefined ? Promise.resolve([]) : gateList(api, `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace}/gateways`),
    gateList(api, `/apis/security.istio.io/v1/namespaces/${namespace}/authorizationpolicies`),
  ]);
  const nodes = nodesOf(running);
  const gates = [
    {
      gate: "ztunnel and istio-cni on its pods' nodes",
      problem: agentPods === undefined ? "cannot be checked: listing pods is forbidden" : nodeAgentProblem(nodeAgents(agentPods), nodes),
    },
  ];
  if (waypoint !== undefined) gates.push({ gate: `waypoint ${namespace}/${waypoint}`, problem: waypointProblem(gateways, namespace, waypoint) });
  gates.push({ gate: "no HTTP rules by selector", problem: authorizationProblem(policies, namespace, labels, selectorMatches) });
  return gates;
}
