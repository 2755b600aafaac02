import type { KubeObject } from "../kube/object.js";

// What an ambient pod needs before a restart moves it there, each checked as Istio decides it
// (at the version the end-to-end suite runs):
// - a ready ztunnel and istio-cni node agent on its node: Istio recognises ztunnel's pods by the
//   label app=ztunnel (cni/pkg/util/podutil.go), and its charts label istio-cni's
//   k8s-app=istio-cni-node (manifests/charts/istio-cni); istio-cni redirects an enrolled pod's
//   traffic to ztunnel, and a pod on a node without both has no mesh at all;
// - its waypoint, a Gateway of class istio-waypoint, Programmed=True: istiod ignores a waypoint
//   until it has addresses, and Programmed turns True once its Service has endpoints on 15008
//   (pilot/pkg/config/kube/gateway/conversion.go, pilot/pkg/serviceregistry/ambient/waypoints.go);
// - no AuthorizationPolicy that selects its pods by `selector` with HTTP rules: ztunnel enforces
//   L4 only, so istiod drops each such rule from an ALLOW policy (allowing less, down to nothing)
//   and keeps a DENY rule without its HTTP part (denying more, up to everything)
//   (pilot/pkg/serviceregistry/ambient/authorization.go, convertAuthorizationPolicy/handleRule).

/** The objects the gates read; undefined where the caller could not read them (forbidden). */
export interface AmbientObjects {
  readonly pods: readonly KubeObject[];
  readonly gateways: readonly KubeObject[] | undefined;
  readonly authorizationPolicies: readonly KubeObject[] | undefined;
}

export const WAYPOINT_CLASS = "istio-waypoint";
/** Where an AuthorizationPolicy applies mesh-wide: meshConfig.rootNamespace, istio-system by default. */
export const ROOT_NAMESPACE = "istio-system";

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

const isReady = (pod: KubeObject): boolean =>
  ((pod["status"] as { conditions?: Condition[] } | undefined)?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
const nodeOf = (pod: KubeObject): string | undefined => (pod["spec"] as { nodeName?: string } | undefined)?.nodeName;

/** The nodes PODS are bound to (none yet for a pod not scheduled). */
export const nodesOf = (pods: readonly KubeObject[]): string[] => pods.map(nodeOf).filter((node): node is string => node !== undefined);

/** Ambient's two node agents, by the labels of their pods. */
export const NODE_AGENTS = [
  { name: "ztunnel", key: "app", value: "ztunnel" },
  { name: "istio-cni", key: "k8s-app", value: "istio-cni-node" },
] as const;
export type NodeAgent = (typeof NODE_AGENTS)[number]["name"];

/** The nodes where each node agent has a ready pod. */
export function nodeAgents(pods: readonly KubeObject[]): Record<NodeAgent, Set<string>> {
  const ready: Record<NodeAgent, Set<string>> = { ztunnel: new Set(), "istio-cni": new Set() };
  for (const pod of pods) {
    const node = nodeOf(pod);
    if (!node) continue;
    for (const agent of NODE_AGENTS) if (pod.metadata.labels?.[agent.key] === agent.value && isReady(pod)) ready[agent.name].add(node);
  }
  return ready;
}

/** Why the node agents cannot carry a workload's pods running on NODES (none yet: anywhere), or undefined. */
export function nodeAgentProblem(ready: Readonly<Record<NodeAgent, ReadonlySet<string>>>, nodes: readonly string[]): string | undefined {
  const problems: string[] = [];
  for (const agent of NODE_AGENTS) {
    const on = ready[agent.name];
    if (on.size === 0) {
      problems.push(`no ${agent.name} is ready in the cluster (pods labelled ${agent.key}=${agent.value})`);
      continue;
    }
    const missing = [...new Set(nodes)].filter((node) => !on.has(node)).sort();
    if (missing.length > 0)
      problems.push(
        `no ${agent.name} is ready on node(s) ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}, where its pods run`,
      );
  }
  return problems.length > 0
    ? `${problems.join(", and ")}: its pods would have no mesh in ambient; install or repair Istio's ambient components first`
    : undefined;
}

/** Why the waypoint NAME in NAMESPACE cannot carry a service's L7 traffic, or undefined. */
export function waypointProblem(gateways: readonly KubeObject[] | undefined, namespace: string, name: string): string | undefined {
  if (gateways === undefined) return `its waypoint ${namespace}/${name} cannot be checked: reading Gateways (gateway.networking.k8s.io) is forbidden`;
  const gateway = gateways.find((g) => g.metadata.namespace === namespace && g.metadata.name === name);
  if (!gateway) return `its waypoint, Gateway ${namespace}/${name}, does not exist (create it, e.g. istioctl waypoint apply -n ${namespace} --name ${name})`;
  const className = (gateway["spec"] as { gatewayClassName?: string } | undefined)?.gatewayClassName;
  if (className !== WAYPOINT_CLASS) return `its waypoint, Gateway ${namespace}/${name}, is of class ${JSON.stringify(className ?? "")}, not ${WAYPOINT_CLASS}`;
  const programmed = ((gateway["status"] as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === "Programmed");
  if (programmed?.status !== "True")
    return `its waypoint, Gateway ${namespace}/${name}, is not Programmed${programmed ? ` (${programmed.reason ?? programmed.status}${programmed.message ? `: ${programmed.message}` : ""})` : " yet"}`;
  return undefined;
}

// The fields of an AuthorizationPolicy rule ztunnel cannot enforce (authorization.go).
const L7_OPERATION = ["hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"] as const;
const L7_SOURCE = ["remoteIpBlocks", "notRemoteIpBlocks", "requestPrincipals", "notRequestPrincipals"] as const;
const L4_CONDITIONS = new Set(["source.ip", "source.namespace", "source.principal", "destination.ip", "destination.port"]);

interface Rule {
  from?: { source?: Record<string, unknown> }[];
  to?: { operation?: Record<string, unknown> }[];
  when?: { key?: string }[];
}

const present = (value: unknown): boolean => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);

/** The HTTP fields the rules of an AuthorizationPolicy use, as `to.operation.methods` and the like. */
export function httpFieldsOf(rules: readonly Rule[]): string[] {
  const found = new Set<string>();
  for (const rule of rules) {
    for (const to of rule.to ?? []) for (const field of L7_OPERATION) if (present(to.operation?.[field])) found.add(`to.operation.${field}`);
    for (const from of rule.from ?? []) for (const field of L7_SOURCE) if (present(from.source?.[field])) found.add(`from.source.${field}`);
    for (const condition of rule.when ?? []) if (condition.key !== undefined && !L4_CONDITIONS.has(condition.key)) found.add(`when ${condition.key}`);
  }
  return [...found].sort();
}

/** The AuthorizationPolicies of NAMESPACE that select pods labelled LABELS by `selector` with HTTP rules, each with what ztunnel would do with it. */
export function authorizationFindings(
  policies: readonly KubeObject[],
  namespace: string,
  labels: Readonly<Record<string, string>>,
  selects: (selector: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>) => boolean,
): string[] {
  const problems: string[] = [];
  for (const policy of policies) {
    // Its own namespace's, and the root namespace's, which apply mesh-wide (Istio's default root
    // namespace; a mesh that sets meshConfig.rootNamespace elsewhere is not read here).
    const where = policy.metadata.namespace;
    if (where !== namespace && where !== ROOT_NAMESPACE) continue;
    const spec = (policy["spec"] ?? {}) as {
      selector?: { matchLabels?: Record<string, string> };
      targetRef?: unknown;
      targetRefs?: unknown[];
      action?: string;
      rules?: Rule[];
    };
    // Policies attached by targetRefs go to a waypoint, not to ztunnel; CUSTOM and AUDIT ztunnel
    // skips. One with no selector covers its whole namespace (the mesh, in the root namespace),
    // and ztunnel enforces it the same way (authorization.go: NAMESPACE and GLOBAL scopes).
    if (present(spec.targetRef) || present(spec.targetRefs)) continue;
    const action = spec.action ?? "ALLOW";
    if (action !== "ALLOW" && action !== "DENY") continue;
    if (spec.selector && !selects(spec.selector, { ...labels })) continue;
    const fields = httpFieldsOf(spec.rules ?? []);
    if (fields.length === 0) continue;
    const effect =
      action === "ALLOW"
        ? "ztunnel drops those rules from an ALLOW policy, so it allows less than it says (nothing, if every rule has them)"
        : "ztunnel keeps those DENY rules without their HTTP part, so it denies more than it says (up to everything)";
    problems.push(
      `AuthorizationPolicy ${where}/${policy.metadata.name} ${spec.selector ? "selects its pods" : where === ROOT_NAMESPACE && where !== namespace ? "applies mesh-wide" : "applies to its whole namespace"} and has HTTP rules (${fields.join(", ")}): ${effect}; attach it to a waypoint with targetRefs first`,
    );
  }
  return problems;
}

/** Why the AuthorizationPolicies of NAMESPACE keep pods labelled LABELS from ambient (authorizationFindings), or undefined. */
export function authorizationProblem(
  policies: readonly KubeObject[] | undefined,
  namespace: string,
  labels: Readonly<Record<string, string>>,
  selects: (selector: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>) => boolean,
): string | undefined {
  if (policies === undefined) return "its AuthorizationPolicies cannot be checked: reading them (security.istio.io) is forbidden";
  const problems = authorizationFindings(policies, namespace, labels, selects);
  return problems.length > 0 ? problems.join("; ") : undefined;
}
