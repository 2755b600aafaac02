import * as istio from "../keys/istio.js";
import { annotationOf, replaceContainer, withAnnotation, withSpec } from "../pod/edit.js";
import { findIstioProxy } from "../pod/istio-proxy.js";
import { mergeProxyConfigFields } from "../pod/proxy-config.js";
import type { Container, Pod } from "../pod/types.js";
import { unchanged, type Mutation } from "./types.js";

const HOLD_FIELD = "holdApplicationUntilProxyStarts";
const HOLD = { [HOLD_FIELD]: true };
// What Istio's classic template gives the proxy when hold is on: the kubelet runs postStart hooks
// to completion before it starts the next container, and `pilot-agent wait` returns once Envoy is
// ready (injection-template.yaml, the `$holdProxy` branch).
const WAIT_COMMAND = ["pilot-agent", "wait"];

const hasWaitHook = (proxy: Container): boolean => {
  const command = proxy.lifecycle?.postStart?.exec?.command;
  return command !== undefined && command.length === 2 && command[0] === WAIT_COMMAND[0] && command[1] === WAIT_COMMAND[1];
};

/** After classic injection: the proxy first, gated by `pilot-agent wait`. */
function holdClassicProxy(pod: Pod, index: number, proxy: Container): { pod: Pod; warnings: string[] } {
  const warnings: string[] = [];
  let gated = proxy;
  if (!hasWaitHook(proxy)) {
    if (proxy.lifecycle?.postStart)
      warnings.push("mesh-tailor: replaced the istio-proxy postStart hook with `pilot-agent wait` to hold the app until the proxy is ready");
    gated = { ...proxy, lifecycle: { ...proxy.lifecycle, postStart: { exec: { command: [...WAIT_COMMAND] } } } };
  }
  if (index === 0 && gated === proxy) return { pod, warnings };
  const others = replaceContainer(pod.spec.containers, index, gated).filter((_, i) => i !== index);
  return { pod: withSpec(pod, { containers: [gated, ...others] }), warnings };
}

/** Start-up ordering: the app container starts only once the proxy is ready. */
export const holdUntilProxyStarts: Mutation = {
  name: "hold",
  sidecarOnly: true,
  enabledBy: (policy) => policy.startup.holdApplicationUntilProxyStarts,
  apply(pod) {
    const merge = mergeProxyConfigFields(annotationOf(pod, istio.PROXY_CONFIG), HOLD);
    if (merge.kind === "unreadable") {
      return unchanged(pod, false, [`mesh-tailor: left ${istio.PROXY_CONFIG} as written (${merge.reason}); the app is not held until the proxy starts`]);
    }
    // The user's own value wins: an explicit false is a choice; anything else is left, and said.
    if (HOLD_FIELD in merge.kept) {
      const own = merge.kept[HOLD_FIELD];
      return unchanged(
        pod,
        false,
        own === false
          ? []
          : [`mesh-tailor: left ${HOLD_FIELD}: ${JSON.stringify(own)} in ${istio.PROXY_CONFIG} as written; the app is not held until the proxy starts`],
      );
    }
    let result = merge.kind === "merged" ? withAnnotation(pod, istio.PROXY_CONFIG, merge.text) : pod;
    const proxy = findIstioProxy(result);
    // A native sidecar's startup probe already gates the app containers; nothing to add.
    if (proxy?.mode !== "classic") return { pod: result, warnings: [], inForce: true };
    const held = holdClassicProxy(result, proxy.index, proxy.container);
    result = held.pod;
    return { pod: result, warnings: held.warnings, inForce: true };
  },
};
