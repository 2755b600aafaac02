import { annotationOf, withAnnotation } from "../pod/edit.js";
import type { ProxyResources } from "../policy/schema.js";
import { unchanged, type Mutation } from "./types.js";
import * as istio from "../keys/istio.js";

// Istio's per-pod sidecar resource annotations.
const ANNOTATION_FOR: Record<keyof ProxyResources, string> = { cpu: istio.PROXY_CPU, memory: istio.PROXY_MEMORY, cpuLimit: istio.PROXY_CPU_LIMIT, memoryLimit: istio.PROXY_MEMORY_LIMIT };

/** The service entry's values, field by field, over the policy defaults; "" means not set. */
function effectiveResources(defaults: ProxyResources | undefined, own: ProxyResources | undefined): Partial<Record<keyof ProxyResources, string>> {
  const merged: Partial<Record<keyof ProxyResources, string>> = {};
  for (const field of Object.keys(ANNOTATION_FOR) as (keyof ProxyResources)[]) {
    const value = own?.[field] || defaults?.[field];
    if (value) merged[field] = value;
  }
  return merged;
}

/** Sizes the sidecar through Istio's annotations, never replacing one the user set. */
export const proxyResources: Mutation = {
  name: "resources",
  apply(pod, { decision, policy }) {
    if (!decision.selected) return unchanged(pod);
    const wanted = effectiveResources(policy.policy.defaults.proxyResources, decision.entry?.proxyResources);
    let result = pod;
    let inForce = false;
    for (const [field, value] of Object.entries(wanted) as [keyof ProxyResources, string][]) {
      const key = ANNOTATION_FOR[field];
      const existing = annotationOf(result, key);
      if (existing === undefined) result = withAnnotation(result, key, value);
      if (existing === undefined || existing === value) inForce = true;
    }
    return { pod: result, warnings: [], inForce };
  },
};
