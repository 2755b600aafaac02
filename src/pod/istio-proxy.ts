import type { Container, Pod } from "./types.js";

// Istio names its sidecar "istio-proxy" in both modes (injection template in istio/istio,
// manifests/charts/istio-control/istio-discovery/files/injection-template.yaml).
export const ISTIO_PROXY = "istio-proxy";

export type ProxyPlacement = { mode: "classic"; index: number; container: Container } | { mode: "native"; index: number; container: Container };

/**
 * Where Istio put the proxy, if it has injected this pod. Classic: a regular container.
 * Native sidecar (KEP-753, Istio >= 1.19): an init container with restartPolicy: Always.
 */
export function findIstioProxy(pod: Pod): ProxyPlacement | undefined {
  const classic = pod.spec.containers.findIndex((c) => c.name === ISTIO_PROXY);
  if (classic !== -1) return { mode: "classic", index: classic, container: pod.spec.containers[classic]! };
  const inits = pod.spec.initContainers ?? [];
  const native = inits.findIndex((c) => c.name === ISTIO_PROXY && c.restartPolicy === "Always");
  if (native !== -1) return { mode: "native", index: native, container: inits[native]! };
  return undefined;
}

/** The containers that run the application: every regular container but the proxy. */
export const appContainers = (pod: Pod): Container[] => pod.spec.containers.filter((c) => c.name !== ISTIO_PROXY);
