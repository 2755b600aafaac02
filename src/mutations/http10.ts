import { connectionSetting } from "../policy/connection.js";
import { proxyMetadataSwitch } from "./proxy-metadata-switch.js";

// Istio refuses HTTP/1.0 by default. ISTIO_META_HTTP10 "1" (exactly) turns it on for one proxy:
// pilot-agent reads ISTIO_META_* from the ProxyConfig's proxyMetadata (pkg/bootstrap/config.go),
// and istiod sets AcceptHttp_10 on its outbound and inbound HTTP listeners
// (pilot/pkg/networking/core/listener.go, listener_inbound.go). On ports whose protocol Istio
// sniffs, HTTP/1.0 is recognised only with the mesh-wide PILOT_HTTP10 (listener.go's ALPN list).

/** HTTP/1.0 callers accepted by a service's proxy: merged into its ProxyConfig, keeping every other field. */
export const http10 = proxyMetadataSwitch({
  name: "http10",
  setting: "connection.http10",
  key: "ISTIO_META_HTTP10",
  valueOf: ({ decision, policy }) => (connectionSetting(decision.entry, policy.policy, "http10") === true ? "1" : undefined),
  lost: "HTTP/1.0 is not turned on",
});
