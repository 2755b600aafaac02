import { replaceContainer, withSpec } from "../pod/edit.js";
import { appContainers, findIstioProxy } from "../pod/istio-proxy.js";
import { preStopSeconds } from "../pod/prestop-seconds.js";
import type { LifecycleHandler, Pod } from "../pod/types.js";
import type { TailorPolicy } from "../policy/schema.js";
import { unchanged, type Mutation } from "./types.js";

// Kubernetes' default when a pod sets no terminationGracePeriodSeconds.
const DEFAULT_GRACE_SECONDS = 30;

function longestAppPreStop(pod: Pod, fallback: number): number {
  return appContainers(pod).reduce((longest, container) => Math.max(longest, preStopSeconds(container.lifecycle?.preStop) ?? fallback), 0);
}

function sleepHandler(seconds: number, action: TailorPolicy["shutdown"]["proxyPreStopAction"]): LifecycleHandler {
  return action === "sleep" ? { sleep: { seconds } } : { exec: { command: ["sleep", String(seconds)] } };
}

/**
 * Shutdown ordering. On termination the kubelet runs each container's preStop, then sends it
 * SIGTERM; a classic proxy without a longer preStop dies with the app's in-flight calls. The
 * proxy gets a preStop that sleeps past the longest app preStop, and the grace period covers
 * that plus Istio's drain. Native sidecars are stopped after the app by the kubelet itself, so
 * Istio's drain hook stays and only the grace period is checked.
 */
export const proxyOutlivesApp: Mutation = {
  name: "prestop",
  apply(pod, { decision, policy }) {
    const shutdown = policy.policy.shutdown;
    if (!decision.selected || !shutdown.enabled) return unchanged(pod);
    const appSeconds = longestAppPreStop(pod, shutdown.appPreStopSecondsDefault);
    const proxySeconds = appSeconds + shutdown.marginSeconds;
    const warnings: string[] = [];
    let result = pod;
    let inForce = true;

    const proxy = findIstioProxy(pod);
    if (proxy?.mode === "classic") {
      const existing = proxy.container.lifecycle?.preStop;
      const existingSeconds = existing ? preStopSeconds(existing) : undefined;
      if (existingSeconds === undefined || existingSeconds < proxySeconds) {
        if (existing) warnings.push(`mesh-tailor: replaced the istio-proxy preStop hook with a ${proxySeconds}s sleep so the proxy outlives the app's ${appSeconds}s preStop`);
        const lifecycle = { ...proxy.container.lifecycle, preStop: sleepHandler(proxySeconds, shutdown.proxyPreStopAction) };
        result = withSpec(result, { containers: replaceContainer(result.spec.containers, proxy.index, { ...proxy.container, lifecycle }) });
      }
    } else if (proxy === undefined) {
      inForce = false; // nothing to order yet: Istio has not injected (or never will, offline)
    }

    if (shutdown.adjustTerminationGracePeriod) {
      const needed = proxySeconds + shutdown.proxyDrainSeconds;
      const current = result.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
      if (current < needed) {
        warnings.push(`mesh-tailor: raised terminationGracePeriodSeconds from ${current} to ${needed} to cover the app's ${appSeconds}s preStop, a ${shutdown.marginSeconds}s margin and the proxy's ${shutdown.proxyDrainSeconds}s drain`);
        result = withSpec(result, { terminationGracePeriodSeconds: needed });
      }
    }
    return { pod: result, warnings, inForce };
  },
};
