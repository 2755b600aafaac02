import { replaceContainer, withSpec } from "../pod/edit.js";
import { appContainers, findIstioProxy } from "../pod/istio-proxy.js";
import { preStopSeconds } from "../pod/prestop-seconds.js";
import { proxyDrainOf } from "../pod/proxy-drain.js";
import type { LifecycleHandler, Pod } from "../pod/types.js";
import type { TailorPolicy } from "../policy/schema.js";
import type { Mutation } from "./types.js";

// Kubernetes' default when a pod sets no terminationGracePeriodSeconds.
const DEFAULT_GRACE_SECONDS = 30;
/**
 * The most seconds mesh-tailor writes into a pod. The API stores int64 seconds, but the kubelet
 * turns them into a Go time.Duration (int64 nanoseconds), which overflows past about 292 years,
 * and JavaScript numbers are exact only up to 2^53: 2^31 - 1 seconds (68 years) is safe for all.
 */
export const MAX_POD_SECONDS = 2_147_483_647;

function longestAppPreStop(pod: Pod, fallback: number): number {
  return appContainers(pod).reduce((longest, container) => Math.max(longest, preStopSeconds(container.lifecycle?.preStop) ?? fallback), 0);
}

function sleepHandler(seconds: number, action: TailorPolicy["shutdown"]["proxyPreStopAction"]): LifecycleHandler {
  return action === "sleep" ? { sleep: { seconds } } : { exec: { command: ["sleep", String(seconds)] } };
}

/** The pod's grace period as the API would read it; undefined when it is not a number the API could have sent. */
function gracePeriodOf(pod: Pod): number | undefined {
  const value: unknown = pod.spec.terminationGracePeriodSeconds;
  if (value === undefined || value === null) return DEFAULT_GRACE_SECONDS;
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Shutdown ordering. On termination the kubelet runs each container's preStop, then sends it
 * SIGTERM; a classic proxy without a longer preStop dies with the app's in-flight calls. The
 * proxy gets a preStop that sleeps past the longest app preStop, and the grace period covers
 * that plus the drain the proxy's own settings ask for (src/pod/proxy-drain.ts). Native sidecars
 * are stopped after the app by the kubelet itself, so Istio's drain hook stays and the grace
 * period covers the app's preStop and the margin.
 */
export const proxyOutlivesApp: Mutation = {
  name: "prestop",
  sidecarOnly: true,
  enabledBy: (policy) => policy.shutdown.enabled,
  apply(pod, { policy }) {
    const shutdown = policy.policy.shutdown;
    const warnings: string[] = [];
    const readSeconds = longestAppPreStop(pod, shutdown.appPreStopSecondsDefault);
    const appSeconds = Math.min(readSeconds, MAX_POD_SECONDS);
    if (readSeconds > MAX_POD_SECONDS)
      warnings.push(
        `mesh-tailor: an app preStop sleeps longer than ${MAX_POD_SECONDS}s, the most mesh-tailor writes into a pod; counted as ${MAX_POD_SECONDS}s`,
      );
    const proxySeconds = Math.min(appSeconds + shutdown.marginSeconds, MAX_POD_SECONDS);
    let result = pod;
    let inForce = true;

    // The grace period is decided first (the proxy's sleep may not exceed it); its warning comes last.
    let graceWarning: string | undefined;
    let grace = gracePeriodOf(pod);
    if (shutdown.adjustTerminationGracePeriod && grace !== undefined) {
      const drain = proxyDrainOf(pod, shutdown);
      warnings.push(...drain.warnings);
      const needed = Math.min(proxySeconds + drain.seconds, MAX_POD_SECONDS);
      if (grace < needed) {
        const drainText = drain.seconds > 0 ? ` and the proxy's ${drain.seconds}s drain (${drain.source})` : ` (${drain.source})`;
        graceWarning = `mesh-tailor: raised terminationGracePeriodSeconds from ${grace} to ${needed} to cover the app's ${appSeconds}s preStop, a ${shutdown.marginSeconds}s margin${drainText}`;
        result = withSpec(result, { terminationGracePeriodSeconds: needed });
        grace = needed;
      }
    }

    const proxy = findIstioProxy(result);
    if (proxy?.mode === "classic") {
      let target = proxySeconds;
      // Kubernetes refuses a sleep action longer than the grace period (validateSleepAction).
      if (shutdown.proxyPreStopAction === "sleep" && grace !== undefined && target > grace) {
        target = grace;
        warnings.push(
          `mesh-tailor: the istio-proxy preStop sleeps ${grace}s, the pod's terminationGracePeriodSeconds, not the ${proxySeconds}s that would outlive the app: Kubernetes allows no longer sleep; raise the grace period`,
        );
      }
      const existing = proxy.container.lifecycle?.preStop;
      const existingSeconds = existing ? preStopSeconds(existing) : undefined;
      if (target <= 0) {
        inForce = false;
      } else if (existingSeconds === undefined || existingSeconds < target) {
        if (existing)
          warnings.push(`mesh-tailor: replaced the istio-proxy preStop hook with a ${target}s sleep so the proxy outlives the app's ${appSeconds}s preStop`);
        const lifecycle = { ...proxy.container.lifecycle, preStop: sleepHandler(target, shutdown.proxyPreStopAction) };
        result = withSpec(result, { containers: replaceContainer(result.spec.containers, proxy.index, { ...proxy.container, lifecycle }) });
      }
    } else if (proxy === undefined) {
      inForce = false; // nothing to order yet: Istio has not injected (or never will, offline)
    }
    if (graceWarning) warnings.push(graceWarning);
    return { pod: result, warnings, inForce };
  },
};
