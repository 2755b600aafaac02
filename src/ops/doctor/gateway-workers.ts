// How many Envoy worker threads an Istio gateway runs, read from its Deployment as Istio's agent
// will (istio.io/istio v0.0.0-20260827124520-eed52ebb66ad, VERSION 1.31; paths in that module):
// ProxyConfig.concurrency when set (the pod's `proxy.istio.io/config`); else ISTIO_CPU_LIMIT
// (pilot/cmd/pilot-agent/config/config.go L63-70, L179-183), which the gateway injection
// template fills from `resourceFieldRef: limits.cpu, divisor "1"`
// (istio-discovery/files/gateway-injection-template.yaml L87-91; kube-gateway.yaml L168-172):
// the CPU limit rounded up, or, with no limit, the node's allocatable CPUs. concurrency 0 passes
// no --concurrency, and Envoy runs a worker per hardware thread (pkg/envoy/proxy.go L168-169).
import * as istioKeys from "../../keys/istio.js";
import { readProxyConfig } from "../../pod/proxy-config.js";
import type { Deployment, WorkloadContainer } from "./facts.js";

const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A CPU quantity ("2", "1500m", "0.5") in cores; undefined when it is none. */
export function cpuCores(quantity: string | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  const match = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+)|(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/.exec(quantity.trim());
  if (!match) return undefined;
  const exponent = match[2] === undefined ? 1 : 10 ** Number(match[2]);
  return Number(match[1]) * exponent * SUFFIX[match[3] ?? ""]!;
}

const PROXY = "istio-proxy";
/** The gateway chart's default CPU limit, so its worker count (manifests/charts/gateway/values.yaml L79-80). */
export const CHART_WORKERS = 2;
export const MANAGED_BY_ISTIO = "istio.io-gateway-controller";

export type GatewayKind = "injected" | "gateway-api";

/**
 * Whether DEPLOYMENT is an Istio ingress gateway: its pod template asks for Istio's `gateway`
 * injection template (the gateway chart's podAnnotations, values.yaml L33), or istiod deploys it
 * for a Gateway API Gateway (label gateway.istio.io/managed, kube-gateway.yaml L37), waypoints
 * not. Egress gateways (an `istio` label naming egress) are left out.
 */
export function gatewayKind(deployment: Deployment): GatewayKind | undefined {
  const labels = deployment.metadata.labels ?? {};
  if ((labels[istioKeys.GATEWAY_SELECTOR] ?? "").includes("egress")) return undefined;
  if (labels[istioKeys.GATEWAY_MANAGED] === MANAGED_BY_ISTIO) return (labels[istioKeys.GATEWAY_CLASS] ?? "").includes("waypoint") ? undefined : "gateway-api";
  const templates = deployment.spec?.template?.metadata?.annotations?.[istioKeys.INJECT_TEMPLATES] ?? "";
  return templates.split(",").some((t) => t.trim() === "gateway") ? "injected" : undefined;
}

/** ProxyConfig.concurrency in the pod template's annotation: a number, or undefined when not set (or not readable). */
function concurrencyOf(deployment: Deployment): number | undefined {
  const text = deployment.spec?.template?.metadata?.annotations?.[istioKeys.PROXY_CONFIG];
  if (text === undefined) return undefined;
  const read = readProxyConfig(text);
  if (!read.ok) return undefined;
  const value = read.value["concurrency"];
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

export type GatewayWorkers =
  | { readonly kind: "ok"; readonly workers: number; readonly from: string }
  | { readonly kind: "warning"; readonly problem: string; readonly workers: number; readonly fix: string };

const cores = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0+$/, ""));

/** How many workers DEPLOYMENT's gateway runs and, when that is not bounded by its CPUs, the number to set and the command. */
export function gatewayWorkers(deployment: Deployment, kind: GatewayKind): GatewayWorkers {
  const namespace = deployment.metadata.namespace ?? "default";
  const name = deployment.metadata.name;
  const containers: readonly WorkloadContainer[] = deployment.spec?.template?.spec?.containers ?? [];
  const proxy = containers.find((c) => c.name === PROXY);
  const limit = cpuCores(proxy?.resources?.limits?.["cpu"]);
  const request = cpuCores(proxy?.resources?.requests?.["cpu"]);
  const concurrency = concurrencyOf(deployment);
  // What to run: the CPUs it is given (its limit), else what it asks for, at least the chart's 2.
  const wanted = limit !== undefined ? Math.max(1, Math.ceil(limit)) : Math.max(CHART_WORKERS, Math.ceil(request ?? 0));
  const annotationFix =
    kind === "gateway-api"
      ? `set proxy.istio.io/config "concurrency: ${wanted}" in the Gateway's spec.infrastructure.annotations (istiod writes this Deployment)`
      : `kubectl -n ${namespace} edit deployment ${name}   (spec.template.metadata.annotations["${istioKeys.PROXY_CONFIG}"]: concurrency: ${wanted})`;
  const limitFix =
    kind === "gateway-api"
      ? `give the istio-proxy container resources.limits.cpu: ${wanted} through the Gateway's spec.infrastructure.parametersRef ConfigMap (istiod writes this Deployment)`
      : `kubectl -n ${namespace} set resources deployment ${name} -c ${PROXY} --limits=cpu=${wanted}   (or, to keep no limit, ${istioKeys.PROXY_CONFIG} "concurrency: ${wanted}" on its pod template)`;
  if (concurrency !== undefined && concurrency > 0) {
    if (limit !== undefined && concurrency > Math.ceil(limit))
      return {
        kind: "warning",
        workers: concurrency,
        problem: `concurrency ${concurrency} on a CPU limit of ${cores(limit)}: its workers are throttled to the limit and requests wait; set ${wanted}`,
        fix: annotationFix,
      };
    return { kind: "ok", workers: concurrency, from: `${istioKeys.PROXY_CONFIG} concurrency` };
  }
  if (concurrency === 0)
    return {
      kind: "warning",
      workers: 0,
      problem: `concurrency 0: Envoy runs a worker per hardware thread of whichever node it lands on${limit !== undefined ? `, throttled to its CPU limit of ${cores(limit)}` : ""}; set ${wanted}`,
      fix: annotationFix,
    };
  if (limit !== undefined) return { kind: "ok", workers: Math.ceil(limit), from: `its CPU limit ${cores(limit)}, rounded up (ISTIO_CPU_LIMIT)` };
  return {
    kind: "warning",
    workers: 0,
    problem: `no CPU limit and no concurrency: Envoy runs a worker per allocatable CPU of whichever node it lands on (ISTIO_CPU_LIMIT falls back to the node's), each with its own upstream connections, on ${request !== undefined ? `a request of ${cores(request)} CPU` : "no CPU request"}; set ${wanted}`,
    fix: limitFix,
  };
}
