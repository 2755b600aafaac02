// mesh-tailor's own labels and annotations, all under mesh-tailor.io.

/** On a namespace: "true" opts it in (the webhook configuration's namespaceSelector). */
export const ENABLED = "mesh-tailor.io/enabled";
/**
 * On a pod: "true" asks mesh-tailor not to tailor it while the mesh is enabled. It never exempts
 * a pod from the system-wide rollback (mesh.enabled: false), and `status` and `doctor` list such
 * pods that Istio injected.
 */
export const SKIP = "mesh-tailor.io/skip";
/** The customizations in force on a pod, comma-separated, or "none". */
export const APPLIED = "mesh-tailor.io/applied";
/** outbound, inbound or both: the Host-passthrough EnvoyFilters select pods on it. */
export const HOST_PASSTHROUGH = "mesh-tailor.io/host-passthrough";
/** On a pod: the revision (content hash) of the policy it was admitted under, so `status` can tell stale pods. */
export const POLICY_REVISION = "mesh-tailor.io/policy-revision";
/**
 * On a pod: the hash of what the webhook wrote on it (mutations/tailoring.ts). A pod is stale
 * when admitting its template now would write something else.
 */
export const TAILORING = "mesh-tailor.io/tailoring";
/**
 * On a sandbox namespace, the base namespace it follows: set by the controller when it enables
 * the sandbox with its base, and by `namespaces disable`. With this set and the enabled label
 * gone, the sandbox was opted out, and the controller leaves it out.
 */
export const SANDBOX_OF = "mesh-tailor.io/sandbox-of";
/** The value of app.kubernetes.io/managed-by on objects the controller owns (the default Sidecar). */
export const MANAGER = "mesh-tailor";

/** The annotations that record an admission rather than tailor the pod: never part of what is compared. */
export const RECORDS: readonly string[] = [APPLIED, POLICY_REVISION, TAILORING];
