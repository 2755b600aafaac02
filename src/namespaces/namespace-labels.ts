import * as istio from "../keys/istio.js";
import * as meshTailor from "../keys/mesh-tailor.js";
import type { KubeObject } from "../kube/object.js";

/** Istio's namespace-wide injection labels on NAMESPACE, as "key=value". */
export function istioNamespaceLabels(namespace: KubeObject): string[] {
  const labels = namespace.metadata.labels ?? {};
  return [istio.INJECTION, istio.REVISION].filter((key) => labels[key] !== undefined).map((key) => `${key}=${labels[key]}`);
}

/**
 * What Istio's namespace labels do to a namespace mesh-tailor tailors, as the rendered
 * istio-sidecar-injector webhooks select (the end-to-end suite checks it against them):
 * the namespace webhooks inject every pod not labelled sidecar.istio.io/inject=false, with
 * the revision the namespace names, so mesh-tailor's per-service selection still holds (it
 * writes "false" on every service left out) but a service's `revision` cannot take effect.
 */
export function istioLabelWarning(namespace: KubeObject): string | undefined {
  const labels = namespace.metadata.labels ?? {};
  const injection = labels[istio.INJECTION];
  const revision = labels[istio.REVISION];
  if (injection === undefined && revision === undefined) return undefined;
  const who =
    injection === "enabled"
      ? `${istio.INJECTION}=enabled: Istio's namespace webhook (default revision) injects`
      : injection !== undefined
        ? `${istio.INJECTION}=${injection}: Istio injects no pod by namespace here, and its object webhooks skip the namespace, so no pod is injected at all, selected or not`
        : `${istio.REVISION}=${revision}: Istio's namespace webhook of revision "${revision}" injects`;
  if (injection !== undefined && injection !== "enabled") return `namespace ${namespace.metadata.name} has ${who}`;
  return `namespace ${namespace.metadata.name} has ${who} every pod not labelled ${istio.SIDECAR_INJECT}=false. mesh-tailor still decides per service (it labels the services left out "false"), but the ${istio.REVISION} it writes for a service's revision is ignored here; remove the label to let each service choose its revision`;
}

export const isEnabled = (namespace: KubeObject | undefined): boolean => namespace?.metadata.labels?.[meshTailor.ENABLED] === "true";
