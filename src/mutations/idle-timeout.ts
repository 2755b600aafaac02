import { connectionSetting } from "../policy/connection.js";
import { proxyMetadataSwitch } from "./proxy-metadata-switch.js";

// ISTIO_META_IDLE_TIMEOUT (pkg/model/proxy.go, NodeMetadata.IdleTimeout; Go's time.ParseDuration,
// a value it refuses is ignored: listener_builder.go parseDuration) is, for that proxy, the idle
// timeout of every HTTP connection manager it listens with (common_http_protocol_options on
// inbound, outbound and gateway listeners: listener_builder.go) and of its TCP proxies (inbound:
// listener_inbound.go; outbound, unless a DestinationRule sets connectionPool.tcp.idleTimeout:
// networkfilter.go). Unset, Envoy's default is 1h. A ProxyConfig connectionSettings.httpIdleTimeout
// overrides it for HTTP (connection_settings.go). It does not reach the proxy's pool of
// connections to its own app: that is the inbound cluster's, set only by a DestinationRule or a
// Sidecar's inboundConnectionPool (cluster_builder.go); app-keep-alive.ts warns about that one.

/** The idle timeout of the connections a service's proxy accepts: merged into its ProxyConfig, keeping every other field. */
export const idleTimeout = proxyMetadataSwitch({
  name: "idle-timeout",
  setting: "connection.idleTimeout",
  key: "ISTIO_META_IDLE_TIMEOUT",
  valueOf: ({ decision, policy }) => connectionSetting(decision.entry, policy.policy, "idleTimeout"),
  lost: "the idle timeout is not set",
});
