import * as istio from "../keys/istio.js";
import * as k8s from "../keys/kubernetes.js";
import { labelOf, withLabel } from "../pod/edit.js";
import { isLabelValue } from "../pod/k8s-names.js";
import type { Pod } from "../pod/types.js";
import { isServiceLess } from "../pod/workload.js";
import { unchanged, type Mutation } from "./types.js";

/** The single value a pod's scheduling constraints require for a node label, if they pin exactly one. */
function pinnedNodeLabel(pod: Pod, key: string): string | undefined {
  const fromSelector = pod.spec.nodeSelector?.[key];
  if (fromSelector) return fromSelector;
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  // Terms are ORed: only a single term can pin a value.
  if (terms.length !== 1) return undefined;
  const expression = terms[0]!.matchExpressions?.find((e) => e.key === key && e.operator === "In");
  return expression?.values?.length === 1 ? expression.values[0] : undefined;
}

export function localityOf(pod: Pod, fallback: string): string | undefined {
  const region = pinnedNodeLabel(pod, k8s.TOPOLOGY_REGION);
  const zone = pinnedNodeLabel(pod, k8s.TOPOLOGY_ZONE);
  if (region && zone) {
    const subzone = pinnedNodeLabel(pod, istio.TOPOLOGY_SUBZONE);
    return subzone ? `${region}.${zone}.${subzone}` : `${region}.${zone}`;
  }
  return fallback || undefined;
}

/**
 * Locality for pods with no Service (Jobs, CronJob runs, bare pods): Istio derives a proxy's
 * locality from its Service's endpoints, so these pods lose locality-aware load balancing.
 */
export const locality: Mutation = {
  name: "locality",
  enabledBy: (policy) => policy.locality.enabled,
  apply(pod, { workload, policy }) {
    const settings = policy.policy.locality;
    if (!isServiceLess(workload)) return unchanged(pod);
    const value = localityOf(pod, settings.default);
    const existing = labelOf(pod, istio.LOCALITY);
    if (value === undefined) return unchanged(pod);
    if (existing !== undefined || labelOf(pod, istio.TOPOLOGY_LOCALITY) !== undefined) return unchanged(pod, existing === value);
    if (!isLabelValue(value)) {
      return unchanged(pod, false, [`mesh-tailor: locality "${value}" from the pod's node constraints is not a valid label value; ${istio.LOCALITY} not set`]);
    }
    return { pod: withLabel(pod, istio.LOCALITY, value), warnings: [], inForce: true };
  },
};
