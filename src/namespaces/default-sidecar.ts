import * as k8s from "../keys/kubernetes.js";
import * as meshTailor from "../keys/mesh-tailor.js";
import type { KubeObject } from "../kube/object.js";
import type { TailorPolicy } from "../policy/schema.js";

// Istio's Sidecar resource (networking.istio.io/v1, istio/api networking/v1/sidecar.proto). One
// without a workloadSelector applies to every pod of its namespace; "default" is the name Istio's
// documentation gives that namespace-wide one.
export const SIDECAR_API_VERSION = "networking.istio.io/v1";
export const SIDECAR_PATH = "/apis/networking.istio.io/v1";
export const DEFAULT_SIDECAR_NAME = "default";

export interface SidecarSpec {
  readonly egress: readonly { readonly hosts: readonly string[] }[];
}

export type Sidecar = KubeObject & { spec?: SidecarSpec };

/** The managed Sidecar mesh-tailor wants in NAMESPACE under POLICY. */
export function desiredSidecar(namespace: string, policy: TailorPolicy): Sidecar {
  return {
    apiVersion: SIDECAR_API_VERSION,
    kind: "Sidecar",
    metadata: { name: DEFAULT_SIDECAR_NAME, namespace, labels: { [k8s.MANAGED_BY]: meshTailor.MANAGER } },
    spec: { egress: [{ hosts: [...policy.namespaces.defaultSidecar.egressHosts] }] },
  };
}

export const isManaged = (object: KubeObject): boolean => object.metadata.labels?.[k8s.MANAGED_BY] === meshTailor.MANAGER;

/** The managed object as desired: same spec, and the managed-by label still there. */
export function matchesDesired(existing: Sidecar, desired: Sidecar): boolean {
  return JSON.stringify(existing.spec ?? {}) === JSON.stringify(desired.spec) && isManaged(existing);
}
