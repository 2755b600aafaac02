import { withSpec } from "../pod/edit.js";
import { connectionSetting } from "../policy/connection.js";
import { unchanged, type Mutation } from "./types.js";

// The kernel's source port range, a pod sysctl Kubernetes counts as safe (the kubelet's safe list,
// pkg/kubelet/sysctl/safe_sysctls.go), which Istio's injection leaves as it is. Written "LOW HIGH".
export const PORT_RANGE_SYSCTL = "net.ipv4.ip_local_port_range";

interface Sysctl {
  name?: unknown;
  value?: unknown;
}

/**
 * A wider source port range for a service whose pods run out of ports: behind the proxy, every
 * inbound connection reaches the app from 127.0.0.6, so a slow app holds one source port per
 * open request and per TIME_WAIT (README, "Connections"). The pod's own value wins, with a
 * warning. A pod on the host's network, where Kubernetes refuses net.* sysctls, is never selected
 * (Istio does not inject it: injection-decision.ts), so it never gets here.
 */
export const localPortRange: Mutation = {
  name: "port-range",
  sidecarOnly: true,
  apply(pod, { decision, policy }) {
    const range = connectionSetting(decision.entry, policy.policy, "localPortRange");
    if (range === undefined) return unchanged(pod);
    const wanted = range.replace("-", " ");
    const securityContext = (pod.spec["securityContext"] ?? {}) as { sysctls?: Sysctl[] } & Record<string, unknown>;
    const sysctls = Array.isArray(securityContext.sysctls) ? securityContext.sysctls : [];
    const own = sysctls.find((sysctl) => sysctl?.name === PORT_RANGE_SYSCTL);
    if (own !== undefined) {
      // The kernel reads any whitespace between the two numbers.
      const same = typeof own.value === "string" && own.value.trim().split(/\s+/).join(" ") === wanted;
      return same
        ? unchanged(pod, true)
        : unchanged(pod, false, [`mesh-tailor: kept ${PORT_RANGE_SYSCTL}=${JSON.stringify(own.value)} as set on the pod; the policy says "${wanted}"`]);
    }
    return {
      pod: withSpec(pod, { securityContext: { ...securityContext, sysctls: [...sysctls, { name: PORT_RANGE_SYSCTL, value: wanted }] } }),
      warnings: [],
      inForce: true,
    };
  },
};
