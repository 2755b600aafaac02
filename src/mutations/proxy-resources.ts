import * as istio from "../keys/istio.js";
import type { ProxyResources } from "../policy/schema.js";
import { setAllUnlessUserSet } from "./edits.js";
import type { Mutation } from "./types.js";

// Istio's per-pod sidecar resource annotations.
const ANNOTATION_FOR: Record<keyof ProxyResources, string> = {
  cpu: istio.PROXY_CPU,
  memory: istio.PROXY_MEMORY,
  cpuLimit: istio.PROXY_CPU_LIMIT,
  memoryLimit: istio.PROXY_MEMORY_LIMIT,
};

/** The service entry's values, field by field, over the policy defaults, as annotations; "" means not set. */
function wantedAnnotations(defaults: ProxyResources | undefined, own: ProxyResources | undefined): Record<string, string> {
  const wanted: Record<string, string> = {};
  for (const field of Object.keys(ANNOTATION_FOR) as (keyof ProxyResources)[]) {
    const value = own?.[field] || defaults?.[field];
    if (value) wanted[ANNOTATION_FOR[field]] = value;
  }
  return wanted;
}

/** Sizes the sidecar through Istio's annotations, never replacing one the user set (silently: sizing is theirs). */
export const proxyResources: Mutation = {
  name: "resources",
  sidecarOnly: true,
  apply(pod, { decision, policy }) {
    return setAllUnlessUserSet(pod, "annotations", wantedAnnotations(policy.policy.defaults.proxyResources, decision.entry?.proxyResources), false);
  },
};
