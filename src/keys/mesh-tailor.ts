// mesh-tailor's own labels and annotations, all under mesh-tailor.io.

/** On a namespace: "true" opts it in (the webhook configuration's namespaceSelector). */
export const ENABLED = "mesh-tailor.io/enabled";
/** On a pod: "true" keeps the webhook away from it (the webhook configuration's objectSelector). */
export const SKIP = "mesh-tailor.io/skip";
/** The customizations in force on a pod, comma-separated, or "none". */
export const APPLIED = "mesh-tailor.io/applied";
/** outbound, inbound or both: the Host-passthrough EnvoyFilters select pods on it. */
export const HOST_PASSTHROUGH = "mesh-tailor.io/host-passthrough";
