import * as istio from "../keys/istio.js";
import { annotationOf, withAnnotation } from "../pod/edit.js";
import { mergeProxyConfigFields } from "../pod/proxy-config.js";
import { unchanged, type Mutation } from "./types.js";

// Istio refuses HTTP/1.0 by default. ISTIO_META_HTTP10 "1" (exactly) turns it on for one proxy:
// pilot-agent reads ISTIO_META_* from the ProxyConfig's proxyMetadata (pkg/bootstrap/config.go),
// and istiod sets AcceptHttp_10 on its outbound and inbound HTTP listeners
// (pilot/pkg/networking/core/listener.go, listener_inbound.go). On ports whose protocol Istio
// sniffs, HTTP/1.0 is recognised only with the mesh-wide PILOT_HTTP10 (listener.go's ALPN list).
const HTTP10 = { proxyMetadata: { ISTIO_META_HTTP10: "1" } } as const;

/** HTTP/1.0 callers accepted by a service's proxy: merged into its ProxyConfig, keeping every other field. */
export const http10: Mutation = {
  name: "http10",
  selectedOnly: true,
  apply(pod, { decision, policy }) {
    const wanted = decision.entry?.connection?.http10 ?? policy.policy.defaults.connection?.http10;
    if (wanted !== true) return unchanged(pod);
    const merge = mergeProxyConfigFields(annotationOf(pod, istio.PROXY_CONFIG), HTTP10);
    if (merge.kind === "unreadable")
      return unchanged(pod, false, [`mesh-tailor: left ${istio.PROXY_CONFIG} as written (${merge.reason}); HTTP/1.0 is not turned on for this pod`]);
    const kept = Object.entries(merge.kept).map(
      ([field, own]) => `mesh-tailor: kept ${field}: ${JSON.stringify(own)} in ${istio.PROXY_CONFIG} as set on the pod; connection.http10 says "1"`,
    );
    return { pod: merge.kind === "merged" ? withAnnotation(pod, istio.PROXY_CONFIG, merge.text) : pod, warnings: kept, inForce: kept.length === 0 };
  },
};
