import * as istio from "../keys/istio.js";
import { annotationOf } from "../pod/edit.js";
import { appContainers, findIstioProxy } from "../pod/istio-proxy.js";
import type { Pod } from "../pod/types.js";
import type { Workload } from "../pod/workload.js";
import { unchanged, type Mutation } from "./types.js";

// The ports Istio's sidecar takes in the pod's network namespace (istio.io, "Application
// Requirements", Ports used by Istio). An app listening on one of them has its traffic captured
// or refused by the proxy.
const ISTIO_PORTS: Readonly<Record<number, string>> = {
  15000: "Envoy's admin interface",
  15001: "outbound traffic capture",
  15004: "the debug port",
  15006: "inbound traffic capture",
  15008: "the HBONE mTLS tunnel",
  15020: "merged Prometheus telemetry",
  15021: "health checks",
  15053: "the DNS proxy",
  15090: "Envoy's Prometheus telemetry",
};

function reservedPorts(pod: Pod): string[] {
  const warnings: string[] = [];
  for (const container of appContainers(pod)) {
    const ports: unknown = container["ports"];
    if (!Array.isArray(ports)) continue;
    for (const port of ports) {
      const number = (port as { containerPort?: unknown } | null)?.containerPort;
      const purpose = typeof number === "number" ? ISTIO_PORTS[number] : undefined;
      if (purpose)
        warnings.push(
          `mesh-tailor: container "${container.name}" uses port ${String(number)}, which Istio's proxy takes for ${purpose}; move the app to another port`,
        );
    }
  }
  return warnings;
}

function classicJobProxy(pod: Pod, workload: Workload | undefined): string[] {
  if (workload?.kind !== "Job" && workload?.kind !== "CronJob") return [];
  const classic = findIstioProxy(pod)?.mode === "classic" || annotationOf(pod, istio.NATIVE_SIDECAR) === "false";
  return classic
    ? [
        `mesh-tailor: this ${workload.kind}'s pod gets a classic istio-proxy, which keeps running after its containers exit, so it never completes; set jobs.nativeSidecar: true in the policy, or ${istio.NATIVE_SIDECAR}: "true" on the pod template`,
      ]
    : [];
}

/**
 * Pitfalls that keep a selected pod from working in the mesh, each with what to do. It changes
 * nothing (so it is never listed as in force), and runs last to see the pod as admitted.
 */
export const pitfalls: Mutation = {
  name: "pitfalls",
  sidecarOnly: true,
  apply(pod, { workload }) {
    const warnings: string[] = [];
    if (pod.spec["dnsPolicy"] === "Default") {
      warnings.push(
        "mesh-tailor: dnsPolicy: Default resolves with the node's DNS, so the pod cannot resolve Service names and its calls by name never reach the mesh; use ClusterFirst",
      );
    }
    warnings.push(...classicJobProxy(pod, workload), ...reservedPorts(pod));
    return unchanged(pod, false, warnings);
  },
};
