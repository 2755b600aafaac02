import { annotationOf, replaceContainer, withAnnotation, withSpec } from "../pod/edit.js";
import { findIstioProxy } from "../pod/istio-proxy.js";
import { MAX_PROXY_CONFIG_CHARS, proxyConfigText, readProxyConfig } from "../pod/proxy-config.js";
import type { Container, Pod } from "../pod/types.js";
import { unchanged, type Mutation } from "./types.js";
import * as istio from "../keys/istio.js";

const HOLD_FIELD = "holdApplicationUntilProxyStarts";
// What Istio's classic template gives the proxy when hold is on: the kubelet runs postStart hooks
// to completion before it starts the next container, and `pilot-agent wait` returns once Envoy is
// ready (injection-template.yaml, the `$holdProxy` branch).
const WAIT_COMMAND = ["pilot-agent", "wait"];

type ConfigMerge =
  | { kind: "merged"; text: string }
  | { kind: "already" }
  | { kind: "user-disabled" }
  | { kind: "unreadable"; reason: string };

// Every pod of a workload carries the same annotation text, and parsing YAML was the costliest
// step of the whole admission: remember recent answers (the function is pure). Bounded in
// entries and in characters held (keys and merged texts), and simply emptied when either is
// reached, so a stream of distinct values cannot grow it.
const MERGE_MEMO_ENTRIES = 1024;
export const MERGE_MEMO_CHARS = 2 * 1024 * 1024;
const mergeMemo = new Map<string, ConfigMerge>();
let mergeMemoChars = 0;

/** Characters the memo holds now (for tests of its bound). */
export const mergeMemoSize = (): { entries: number; chars: number } => ({ entries: mergeMemo.size, chars: mergeMemoChars });

/** Sets holdApplicationUntilProxyStarts in a ProxyConfig document, keeping every other field and comment. */
export function mergeHoldIntoProxyConfig(existing: string | undefined): ConfigMerge {
  if (existing === undefined || existing.trim() === "") return { kind: "merged", text: `${HOLD_FIELD}: true\n` };
  // Over the size it parses, the answer is immediate and not worth remembering.
  if (existing.length > MAX_PROXY_CONFIG_CHARS) return parseAndMerge(existing);
  const remembered = mergeMemo.get(existing);
  if (remembered) return remembered;
  const merge = Object.freeze(parseAndMerge(existing));
  const chars = existing.length + (merge.kind === "merged" ? merge.text.length : 0);
  if (mergeMemo.size >= MERGE_MEMO_ENTRIES || mergeMemoChars + chars > MERGE_MEMO_CHARS) {
    mergeMemo.clear();
    mergeMemoChars = 0;
  }
  mergeMemo.set(existing, merge);
  mergeMemoChars += chars;
  return merge;
}

function parseAndMerge(existing: string): ConfigMerge {
  const read = readProxyConfig(existing);
  if (!read.ok) return { kind: "unreadable", reason: read.reason };
  const current = read.document.get(HOLD_FIELD);
  if (current === true) return { kind: "already" };
  if (current === false) return { kind: "user-disabled" };
  read.document.set(HOLD_FIELD, true);
  return { kind: "merged", text: proxyConfigText(read) };
}

const hasWaitHook = (proxy: Container): boolean => {
  const command = proxy.lifecycle?.postStart?.exec?.command;
  return command !== undefined && command.length === 2 && command[0] === WAIT_COMMAND[0] && command[1] === WAIT_COMMAND[1];
};

/** After classic injection: the proxy first, gated by `pilot-agent wait`. */
function holdClassicProxy(pod: Pod, index: number, proxy: Container): { pod: Pod; warnings: string[] } {
  const warnings: string[] = [];
  let gated = proxy;
  if (!hasWaitHook(proxy)) {
    if (proxy.lifecycle?.postStart) warnings.push("mesh-tailor: replaced the istio-proxy postStart hook with `pilot-agent wait` to hold the app until the proxy is ready");
    gated = { ...proxy, lifecycle: { ...proxy.lifecycle, postStart: { exec: { command: [...WAIT_COMMAND] } } } };
  }
  if (index === 0 && gated === proxy) return { pod, warnings };
  const others = replaceContainer(pod.spec.containers, index, gated).filter((_, i) => i !== index);
  return { pod: withSpec(pod, { containers: [gated, ...others] }), warnings };
}

/** Start-up ordering: the app container starts only once the proxy is ready. */
export const holdUntilProxyStarts: Mutation = {
  name: "hold",
  selectedOnly: true,
  enabledBy: (policy) => policy.startup.holdApplicationUntilProxyStarts,
  apply(pod) {
    const merge = mergeHoldIntoProxyConfig(annotationOf(pod, istio.PROXY_CONFIG));
    if (merge.kind === "unreadable") {
      return unchanged(pod, false, [`mesh-tailor: left ${istio.PROXY_CONFIG} as written (${merge.reason}); the app is not held until the proxy starts`]);
    }
    if (merge.kind === "user-disabled") return unchanged(pod);
    let result = merge.kind === "merged" ? withAnnotation(pod, istio.PROXY_CONFIG, merge.text) : pod;
    const proxy = findIstioProxy(result);
    // A native sidecar's startup probe already gates the app containers; nothing to add.
    if (proxy?.mode !== "classic") return { pod: result, warnings: [], inForce: true };
    const held = holdClassicProxy(result, proxy.index, proxy.container);
    result = held.pod;
    return { pod: result, warnings: held.warnings, inForce: true };
  },
};
