import { appContainers } from "../pod/istio-proxy.js";
import { declaredKeepAlive } from "../pod/keep-alive.js";
import { connectionSetting } from "../policy/connection.js";
import { unchanged, type Mutation } from "./types.js";

// The proxy's idle connections to its own app live in the inbound cluster's pool, whose idle
// timeout only a DestinationRule's connectionPool.http.idleTimeout (also applied to the inbound
// cluster) or a Sidecar's inboundConnectionPool sets (pilot/pkg/networking/core/cluster_builder.go,
// cluster_traffic_policy.go); unset, it is Envoy's cluster default of 1h. An app that closes idle
// connections sooner races the proxy reusing one: that request gets 503 with "connection reset"
// (istio/istio#41328), and Istio's default retries do not cover it.
const PROXY_POOL_IDLE_SECONDS = 3600;

const seconds = (value: number): string => `${Number.isInteger(value) ? value : value.toFixed(3).replace(/0+$/, "")}s`;

/**
 * Warns, for a service whose policy names where its app declares a keep-alive, when that
 * keep-alive is shorter than the proxy's pool to the app keeps connections: it changes nothing,
 * since only a DestinationRule or Sidecar can shorten that pool.
 */
export const appKeepAlive: Mutation = {
  name: "app-keep-alive",
  sidecarOnly: true,
  apply(pod, { decision, policy }) {
    const source = connectionSetting(decision.entry, policy.policy, "appKeepAlive");
    if (source === undefined) return unchanged(pod);
    const warnings: string[] = [];
    for (const container of appContainers(pod)) {
      const keepAlive = declaredKeepAlive(container, source);
      if (keepAlive === undefined) continue;
      if (keepAlive.kind === "unreadable") {
        warnings.push(
          `mesh-tailor: cannot read container ${JSON.stringify(container.name)}'s keep-alive from ${keepAlive.from} (${JSON.stringify(keepAlive.value)}): connection.appKeepAlive reads a Go duration such as "5s" or a number of ${source.unit === "ms" ? "milliseconds" : "seconds"}`,
        );
      } else if (keepAlive.seconds > 0 && keepAlive.seconds < PROXY_POOL_IDLE_SECONDS) {
        // 0 is no keep-alive (or no timeout) to Go, Node.js and gunicorn alike: nothing to race.
        const closes = seconds(keepAlive.seconds);
        warnings.push(
          `mesh-tailor: container ${JSON.stringify(container.name)} closes idle connections after ${closes} (${keepAlive.from}), but the proxy keeps its idle connections to the app for 1h unless a DestinationRule for this service or a Sidecar's inboundConnectionPool sets connectionPool.http.idleTimeout under ${closes}: a request on a connection the app has just closed gets 503 (connection reset)`,
        );
      }
    }
    return unchanged(pod, false, warnings);
  },
};
