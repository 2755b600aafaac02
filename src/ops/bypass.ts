import * as meshTailor from "../keys/mesh-tailor.js";
import type { KubeObject } from "../kube/object.js";
import { findIstioProxy } from "../pod/istio-proxy.js";
import { isSkipLabelled } from "../pod/skip-label.js";
import { isPodLike } from "../pod/types.js";

/**
 * Why a pod Istio injected was not tailored: `skip-label`, labelled mesh-tailor.io/skip: "true"
 * (left alone while the mesh is enabled); `untailored`, admitted without mesh-tailor (the webhook
 * down, or the namespace enabled later).
 */
export type BypassKind = "skip-label" | "untailored";

export interface Bypass {
  readonly kind: BypassKind;
  readonly text: string;
}

export const BYPASS_TEXT: Readonly<Record<BypassKind, string>> = {
  "skip-label": `labelled ${meshTailor.SKIP}: "true"`,
  untailored: "admitted without mesh-tailor",
};

/**
 * Whether POD runs Istio's proxy without mesh-tailor having tailored it: it has an istio-proxy
 * and no mesh-tailor.io/tailoring record, which every pod the webhook admits gets. Judged on the
 * pod alone, for a pod in a namespace mesh-tailor tailors.
 */
export function bypassOf(pod: KubeObject): Bypass | undefined {
  if (!isPodLike(pod) || findIstioProxy(pod) === undefined) return undefined;
  if (pod.metadata.annotations?.[meshTailor.TAILORING] !== undefined) return undefined;
  const kind: BypassKind = isSkipLabelled(pod) ? "skip-label" : "untailored";
  return { kind, text: BYPASS_TEXT[kind] };
}
