// mesh-tailor's own labels and annotations, all under mesh-tailor.io.

/** On a namespace: "true" opts it in (the webhook configuration's namespaceSelector). */
export const ENABLED = "mesh-tailor.io/enabled";
/** On a pod: "true" keeps the webhook away from it (the webhook configuration's objectSelector). */
export const SKIP = "mesh-tailor.io/skip";
/** The customizations in force on a pod, comma-separated, or "none". */
export const APPLIED = "mesh-tailor.io/applied";
/** outbound, inbound or both: the Host-passthrough EnvoyFilters select pods on it. */
export const HOST_PASSTHROUGH = "mesh-tailor.io/host-passthrough";
/** On a pod: the revision (content hash) of the policy it was admitted under, so `status` can tell stale pods. */
export const POLICY_REVISION = "mesh-tailor.io/policy-revision";
/**
 * On a sandbox namespace the controller enabled because its base namespace is: the base's name.
 * With the label gone and this left, the user opted the sandbox out, and it stays out.
 */
export const AUTO_ENABLED_FROM = "mesh-tailor.io/auto-enabled-from";
/** The value of app.kubernetes.io/managed-by on objects the controller owns (the default Sidecar). */
export const MANAGER = "mesh-tailor";
