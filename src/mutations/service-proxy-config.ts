import * as istio from "../keys/istio.js";
import { annotationOf, withAnnotation } from "../pod/edit.js";
import { fieldLeaves, mergeProxyConfigFields, wantedAt } from "../pod/proxy-config.js";
import { unchanged, type Mutation } from "./types.js";

/**
 * ProxyConfig per service: the entry's `proxyConfig` fields (terminationDrainDuration,
 * concurrency, ...) merged into the pod's proxy.istio.io/config the way the start-up hold is,
 * keeping every other field and comment. A field the user set on the pod wins, with a warning.
 */
export const serviceProxyConfig: Mutation = {
  name: "proxy-config",
  sidecarOnly: true,
  apply(pod, { decision }) {
    const fields = decision.entry?.proxyConfig ?? {};
    if (Object.keys(fields).length === 0) return unchanged(pod);
    const merge = mergeProxyConfigFields(annotationOf(pod, istio.PROXY_CONFIG), fields);
    if (merge.kind === "unreadable")
      return unchanged(pod, false, [`mesh-tailor: left ${istio.PROXY_CONFIG} as written (${merge.reason}); the service's proxyConfig is not applied`]);
    const warnings = Object.entries(merge.kept).map(
      ([field, own]) =>
        `mesh-tailor: kept ${field}: ${JSON.stringify(own)} in ${istio.PROXY_CONFIG} as set on the pod; the policy says ${JSON.stringify(wantedAt(fields, field))}`,
    );
    const inForce = Object.keys(merge.kept).length < fieldLeaves(fields);
    return { pod: merge.kind === "merged" ? withAnnotation(pod, istio.PROXY_CONFIG, merge.text) : pod, warnings, inForce };
  },
};
