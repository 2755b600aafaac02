import type { KubeObject } from "../kube/object.js";

// What an ambient pod needs before a restart moves it there, each checked as Istio decides it
// (at the version the end-to-end suite runs):
// - a ready ztunnel on its node: Istio recognises ztunnel's pods by the label app=ztunnel
//   (cni/pkg/util/podutil.go); a pod enrolled on a node with none has no mesh at all;
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

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

const isReady = (pod: KubeObject): boolean =>
  ((pod["status"] as { conditions?: Condition[] } | undefined)?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
const nodeOf = (pod: KubeObject): string | undefined => (pod["spec"] as { nodeName?: string } | undefined)?.nodeName;

/** The nodes with a ready ztunnel. */
export function ztunnelNodes(pods: readonly KubeObject[]): Set<string> {
  const nodes = new Set<string>();
  for (const pod of pods) {
    const node = nodeOf(pod);
    if (pod.metadata.labels?.["app"] === "ztunnel" && node && isReady(pod)) nodes.add(node);
  }
  return nodes;
}

/** Why ztunnel cannot carry a workload's pods running on NODES (none yet: anywhere), or undefined. */
export function ztunnelProblem(readyOn: ReadonlySet<string>, nodes: readonly string[]): string | undefined {
  if (readyOn.size === 0)
    return "no ztunnel is ready in the cluster (pods labelled app=ztunnel): its pods would have no mesh in ambient; install Istio's ztunnel and istio-cni first";
  const missing = [...new Set(nodes)].filter((node) => !readyOn.has(node)).sort();
  if (missing.length === 0) return undefined;
  return `no ztunnel is ready on node(s) ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}, where its pods run: they would have no mesh in ambient`;
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

/**
 * Why the AuthorizationPolicies of NAMESPACE that select pods labelled LABELS by `selector` keep
 * them from ambient, or undefined: each with HTTP rules, and what ztunnel would do with it.
 */
export function authorizationProblem(
  policies: readonly KubeObject[] | undefined,
  namespace: string,
  labels: Readonly<Record<string, string>>,
  selects: (selector: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>) => boolean,
): string | undefined {
  if (policies === undefined) return "its AuthorizationPolicies cannot be checked: reading them (security.istio.io) is forbidden";
  const problems: string[] = [];
  for (const policy of policies) {
    if (policy.metadata.namespace !== namespace) continue;
    const spec = (policy["spec"] ?? {}) as {
      selector?: { matchLabels?: Record<string, string> };
      targetRef?: unknown;
      targetRefs?: unknown[];
      action?: string;
      rules?: Rule[];
    };
    // Policies attached by targetRefs go to a waypoint, not to ztunnel; CUSTOM and AUDIT ztunnel skips.
    if (!spec.selector || present(spec.targetRef) || present(spec.targetRefs)) continue;
    const action = spec.action ?? "ALLOW";
    if (action !== "ALLOW" && action !== "DENY") continue;
    if (!selects(spec.selector, { ...labels })) continue;
    const fields = httpFieldsOf(spec.rules ?? []);
    if (fields.length === 0) continue;
    const effect =
      action === "ALLOW"
        ? "ztunnel drops those rules from an ALLOW policy, so it allows less than it says (nothing, if every rule has them)"
        : "ztunnel keeps those DENY rules without their HTTP part, so it denies more than it says (up to everything)";
    problems.push(
      `AuthorizationPolicy ${namespace}/${policy.metadata.name} selects its pods and has HTTP rules (${fields.join(", ")}): ${effect}; attach it to a waypoint with targetRefs first`,
    );
  }
  return problems.length > 0 ? problems.join("; ") : undefined;
}
